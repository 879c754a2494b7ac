"""The drills page: operators start, follow, stop and clean up a drill; the public-opinion
team (cases:read) reads only."""

from __future__ import annotations

from tests.support import PASSWORD, ConsoleWorld, sign_in


async def test_a_leader_runs_a_drill_from_the_console(world: ConsoleWorld) -> None:
    async with world.browser() as leader, world.browser() as opinion:
        token = await sign_in(leader, "leader", PASSWORD)
        opinion_token = await sign_in(opinion, "opinion", PASSWORD)

        page = await leader.get("/drills")
        assert page.status_code == 200 and 'id="start-form"' in page.text
        assert "热水器爆炸致人受伤" in page.text and "还没有演练。" in page.text
        watching = (await opinion.get("/drills")).text
        assert 'id="start-form"' not in watching and "演练由值班室和应急领导小组发起。" in watching
        refused = await opinion.post("/drills", data={
            "csrf_token": opinion_token, "scenario": "product-safety-casualties", "speed": "60"})
        assert refused.status_code == 403 and "演练未能开始" in refused.text
        assert "cases:write or drills:run" in refused.text

        started = await leader.post("/drills", data={
            "csrf_token": token, "scenario": "product-safety-casualties", "speed": "1"})
        assert started.status_code == 303, started.text
        run_path = started.headers["location"]
        running = (await leader.get(run_path)).text
        assert "进行中" in running and 'id="stop-drill"' in running
        assert 'hx-trigger="every 3s"' in running and "<script>" not in running
        assert (await leader.get(f"{run_path}/panel")).status_code == 200

        stopped = await leader.post(f"{run_path}/stop", data={"csrf_token": token})
        assert stopped.status_code == 303
        ended = (await leader.get(run_path)).text
        assert "已中止" in ended and 'id="delete-drill"' in ended
        assert "问题清单" in ended and "statement_approved" in ended
        assert 'hx-trigger="every 3s"' not in ended
        pdf = await leader.get(f"{run_path}/report.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "已中止" in (await opinion.get("/drills")).text  # everyone sees the runs

        without_token = await leader.post(f"{run_path}/delete", data={})
        assert without_token.status_code == 403
        cleaned = await leader.post(f"{run_path}/delete", data={"csrf_token": token})
        assert cleaned.status_code == 303 and cleaned.headers["location"] == "/drills"
        assert (await leader.get(run_path)).status_code == 404
