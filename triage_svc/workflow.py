"""The case workflow: states and the moves between them (plain data, no I/O).

From the plans' lifecycle (接收登记 → 分类 → 核实调查 → 处理 → 反馈 → 跟踪回访 → 归档), with
复议 (appeal) reopening a case that was answered or closed.
"""

from __future__ import annotations

from typing import Final, Literal

from triage_svc.errors import Conflict

State = Literal["received", "triaged", "acknowledged", "investigating", "responded",
                "follow_up", "closed", "reopened"]

MOVES: Final[dict[str, frozenset[str]]] = {
    "received": frozenset({"triaged"}),
    "triaged": frozenset({"acknowledged", "investigating"}),
    "acknowledged": frozenset({"investigating", "responded"}),
    "investigating": frozenset({"responded"}),
    "responded": frozenset({"follow_up", "closed", "reopened"}),
    "follow_up": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "reopened": frozenset({"acknowledged", "investigating", "responded"}),
}


class InvalidMove(Conflict):
    """A move the workflow does not allow from the case's state; names the allowed ones."""

    def __init__(self, state: str, target: str) -> None:
        self.state, self.target = state, target
        self.allowed = sorted(MOVES.get(state, frozenset()))
        super().__init__(f"a {state} case cannot become {target}; "
                         f"allowed: {', '.join(self.allowed) or 'none'}")


def check_move(state: str, target: str) -> None:
    if target not in MOVES.get(state, frozenset()):
        raise InvalidMove(state, target)
