"""What a run of distributed mode leaves on disk: `$DATA_DIR/run/state.json` (every process
`up` and `scale` started; all `down` and `status` need) and `upstreams.json` (the replicas
the gateway routes to, followed while it runs)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

STOP_TIMEOUT_S = 15.0


class LocalError(Exception):
    """Distributed mode could not do what was asked; the message says why (with log tails)."""


@dataclass
class Proc:
    """One process `up` started."""

    name: str  # "tansu", "triage-0", "gateway"
    role: str  # "tansu", a service name, or "gateway"
    pid: int
    port: int
    url: str
    log: str
    # The kernel's start time of the pid, so `down` never signals a recycled pid.
    started: int | None = None


@dataclass
class State:
    data_dir: str
    gateway_url: str
    bootstrap: str
    key_location: str
    processes: list[Proc] = field(default_factory=list)
    # How long `down` waits after SIGTERM before SIGKILL.
    stop_timeout_s: float = STOP_TIMEOUT_S
    # The replica URLs the gateway routes HTTP to, per service (the upstreams file's content).
    routes: dict[str, list[str]] = field(default_factory=dict)
    # Hashes of what every replica of a service must share (PII keys, database URL), so a
    # replica started later with another configuration is refused.
    fingerprints: dict[str, str] = field(default_factory=dict)
    # BEACON_BASE_PORT: where replica ports start (None: any free port).
    base_port: int | None = None

    def urls(self, role: str) -> list[str]:
        return [p.url for p in self.processes if p.role == role]

    def gateway_port(self) -> int:
        return int(self.gateway_url.rsplit(":", 1)[1])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> State:
        raw = json.loads(text)
        raw["processes"] = [Proc(**p) for p in raw.get("processes", [])]
        return cls(**raw)


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def fingerprints(pii_keys: str, database_urls: Mapping[str, str]) -> dict[str, str]:
    """What replicas must share, hashed: the PII key ring and each service's database URL
    (`database_urls`: service -> URL)."""
    found = {"PII_KEYS": fingerprint(pii_keys)}
    for name, url in database_urls.items():
        found[f"{name.upper()}_DATABASE_URL"] = fingerprint(url)
    return found


# --- where things live -------------------------------------------------------------------

def run_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def logs_dir(data_dir: Path) -> Path:
    return run_dir(data_dir) / "logs"


def state_path(data_dir: Path) -> Path:
    return run_dir(data_dir) / "state.json"


def upstreams_path(data_dir: Path) -> Path:
    return run_dir(data_dir) / "upstreams.json"


def read_state(data_dir: Path) -> State | None:
    path = state_path(data_dir)
    if not path.exists():
        return None
    return State.from_json(path.read_text())


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # atomic: a concurrent reader never reads half a file


def write_state(state: State) -> None:
    write_atomically(state_path(Path(state.data_dir)), state.to_json())


def write_routes(state: State) -> None:
    """The upstreams file the gateway follows (within 1 s), then the state."""
    write_atomically(upstreams_path(Path(state.data_dir)), json.dumps(state.routes, indent=2))
    write_state(state)


def route(state: State, service: str, url: str, *, routed: bool) -> None:
    """Add or drop one replica in the gateway's upstreams file."""
    urls = [u for u in state.routes.get(service, []) if u != url]
    state.routes[service] = [*urls, url] if routed else urls
    write_routes(state)
