"""Which service answers a path, and which scope a caller needs for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str
    read_scopes: frozenset[str]
    write_scopes: frozenset[str]

    def scopes_for(self, method: str) -> frozenset[str]:
        """Any one of these scopes admits the caller."""
        return self.read_scopes if method in ("GET", "HEAD") else self.write_scopes


def _r(prefix: str, service: str, read: set[str], write: set[str]) -> Route:
    return Route(prefix, service, frozenset(read), frozenset(write))


ROUTES = (
    _r("/api/v1/complaints", "intake", {"complaints:read", "cases:read"}, {"complaints:write"}),
    _r("/api/v1/cases", "triage", {"cases:read"}, {"cases:write"}),
    _r("/api/v1/incidents", "triage", {"cases:read"}, {"cases:write"}),
    _r("/api/v1/notifications", "notify", {"cases:read"}, {"cases:write"}),
    _r("/api/v1/mentions", "sentiment", {"cases:read"}, {"mentions:write"}),
    _r("/api/v1/statements", "notify", {"cases:read"},
       {"cases:write", "statements:draft", "statements:approve"}),
    # Who is on duty is for every operator; the addresses only for admin (notify masks them).
    _r("/api/v1/roster", "notify", {"cases:read"}, {"admin"}),
    _r("/api/v1/callbacks", "notify", {"admin"}, {"admin"}),
)

# Reached without an API key: the acknowledgement token in the request is the authority
# (a duty officer taps a link in a message). Rate-limited per client address instead.
TOKEN_PATHS = frozenset({"/api/v1/notifications/ack"})


def is_token_path(path: str) -> bool:
    return path in TOKEN_PATHS


def route_for(path: str) -> Route | None:
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None
