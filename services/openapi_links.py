"""OpenAPI 3.1 response links for the merged document: which value of an answer leads to which
next operation (a complaint's id to its case, a case to its actions). Clients learn the flows from
them, and schemathesis walks them in its stateful run (tests/services/test_openapi_fuzz.py)."""

from __future__ import annotations

from typing import Any

API = "/api/v1"
CASE = f"{API}/cases/{{case_id}}"
CASE_ACTIONS = ("acknowledge", "assign", "level", "state", "answer", "follow-up", "appeal",
                "reveal")
# A link: its name -> (method, path) of the operation it leads to and that operation's
# parameters as runtime expressions over the answer (or the request) it starts from.
Links = dict[str, tuple[str, str, dict[str, str]]]


def _to_case(expression: str) -> Links:
    """The case read and every case action, for the case id at `expression`."""
    links: Links = {"ReadCase": ("get", CASE, {"case_id": expression})}
    for action in CASE_ACTIONS:
        name = "Case" + action.title().replace("-", "")
        links[name] = ("post", f"{CASE}/{action}", {"case_id": expression})
    return links


def _to_statement(expression: str) -> Links:
    target = {"statement_id": expression}
    return {"ReadStatement": ("get", f"{API}/statements/{{statement_id}}", target),
            "ApproveStatement": ("post", f"{API}/statements/{{statement_id}}/approve", target)}


def _to_incident(expression: str) -> Links:
    target = {"incident_id": expression}
    return {"ReadIncident": ("get", f"{API}/incidents/{{incident_id}}", target),
            "CloseIncident": ("post", f"{API}/incidents/{{incident_id}}/close", target)}


def _to_drill(expression: str) -> Links:
    target = {"run_id": expression}
    return {"ReadDrill": ("get", f"{API}/drills/{{run_id}}", target),
            "StopDrill": ("post", f"{API}/drills/{{run_id}}/stop", target),
            "ReadDrillReport": ("get", f"{API}/drills/{{run_id}}/report", target),
            "DeleteDrill": ("delete", f"{API}/drills/{{run_id}}", target)}


def _complaint_accepted() -> Links:
    target = {"complaint_id": "$response.body#/id"}
    return {"ReadComplaint": ("get", f"{API}/complaints/{{complaint_id}}", target),
            # Triage opens the case a moment later: until then this answers 404.
            "ReadComplaintCase": ("get", f"{API}/cases/of-complaint/{{complaint_id}}", target)}


# (method, path, status) of the answer -> the links it carries.
LINKS: dict[tuple[str, str, str], Links] = {
    ("post", f"{API}/complaints", "202"): _complaint_accepted(),
    ("post", f"{API}/complaints", "200"): _complaint_accepted(),  # an idempotent replay
    ("get", f"{API}/complaints/{{complaint_id}}", "200"): {
        "ReadComplaintCase": ("get", f"{API}/cases/of-complaint/{{complaint_id}}",
                              {"complaint_id": "$request.path.complaint_id"})},
    ("get", f"{API}/cases", "200"): {
        **_to_case("$response.body#/items/0/id"),
        "ReadComplaint": ("get", f"{API}/complaints/{{complaint_id}}",
                          {"complaint_id": "$response.body#/items/0/complaint_id"})},
    ("get", f"{API}/cases/of-complaint/{{complaint_id}}", "200"): _to_case("$response.body#/id"),
    ("get", CASE, "200"): {
        **{name: link for name, link in _to_case("$response.body#/id").items()
           if name != "ReadCase"},
        "ReadComplaint": ("get", f"{API}/complaints/{{complaint_id}}",
                          {"complaint_id": "$response.body#/complaint_id"})},
    **{("post", f"{CASE}/{action}", "200"): {"ReadCase": ("get", CASE, {
        "case_id": "$request.path.case_id"})} for action in CASE_ACTIONS if action != "reveal"},
    ("post", f"{API}/statements", "201"): _to_statement("$response.body#/id"),
    ("get", f"{API}/statements", "200"): _to_statement("$response.body#/items/0/id"),
    ("post", f"{API}/statements/{{statement_id}}/approve", "200"): {
        "ReadStatement": ("get", f"{API}/statements/{{statement_id}}",
                          {"statement_id": "$request.path.statement_id"})},
    ("post", f"{API}/mentions", "202"): {
        "ReadMention": ("get", f"{API}/mentions/{{mention_id}}",
                        {"mention_id": "$response.body#/ids/0"})},
    ("get", f"{API}/mentions", "200"): {
        "ReadMention": ("get", f"{API}/mentions/{{mention_id}}",
                        {"mention_id": "$response.body#/items/0/id"})},
    ("get", f"{API}/incidents", "200"): _to_incident("$response.body#/items/0/id"),
    ("get", f"{API}/notifications", "200"): {
        "AcknowledgeDelivery": ("post", f"{API}/notifications/{{delivery_id}}/ack",
                                {"delivery_id": "$response.body#/items/0/id"})},
    ("post", f"{API}/admin/keys", "201"): {
        "RevokeKey": ("delete", f"{API}/admin/keys/{{key_id}}", {"key_id": "$response.body#/id"})},
    ("post", f"{API}/admin/users", "201"): {
        "ChangeUser": ("patch", f"{API}/admin/users/{{username}}",
                       {"username": "$response.body#/username"})},
    ("put", f"{API}/roster/members/{{member_id}}", "200"): {
        "DeleteMember": ("delete", f"{API}/roster/members/{{member_id}}",
                         {"member_id": "$response.body#/id"})},
    ("post", f"{API}/drills", "201"): _to_drill("$response.body#/id"),
    ("get", f"{API}/drills", "200"): _to_drill("$response.body#/items/0/id"),
    ("put", f"{API}/callbacks/{{owner}}", "200"): {
        "DeleteCallback": ("delete", f"{API}/callbacks/{{owner}}",
                           {"owner": "$response.body#/owner"})},
}


def add_links(spec: dict[str, Any]) -> dict[str, Any]:
    """Put `LINKS` on the answers of `spec`, naming targets by their operationId. A link whose
    either end the document lacks is left out (tests/services/test_openapi_links.py keeps
    that from happening unnoticed)."""
    paths = spec.get("paths", {})
    for (method, path, status), links in LINKS.items():
        answer = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if answer is None:
            continue
        for name, (to_method, to_path, parameters) in links.items():
            target = paths.get(to_path, {}).get(to_method, {}).get("operationId")
            if target is not None:
                answer.setdefault("links", {})[name] = {"operationId": target,
                                                        "parameters": parameters}
    return spec
