"""Which service answers a path, and which scope a caller needs for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote


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
    # Reports are aggregates (no personal data): whoever reads cases reads them. Each is
    # computed by the service owning its data; they answer GET only (405 otherwise).
    _r("/api/v1/reports/hotspots", "triage", {"cases:read"}, {"cases:read"}),
    _r("/api/v1/reports/public-opinion", "sentiment", {"cases:read"}, {"cases:read"}),
    # Pre-registration of complainants at risk of escalating (提前报备): intake hashes them.
    _r("/api/v1/complainants", "intake", {"cases:read"}, {"cases:write"}),
    # Drills (应急演练): whoever reads cases sees runs and reports; operators start, stop
    # and clean them up (API.md: cases:write); drills:run is a key for drills alone.
    _r("/api/v1/drills", "drill", {"cases:read", "drills:run"}, {"cases:write", "drills:run"}),
    # Scheduled briefs (日报, 周报): read-only, like the reports they summarise.
    _r("/api/v1/briefs", "notify", {"cases:read"}, {"cases:read"}),
)

# Paths inside a route's prefix that need scopes of their own; matched before ROUTES.
# Accountability records (追责问责) are for the leadership (console roles leader, admin).
PATTERN_ROUTES = (
    (re.compile(r"/api/v1/cases/[^/]+/accountability"),
     _r("/api/v1/cases", "triage", {"accountability"}, {"accountability"})),
)

# Reached without an API key: the acknowledgement token in the request is the authority
# (a duty officer taps a link in a message). Rate-limited per client address instead.
TOKEN_PATHS = frozenset({"/api/v1/notifications/ack"})


def is_token_path(path: str) -> bool:
    return path in TOKEN_PATHS


def route_for(path: str) -> Route | None:
    for pattern, special in PATTERN_ROUTES:
        if pattern.fullmatch(path):
            return special
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None


# Separators and dots hidden by percent-encoding, backslashes (a separator to some servers)
# and control characters: a path holding one could mean two paths, so none is forwarded.
_AMBIGUOUS = re.compile(r"%(2e|2f|5c|00)|\\|[\x00-\x1f\x7f]", re.IGNORECASE)


def canonical_path(raw: str) -> str | None:
    """The decoded path when it means one thing only, else None (refuse it: 404).

    The route and its scope are decided on this path and the same bytes are forwarded:
    a client never names one path to the gateway and another to the service (`..` would be
    resolved by the HTTP client on the way). Refused: `.` or `..` segments, raw or encoded;
    empty segments (`//`) other than a trailing slash (which simply matches no route);
    encoded slashes and backslashes."""
    if not raw.startswith("/") or _AMBIGUOUS.search(raw):
        return None
    path = unquote(raw)
    if _AMBIGUOUS.search(path):
        return None
    segments = path.split("/")[1:]
    if any(segment in (".", "..") for segment in segments):
        return None
    if any(segment == "" for segment in segments[:-1]):
        return None
    return path
