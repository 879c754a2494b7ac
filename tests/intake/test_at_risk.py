"""Pre-registration of a complainant at risk of escalating (易造成升级投诉…提前报备): only the
keyed hash of the contact is kept, the complainant's next complaint is raised one level with
the reason, and the one after is not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from intake_svc.models import AtRiskComplainant
from tests.support import System, file_case

PHONE, EMAIL = "13812345678", "wang.wu@example.com"
LEVEL_4 = "发票开错了，需要重新开具"
PATH = "/api/v1/complainants/at-risk"


async def _level(system: System, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await system.client.get(f"/api/v1/cases/{case_id}")).json()
    return found


async def test_a_pre_registered_complainant_s_next_complaint_rises_one_level(
        system: System) -> None:
    made = await system.client.post(PATH, json={
        "phone": PHONE, "note": f"多次扬言找媒体，回电 {PHONE}"},
        headers=system.as_key("operator"))
    assert made.status_code == 201, made.text
    assert made.json()["contacts"] == ["phone"] and PHONE not in made.text
    assert made.json()["note"].startswith("多次扬言找媒体，回电 138****5678")
    # Stored: the keyed hash, never the number (nor the number typed into the note).
    intake = system.embedded.services["intake"].state.runtime
    async with intake.db.session() as session:
        [row] = (await session.scalars(select(AtRiskComplainant))).all()
    assert row.phone_key and row.email_key is None
    assert PHONE not in repr([getattr(row, c.key) for c in AtRiskComplainant.__table__.c])

    raised = await file_case(system, LEVEL_4, complainant={"name": "王五", "phone": PHONE})
    case = await _level(system, raised)
    assert case["response_level"] == 3
    assert any("提前报备" in r and "at_risk → level 3" in r for r in case["level_reasons"])
    assert case["timeline"][0]["detail"]["at_risk"] is True
    listed = (await system.client.get(PATH)).json()["items"]
    assert [(i["id"], i["used_by"]) for i in listed] == [(made.json()["id"],
                                                          case["complaint_id"])]
    # Used up: the complaint after that is assessed as it stands.
    after = await file_case(system, LEVEL_4, complainant={"phone": PHONE})
    assert (await _level(system, after))["response_level"] == 4


async def test_an_e_mail_pre_registration_matches_a_complaint_that_also_gives_a_phone(
        system: System) -> None:
    made = await system.client.post(PATH, json={"email": EMAIL, "note": "情绪激动"},
                                    headers=system.as_key("operator"))
    assert made.status_code == 201 and made.json()["contacts"] == ["email"]
    case_id = await file_case(system, LEVEL_4, complainant={"phone": "13700000000",
                                                              "email": EMAIL.upper()})
    assert (await _level(system, case_id))["response_level"] == 3
    other = await file_case(system, LEVEL_4, complainant={"phone": "13600000000"})
    assert (await _level(system, other))["response_level"] == 4


async def test_bad_pre_registrations_are_refused(system: System) -> None:
    operator = system.as_key("operator")
    nothing = await system.client.post(PATH, json={"note": "no contact"}, headers=operator)
    assert nothing.status_code == 409 and "phone or email" in nothing.json()["detail"]
    for bad in ({"phone": "abc", "note": "n"},
                {"email": "not-an-email", "note": "n"}, {"phone": PHONE},
                {"phone": PHONE, "note": " "}, {"phone": PHONE, "note": "n", "name": "x"}):
        answer = await system.client.post(PATH, json=bad, headers=operator)
        assert answer.status_code == 422, (bad, answer.text)
        assert PHONE not in answer.text
    unknown = await system.client.post(PATH, json={"complaint_id": "0" * 32, "note": "n"},
                                       headers=operator)
    assert unknown.status_code == 404
    malformed = await system.client.post(PATH, json={"complaint_id": "../x", "note": "n"},
                                         headers=operator)
    assert malformed.status_code == 422
    # A hotline (complaints:write) may not pre-register; a reader may not either.
    for key in ("hotline-a", "operator-pii"):
        answer = await system.client.post(PATH, json={"phone": PHONE, "note": "n"},
                                          headers=system.as_key(key))
        assert answer.status_code == 403, key


async def test_a_complaint_s_complainant_is_pre_registered_by_its_id(system: System) -> None:
    """The console's case page: intake unseals the complaint's contact only to hash it."""
    first = await file_case(system, LEVEL_4, complainant={"phone": PHONE})
    complaint_id = (await _level(system, first))["complaint_id"]
    made = await system.client.post(PATH, json={"complaint_id": complaint_id, "note": "n"},
                                    headers=system.as_key("operator"))
    assert made.status_code == 201 and made.json()["contacts"] == ["phone"]
    assert PHONE not in made.text
    nameless = await file_case(system, LEVEL_4)
    refused = await system.client.post(PATH, json={
        "complaint_id": (await _level(system, nameless))["complaint_id"], "note": "n"},
        headers=system.as_key("operator"))
    assert refused.status_code == 409 and "phone or email" in refused.json()["detail"]
    raised = await file_case(system, LEVEL_4, complainant={"phone": PHONE})
    assert (await _level(system, raised))["response_level"] == 3
