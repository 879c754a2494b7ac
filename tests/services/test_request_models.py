"""Every request body refuses unknown fields, at every depth: the test walks the gateway's
merged OpenAPI, so a new operation with a JSON body fails here until it has a valid example
below (and its model refuses what it does not know)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from tests.support import System

UNKNOWN = "departmant"  # the misspelling the issue saw dropped silently
JSON = "application/json"

COMPLAINT = {"channel": "web", "content": "营业厅排队时间太长",
             "complainant": {"name": "张三"}, "target": {"department": "营业厅"},
             "attachments": [{"name": "a.jpg", "url": "https://files.example.com/a.jpg"}]}
MENTION = {"source": "news", "content": "某地燃气公司服务差", "reach": {"views": 10}}
MEMBER = {"name": "王五", "roles": ["duty_room"], "channels": {"log": {"address": "wang"}},
          "department": "营业厅"}

# A valid body (or several) for each operation with a JSON body, keyed "METHOD path".
VALID_BODIES: dict[str, list[Any]] = {
    "POST /api/v1/admin/keys": [{"name": "k", "owner": "o", "scopes": ["cases:read"]}],
    "POST /api/v1/admin/users": [{"username": "newbie", "display_name": "New",
                                  "password": "x" * 12, "role": "duty_officer"}],
    "PATCH /api/v1/admin/users/{username}": [{"pii": True}],
    "POST /api/v1/complaints": [COMPLAINT],
    "POST /api/v1/complaints/batch": [{"complaints": [COMPLAINT]}],
    "POST /api/v1/cases/{case_id}/acknowledge": [{"note": "收到"}],
    "POST /api/v1/cases/{case_id}/assign": [{"assignee": "wang", "department": "营业厅"}],
    "POST /api/v1/cases/{case_id}/level": [{"response_level": 2, "reason": "有人受伤"}],
    "POST /api/v1/cases/{case_id}/state": [{"state": "investigating"}],
    "POST /api/v1/cases/{case_id}/answer": [{"text": "已处理"}],
    "POST /api/v1/cases/{case_id}/follow-up": [{"satisfaction": 4}],
    "POST /api/v1/cases/{case_id}/appeal": [{"reason": "不满意"}],
    "POST /api/v1/cases/{case_id}/reveal": [{"reason": "回访"}],
    "POST /api/v1/cases/{case_id}/plan": [{"method": "重开发票", "owner": "wang",
                                           "due_at": "2099-01-01T10:00:00+08:00"}],
    "POST /api/v1/cases/{case_id}/investigation": [{
        "findings": "税号录错", "root_cause": "未校验",
        "evidence": [{"name": "记录", "url": "https://files.example.com/1.pdf"}]}],
    "POST /api/v1/cases/{case_id}/opinion": [{"text": "重开"}],
    "POST /api/v1/cases/{case_id}/transfer": [{"to_department": "财务部", "reason": "职责"}],
    "POST /api/v1/cases/{case_id}/follow-up-impossible": [{"reason": "电话停机"}],
    "POST /api/v1/incidents/{incident_id}/close": [{"reason": "已平息"}],
    "POST /api/v1/cases/{case_id}/interviews": [{
        "at": "2025-01-01T10:00:00+08:00", "place": "营业厅", "reporter": "李记者",
        "outlet": "都市晚报", "answers": "正在核实"}],
    "POST /api/v1/incidents/{incident_id}/registration": [{
        "core_demands": "停止施工", "place": "3栋", "emotional_state": "agitated",
        "representatives": ["a" * 32, "b" * 32]}],
    "POST /api/v1/incidents/{incident_id}/work-group": [{
        "leader": "zhang", "on_site": {"lead": "wang", "members": ["zhao"]}}],
    "PUT /api/v1/incidents/{incident_id}/summary": [{"lessons": "加强巡检"}],
    "POST /api/v1/notifications/ack": [{"token": "not-a-real-token"}],
    "PUT /api/v1/roster/members": [[{"id": "m1", **MEMBER}]],
    "PUT /api/v1/roster/members/{member_id}": [MEMBER],
    "PUT /api/v1/roster/duty": [{"items": [{"date": "2025-01-01", "role": "duty_room",
                                            "member": "m1"}]}],
    "PUT /api/v1/callbacks/{owner}": [{"url": "https://hotline.example.com/cb",
                                       "secret": "s" * 16}],
    "POST /api/v1/statements": [{"title": "口径", "text": "正在处理", "incident_id": None}],
    "POST /api/v1/mentions": [MENTION, {"mentions": [MENTION]}],
    "POST /api/v1/cases/{case_id}/cause-analysis": [{"cause": "退款漏笔", "prevention": "核对"}],
    "POST /api/v1/cases/{case_id}/rectifications": [{
        "action": "建立巡检", "owner": "wang", "due_at": "2099-01-01T10:00:00+08:00"}],
    "POST /api/v1/cases/{case_id}/rectifications/{rectification_id}/verify": [{"note": "已验"}],
    "POST /api/v1/incidents/{incident_id}/rectifications": [{
        "action": "更换管道", "owner": "wang", "due_at": "2099-01-01T10:00:00+08:00"}],
    "POST /api/v1/incidents/{incident_id}/rectifications/{rectification_id}/verify": [{
        "note": "已验"}],
    "POST /api/v1/cases/{case_id}/accountability": [{
        "department": "营业厅", "person": "张", "finding": "未巡检", "measure": "通报"}],
    "POST /api/v1/complainants/at-risk": [{"phone": "13812345678", "note": "扬言找媒体"}],
    "POST /api/v1/drills": [{"scenario": {
        "name": "tiny", "title": "小演练", "length": "1m",
        "complaints": [{"ref": "a", "at": "0m", "content": "停电",
                        "target": {"department": "客服"}}],
        "mentions": [{"ref": "m", "at": "0m", "content": "又停电了", "reach": {"views": 1}}],
        "expect": [{"role": "duty_officer", "do": "acknowledge"}]}}],
}
# Batch items are validated one by one: an item with an unknown field gets its own 422.
BATCHES = {"POST /api/v1/complaints/batch": "complaints", "POST /api/v1/mentions": "mentions"}
PATH_VALUES = {"username": "admin", "owner": "hotline-a", "member_id": "m1",
               "rectification_id": "0" * 32}


def json_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if JSON in operation.get("requestBody", {}).get("content", {}):
                yield f"{method.upper()} {path}", method, path


def with_unknown(body: Any) -> Iterator[tuple[Any, list[str]]]:
    """The body with the unknown field put into each object in it, one at a time, with
    where it was put."""
    def objects(node: Any, at: list[str]) -> Iterator[list[str]]:
        if isinstance(node, dict):
            yield at
            for key, value in node.items():
                yield from objects(value, [*at, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from objects(value, [*at, str(index)])

    for at in list(objects(body, [])):
        changed = copy.deepcopy(body)
        node = changed
        for part in at:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[UNKNOWN] = "客服部"
        yield changed, at


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path.replace("{case_id}", "0" * 32).replace("{incident_id}", "0" * 32)


async def test_every_json_body_refuses_unknown_fields(system: System) -> None:
    spec = (await system.client.get("/api/v1/openapi.json")).json()
    operations = list(json_operations(spec))
    missing = {label for label, _, _ in operations} - set(VALID_BODIES)
    assert not missing, f"operations without a valid example here: {sorted(missing)}"
    assert len(operations) == len(VALID_BODIES), "an example names an operation that is gone"

    failures: list[str] = []
    for label, method, path in operations:
        url = concrete(path)
        for valid in VALID_BODIES[label]:
            for body, at in with_unknown(valid):
                answer = await system.client.request(method, url, json=body)
                failures += _refused(label, at, answer.status_code, answer.json())
            accepted = await system.client.request(method, url, json=valid)
            if accepted.status_code == 422:
                failures.append(f"{label}: the valid example is refused: {accepted.json()}")
    assert not failures, "\n".join(failures)


def _refused(label: str, at: list[str], status: int, body: Any) -> list[str]:
    """[] when the answer refuses the unknown field at `at` by name, else why not."""
    if not isinstance(body, dict):
        return [f"{label}: {UNKNOWN} at {'.'.join(at) or 'top'} answered {status} {body}"]
    batch = BATCHES.get(label)
    if batch and at[:1] == [batch] and len(at) >= 2:  # inside a batch item
        result = body.get("results", [{}])[int(at[1])]
        status, body = result.get("status", status), result
        at = at[2:]
    where = ".".join([*at, UNKNOWN])
    fields = {e["field"] for e in body.get("errors") or []}
    if status != 422 or not any(f == where or f.endswith("." + where) for f in fields):
        return [f"{label}: {UNKNOWN} at {where or 'top'} answered {status} {body}"]
    return []
