"""Distributed mode on this machine: `python -m deploy.local up|down|status|scale`.

`up` starts Tansu (unless KAFKA_BOOTSTRAP_SERVERS names a broker already), creates the
PostgreSQL database when DATABASE_URL names one, then one process per service replica
(`<SERVICE>_REPLICAS=N`) and the gateway in front of them. Replicas listen on free ports, or
from BEACON_BASE_PORT up (the lowest free one each). Every process runs detached in a
session of its own and logs to `$DATA_DIR/run/logs/`; pids, ports and URLs go to
`$DATA_DIR/run/state.json`, which is all `down` and `status` need.

`scale <service> <n>` starts or stops replicas of one service while the rest runs (the
environment must configure them as it did for `up`: the same database and PII keys are
checked); 0 stops the service. A new replica joins its service's consumer groups. The
replicas the gateway routes to are kept in `$DATA_DIR/run/upstreams.json`, which the
gateway follows (GATEWAY_UPSTREAMS_FILE): a replica gets HTTP once it is ready, and none
after it stopped.

Tests drive the same code: `up(env, data_dir)` returns the State, `down(data_dir)` ends it,
`start_replica` and `stop_replica` change one replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from deploy.tansu import Tansu, free_port
from services.auth import dev_key
from services.launcher import shutdown_timeout
from services.settings import SERVICES
from shared.db import DatabaseConfigError, parse_database_url
from shared.privacy import PiiKeyError, new_key_ring_spec, parse_key_ring
from shared.settings import ConfigError

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# A process gets its own SHUTDOWN_TIMEOUT_S to drain, and this much more before SIGKILL.
STOP_GRACE_S = 5.0
MAX_REPLICAS = 32
# With BEACON_BASE_PORT, replicas take the lowest free port of this many from the base.
PORT_RANGE = 200
LOG_TAIL_LINES = 20


class LocalError(Exception):
    """`up` could not bring distributed mode up; the message says why (with log tails)."""


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> State:
        raw = json.loads(text)
        raw["processes"] = [Proc(**p) for p in raw.get("processes", [])]
        return cls(**raw)


# --- where things live -------------------------------------------------------------------

def run_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def state_path(data_dir: Path) -> Path:
    return run_dir(data_dir) / "state.json"


def read_state(data_dir: Path) -> State | None:
    path = state_path(data_dir)
    if not path.exists():
        return None
    return State.from_json(path.read_text())


def upstreams_path(data_dir: Path) -> Path:
    return run_dir(data_dir) / "upstreams.json"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # atomic: a concurrent reader never reads half a file


def _write_state(state: State) -> None:
    _write_atomically(state_path(Path(state.data_dir)), state.to_json())


def _route(state: State, service: str, url: str, *, routed: bool) -> None:
    """Add or drop one replica in the gateway's upstreams file (it follows within 1 s)."""
    urls = [u for u in state.routes.get(service, []) if u != url]
    state.routes[service] = [*urls, url] if routed else urls
    _write_atomically(upstreams_path(Path(state.data_dir)), json.dumps(state.routes, indent=2))
    _write_state(state)


# --- process identity and liveness -------------------------------------------------------

def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat; None where there is no /proc (or no such pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its ')' is fixed-form.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def alive(proc: Proc) -> bool:
    """Our process still runs: the pid exists, is not a zombie, and was not reused."""
    _reap(proc.pid)
    try:
        os.kill(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process took the pid
    if _is_zombie(proc.pid):
        return False
    ticks = _start_ticks(proc.pid)
    return proc.started is None or ticks is None or ticks == proc.started


# The replicas this very process started (tests run `up` in-process): kept, so that no
# garbage-collected Popen lets `subprocess` reap them first and lose their exit codes.
_children: dict[int, subprocess.Popen[bytes]] = {}
_exit_codes: dict[int, int] = {}


def _reap(pid: int, wait: float = 0.0) -> None:
    """When `up` ran in this very process (tests), our dead children must be reaped."""
    popen = _children.get(pid)
    if popen is not None:
        try:
            _exit_codes[pid] = popen.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return
        del _children[pid]
        return
    with contextlib.suppress(ChildProcessError):
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            _exit_codes[pid] = os.waitstatus_to_exitcode(status)


# --- settings from the environment -------------------------------------------------------

def _int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(name, f"expected a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def replicas(env: Mapping[str, str]) -> dict[str, int]:
    return {name: _int_setting(env, f"{name.upper()}_REPLICAS", 1, 1, MAX_REPLICAS)
            for name in SERVICES}


def base_port(env: Mapping[str, str]) -> int | None:
    """BEACON_BASE_PORT, or None (replicas then take any free port)."""
    if not env.get("BEACON_BASE_PORT", "").strip():
        return None
    return _int_setting(env, "BEACON_BASE_PORT", 0, 1024, 65535 - PORT_RANGE)


def _bindable(port: int) -> bool:
    try:
        _require_free("port", port)
    except ConfigError:
        return False
    return True


def _require_free(setting: str, port: int) -> None:
    """Refuse a taken port up front: a readiness probe would otherwise find the squatter."""
    with socket.socket() as sock:
        # As the servers themselves bind: a just-stopped run's TIME_WAIT sockets don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ConfigError(setting, f"port {port} on 127.0.0.1 is already in use") from None


# --- secrets -----------------------------------------------------------------------------

def pii_keys(env: Mapping[str, str], data_dir: Path) -> str:
    """The configured ring, else one made once under run/: every intake replica and every
    later `up` must decrypt what earlier ones stored."""
    if env.get("PII_KEYS"):
        return env["PII_KEYS"]
    path = run_dir(data_dir) / "pii.keys"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_ring_spec())
    spec = path.read_text().strip()
    try:
        parse_key_ring(spec)
    except PiiKeyError as exc:
        raise ConfigError("PII_KEYS", f"{path}: {exc}") from exc
    return spec


def internal_secret(env: Mapping[str, str], data_dir: Path) -> str:
    """BEACON_INTERNAL_SECRET, else one made once under run/: the gateway signs callers with
    it and every service replica, later ones too, checks them with it."""
    if env.get("BEACON_INTERNAL_SECRET"):
        return env["BEACON_INTERNAL_SECRET"]
    path = run_dir(data_dir) / "internal.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def api_key(env: Mapping[str, str], data_dir: Path) -> tuple[str, str]:
    """(admin key, where it is kept): the same file the gateway itself reads."""
    configured = env.get("DEV_API_KEY") or None
    if configured is not None and len(configured) < 16:
        raise ConfigError("DEV_API_KEY", "must be at least 16 characters")
    key, _ = dev_key(configured, data_dir)
    return key, "DEV_API_KEY" if configured else str(data_dir / "dev_api_key")


# --- PostgreSQL --------------------------------------------------------------------------

def _postgres_urls(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(setting, url) of every configured database URL that names PostgreSQL."""
    settings = ["DATABASE_URL", *(f"{name.upper()}_DATABASE_URL" for name in SERVICES)]
    found = []
    for setting in settings:
        url = env.get(setting)
        if not url:
            continue
        try:
            backend = parse_database_url(url).get_backend_name()
        except DatabaseConfigError as exc:
            raise ConfigError(setting, str(exc)) from exc
        if backend == "postgresql":
            found.append((setting, url))
    return found


async def _create_database(setting: str, url: str) -> None:
    import asyncpg  # only PostgreSQL deployments pay for the import

    parsed = parse_database_url(url)
    name = parsed.database or "postgres"
    try:
        admin = await asyncpg.connect(
            host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
            user=parsed.username, password=parsed.password, database="postgres", timeout=10,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ConfigError(setting, f"cannot reach PostgreSQL at {parsed.host}:{parsed.port}: "
                                   f"{type(exc).__name__}: {exc}") from exc
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # Two `up`s racing both see it missing; the loser's duplicate error is harmless.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
    finally:
        await admin.close()


def ensure_databases(env: Mapping[str, str]) -> None:
    for setting, url in _postgres_urls(env):
        asyncio.run(_create_database(setting, url))


# --- starting and stopping processes -----------------------------------------------------

def _spawn(name: str, role: str, argv: list[str], env: Mapping[str, str], port: int,
           host: str, logs: Path) -> tuple[Proc, subprocess.Popen[bytes]]:
    log_path = logs / f"{name}.log"
    with open(log_path, "ab") as log:
        # A session of its own: the process outlives `up`, and `down` signals its group.
        popen = subprocess.Popen(argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    proc = Proc(name, role, popen.pid, port, f"http://{host}:{port}", str(log_path),
                _start_ticks(popen.pid))
    _children[popen.pid] = popen
    return proc, popen


def _service_env(base: Mapping[str, str], name: str, port: int, bootstrap: str) -> dict[str, str]:
    env = dict(base)
    env.update({
        "BUS": "kafka", "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        # Replicas are reached only through the gateway, so they listen on loopback.
        f"{name.upper()}_HOST": "127.0.0.1", f"{name.upper()}_PORT": str(port),
    })
    return env


def _gateway_env(base: Mapping[str, str], state: State, port: int) -> dict[str, str]:
    env = dict(base)
    env["GATEWAY_PORT"] = str(port)
    # The console follows the events it shows through its own consumer group.
    env.update({"BUS": "kafka", "KAFKA_BOOTSTRAP_SERVERS": state.bootstrap})
    env.pop("PII_KEYS", None)  # the gateway never decrypts; keep the key out of its environ
    # The replicas to route to, followed while it runs (`scale` rewrites the file).
    env["GATEWAY_UPSTREAMS_FILE"] = str(upstreams_path(Path(state.data_dir)))
    return env


def _start_tansu(env: Mapping[str, str], logs: Path) -> tuple[str, Proc | None]:
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        return env["KAFKA_BOOTSTRAP_SERVERS"], None  # the user's broker: not ours to stop
    port = _int_setting(env, "KAFKA_PORT", 9092, 1, 65535)
    _require_free("KAFKA_PORT", port)
    broker = Tansu(port, logs / "tansu.log")
    try:
        broker.start()
    except (OSError, TimeoutError) as exc:
        broker.stop(kill=True)
        raise LocalError(f"Tansu did not start on port {port}: {exc}\n"
                         f"{_tail(logs / 'tansu.log')}") from exc
    assert broker.process is not None
    pid = broker.process.pid
    return broker.bootstrap, Proc("tansu", "tansu", pid, port, f"tcp://{broker.bootstrap}",
                                  str(logs / "tansu.log"), _start_ticks(pid))


def terminate(procs: list[Proc], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM each process group, give each `timeout` seconds, then SIGKILL."""
    live = [p for p in procs if alive(p)]
    for proc in live:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in live) and time.monotonic() < deadline:
        time.sleep(0.1)
    for proc in live:
        if alive(proc):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    while any(alive(p) for p in live):
        time.sleep(0.05)


def stop_all(procs: list[Proc], timeout: float = STOP_TIMEOUT_S) -> None:
    """The gateway first (no new requests), then the services, the broker last so the
    services can still commit their offsets while they drain."""
    for roles in (("gateway",), SERVICES, ("tansu",)):
        terminate([p for p in procs if p.role in roles], timeout)


# --- waiting for readiness ---------------------------------------------------------------

def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"  (no log at {path})"
    return "\n".join(f"  | {line}" for line in text) or f"  (empty log {path})"


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _check_alive(popens: dict[str, subprocess.Popen[bytes]], state: State) -> None:
    for proc in state.processes:
        popen = popens.get(proc.name)
        if popen is not None and popen.poll() is not None:
            raise LocalError(f"{proc.name} exited with code {popen.returncode}; "
                             f"the end of {proc.log}:\n{_tail(Path(proc.log))}")


def wait_ready(state: State, popens: dict[str, subprocess.Popen[bytes]],
               timeout: float) -> None:
    """Every replica's own /readyz, then the gateway's: the gateway probes one replica per
    service per call, so its answer alone does not prove that all replicas are up."""
    deadline = time.monotonic() + timeout
    pending = [p for p in state.processes if p.role != "tansu"]
    while pending:
        _check_alive(popens, state)
        pending = [p for p in pending if not _ready(p.url)]
        if pending and time.monotonic() > deadline:
            logs = "\n".join(f"{p.name} ({p.log}):\n{_tail(Path(p.log))}" for p in pending)
            raise LocalError(f"not ready after {timeout:.0f}s: "
                             f"{', '.join(p.name for p in pending)}\n{logs}")
        if pending:
            time.sleep(0.2)


# --- the commands ------------------------------------------------------------------------

def _refuse_if_running(data_dir: Path) -> None:
    state = read_state(data_dir)
    if state is None:
        return
    running = [p.name for p in state.processes if alive(p)]
    if running:
        raise LocalError(f"already up ({', '.join(running)} running, state in "
                         f"{state_path(data_dir)}); run `make down` first")
    state_path(data_dir).unlink()  # every process of that run is gone: a stale file


def up(env: Mapping[str, str], data_dir: Path, *, timeout: float = READY_TIMEOUT_S) -> State:
    """Start everything and return once the gateway is ready; on failure stop what started."""
    data_dir = data_dir.resolve()
    logs = run_dir(data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    _refuse_if_running(data_dir)
    counts = replicas(env)
    first_port = base_port(env)
    gateway_port = _int_setting(env, "GATEWAY_PORT", 8000, 1, 65535)
    _require_free("GATEWAY_PORT", gateway_port)
    _, key_location = api_key(env, data_dir)
    base = {**env, "DATA_DIR": str(data_dir)}
    base["PII_KEYS"] = pii_keys(env, data_dir)
    base["BEACON_INTERNAL_SECRET"] = internal_secret(env, data_dir)
    stop_timeout = shutdown_timeout(env) + STOP_GRACE_S
    ensure_databases(env)
    bootstrap, broker = _start_tansu(env, logs)
    host = env.get("GATEWAY_HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # a wildcard is no address
    state = State(str(data_dir), f"http://{host}:{gateway_port}", bootstrap, key_location,
                  [broker] if broker else [], stop_timeout, fingerprints=_fingerprints(base),
                  base_port=first_port)
    try:
        # Written as soon as anything runs, so `down` can clean up even if `up` itself dies.
        _write_state(state)
        _launch(state, base, counts, gateway_port, logs, timeout)
    except BaseException:
        stop_all(state.processes, state.stop_timeout_s)
        state_path(data_dir).unlink(missing_ok=True)
        raise
    return state


def _launch(state: State, base: Mapping[str, str], counts: Mapping[str, int],
            gateway_port: int, logs: Path, timeout: float) -> None:
    popens: dict[str, subprocess.Popen[bytes]] = {}
    argv = [sys.executable, "-m", "services"]
    for name, count in counts.items():
        for i in range(count):
            port = _port_for(state, gateway_port)
            env = _service_env(base, name, port, state.bootstrap)
            proc, popens[f"{name}-{i}"] = _spawn(f"{name}-{i}", name, [*argv, name], env,
                                                 port, "127.0.0.1", logs)
            state.processes.append(proc)
    state.routes = {name: state.urls(name) for name in SERVICES}
    _write_atomically(upstreams_path(Path(state.data_dir)), json.dumps(state.routes, indent=2))
    _write_state(state)
    gateway, popens["gateway"] = _spawn("gateway", "gateway", [*argv, "gateway"],
                                        _gateway_env(base, state, gateway_port), gateway_port,
                                        "127.0.0.1", logs)
    state.processes.append(gateway)
    _write_state(state)
    wait_ready(state, popens, timeout)


def down(data_dir: Path) -> list[str]:
    """Stop every recorded process and forget them; the names stopped (none: a no-op)."""
    data_dir = data_dir.resolve()
    state = read_state(data_dir)
    if state is None:
        return []
    running = [p.name for p in state.processes if alive(p)]
    stop_all(state.processes, state.stop_timeout_s)
    state_path(data_dir).unlink(missing_ok=True)
    upstreams_path(data_dir).unlink(missing_ok=True)
    return running


# --- one replica at a time ------------------------------------------------------------

def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _fingerprints(base: Mapping[str, str]) -> dict[str, str]:
    found = {"PII_KEYS": _fingerprint(base.get("PII_KEYS", ""))}
    for name in SERVICES:
        url = base.get(f"{name.upper()}_DATABASE_URL") or base.get("DATABASE_URL") or ""
        found[f"{name.upper()}_DATABASE_URL"] = _fingerprint(url)
    return found


def _replica_base(state: State, env: Mapping[str, str], service: str) -> dict[str, str]:
    """The environment of a new replica: `env` as `up` would use it, refused where it
    differs from what the running replicas share."""
    data_dir = Path(state.data_dir)
    base = {**env, "DATA_DIR": str(data_dir)}
    if env.get("PII_KEYS") or (run_dir(data_dir) / "pii.keys").exists():
        base["PII_KEYS"] = pii_keys(env, data_dir)
    base["BEACON_INTERNAL_SECRET"] = internal_secret(env, data_dir)
    mine = _fingerprints(base)
    for setting in ("PII_KEYS", f"{service.upper()}_DATABASE_URL"):
        expected = state.fingerprints.get(setting)
        if expected is not None and mine[setting] != expected:
            raise ConfigError(setting, "differs from the one the running replicas were "
                                       "started with (give `scale` the environment of `up`)")
    return base


def _next_name(state: State, service: str) -> str:
    """A name no replica of this run had, so that each keeps its own log."""
    logs = run_dir(Path(state.data_dir)) / "logs"
    taken = {p.name for p in state.processes}
    i = 0
    while f"{service}-{i}" in taken or (logs / f"{service}-{i}.log").exists():
        i += 1
    return f"{service}-{i}"


def _port_for(state: State, gateway_port: int) -> int:
    """The lowest free port from the base port up that no process of this run holds (nor
    the gateway's), or any free port without a base."""
    if state.base_port is None:
        return free_port()
    held = {p.port for p in state.processes if alive(p)} | {gateway_port}
    for port in range(state.base_port, state.base_port + PORT_RANGE):
        if port not in held and _bindable(port):
            return port
    raise ConfigError("BEACON_BASE_PORT", f"no free port from {state.base_port} to "
                                          f"{state.base_port + PORT_RANGE - 1}")


def _gateway_port(state: State) -> int:
    return int(state.gateway_url.rsplit(":", 1)[1])


def start_replica(data_dir: Path, service: str, env: Mapping[str, str], *,
                  timeout: float = READY_TIMEOUT_S) -> Proc:
    """Start one more replica of `service` and return once it is ready; it joins the
    service's consumer groups. `env` configures it as `up`'s did the others."""
    if service not in SERVICES:
        raise ConfigError("service", f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    data_dir = data_dir.resolve()
    state = read_state(data_dir)
    if state is None:
        raise LocalError("not running; `up` first")
    base = _replica_base(state, env, service)
    port = _port_for(state, _gateway_port(state))
    name = _next_name(state, service)
    # A dead replica that held this port is forgotten (and no longer routed to).
    for dead in [p for p in state.processes if p.port == port and not alive(p)]:
        state.processes.remove(dead)
        if dead.role in SERVICES:
            _route(state, dead.role, dead.url, routed=False)
    proc, popen = _spawn(name, service, [sys.executable, "-m", "services", service],
                         _service_env(base, service, port, state.bootstrap), port, "127.0.0.1",
                         run_dir(data_dir) / "logs")
    state.processes.append(proc)
    _write_state(state)  # at once: `down` stops it even if `scale` itself dies
    deadline = time.monotonic() + timeout
    try:
        while not _ready(proc.url):
            if popen.poll() is not None:
                raise LocalError(f"{name} exited with code {popen.returncode}; the end of "
                                 f"{proc.log}:\n{_tail(Path(proc.log))}")
            if time.monotonic() > deadline:
                raise LocalError(f"{name} not ready after {timeout:.0f}s:\n"
                                 f"{_tail(Path(proc.log))}")
            time.sleep(0.2)
    except BaseException:
        terminate([proc], state.stop_timeout_s)
        state.processes.remove(proc)
        _write_state(state)
        raise
    _route(state, service, proc.url, routed=True)  # ready: the gateway may send it requests
    return proc


@dataclass
class Stopped:
    name: str
    seconds: float  # from the signal to the end of the process
    exit_code: int | None  # when this process reaped it (it ran `up`); -9: SIGKILLed
    killed: bool  # SIGKILLed by us after `stop_timeout_s` (or asked for)


def stop_replica(data_dir: Path, name: str,
                 sig: signal.Signals = signal.SIGTERM) -> Stopped:
    """Signal one replica's process group, wait for it to end (SIGKILL after the state's
    stop timeout) and forget it, so `down` and `status` no longer count it."""
    data_dir = data_dir.resolve()
    state = read_state(data_dir)
    proc = next((p for p in state.processes if p.name == name), None) if state else None
    if state is None or proc is None or proc.role not in SERVICES:
        raise LocalError(f"no service replica named {name!r} in {state_path(data_dir)}")
    # No new requests first; the ones in flight it answers while it drains.
    _route(state, proc.role, proc.url, routed=False)
    began = time.monotonic()
    killed = sig == signal.SIGKILL
    if alive(proc):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = began + state.stop_timeout_s
        while alive(proc):
            if time.monotonic() > deadline and not killed:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                killed = True
            time.sleep(0.02)
    seconds = time.monotonic() - began
    # A zombie leader shows before its last threads are gone, and only then can be reaped.
    _reap(proc.pid, wait=5.0)
    state.processes = [p for p in state.processes if p.name != name]
    _write_state(state)
    return Stopped(name, seconds, _exit_codes.pop(proc.pid, None), killed)


def _rebalance_settle_s(env: Mapping[str, str]) -> float:
    session_ms = _int_setting(env, "KAFKA_SESSION_TIMEOUT_MS", 10000, 1000, 600000)
    return session_ms / 2000 + 1.0


def scale(data_dir: Path, service: str, count: int, env: Mapping[str, str]) -> list[str]:
    """Run `count` replicas of `service` (0 stops it): start new ones, or SIGTERM the
    newest. Returns what was done, one line each."""
    if service not in SERVICES:
        raise ConfigError("service", f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    if not 0 <= count <= MAX_REPLICAS:
        raise ConfigError("count", f"expected a whole number from 0 to {MAX_REPLICAS}")
    state = read_state(data_dir.resolve())
    if state is None:
        raise LocalError("not running; `up` first")
    live = [p for p in state.processes if p.role == service and alive(p)]
    done = []
    for n, proc in enumerate(reversed(live[count:])):
        if n:
            # Tansu (0.6) completes a rebalance only after holding joins for half the
            # session timeout; a member that leaves while one is under way leaves the group
            # stuck, and the next replica never gets its partitions. Let it settle first.
            time.sleep(_rebalance_settle_s(env))
        stopped = stop_replica(data_dir, proc.name)
        done.append(f"stopped {stopped.name} in {stopped.seconds:.1f}s"
                    + (" (killed)" if stopped.killed else ""))
    for _ in range(count - len(live)):
        proc = start_replica(data_dir, service, env)
        done.append(f"started {proc.name} on {proc.url} (the gateway routes to it within "
                    f"a second)")
    if count == 0:
        done.append(f"{service} stopped: the gateway answers 503 for its routes, and its "
                    f"events wait on the broker until `scale {service} 1`")
    return done


def status(data_dir: Path) -> tuple[State | None, dict[str, bool]]:
    state = read_state(data_dir.resolve())
    if state is None:
        return None, {}
    return state, {p.name: alive(p) for p in state.processes}


# --- command line ------------------------------------------------------------------------

def _cmd_up(env: Mapping[str, str], data_dir: Path) -> int:
    state = up(env, data_dir)
    services = ", ".join(f"{n}×{len(state.urls(n))}" for n in SERVICES)
    print(f"beacon: distributed mode up: {services}; broker {state.bootstrap}")
    print(f"beacon: gateway on {state.gateway_url} (docs: /api/v1/openapi.json)")
    print(f"beacon: admin API key in {state.key_location}; logs in {run_dir(Path(state.data_dir))}"
          "/logs; stop with `make down`")
    return 0


def _cmd_down(data_dir: Path) -> int:
    stopped = down(data_dir)
    print(f"beacon: stopped {', '.join(stopped)}" if stopped else "beacon: nothing was running")
    return 0


def _cmd_status(data_dir: Path) -> int:
    state, live = status(data_dir)
    if state is None:
        print("beacon: not running")
        return 1
    print(f"beacon: gateway {state.gateway_url}, broker {state.bootstrap}")
    routed = {url for urls in state.routes.values() for url in urls}
    for proc in state.processes:
        mark = "running" if live[proc.name] else "DEAD"
        if proc.role in SERVICES:
            mark += ", routed" if proc.url in routed else ", not routed"
        print(f"  {proc.name:<12} pid {proc.pid:<8} {proc.url:<28} {mark:<17} log {proc.log}")
    stopped = [name for name in SERVICES if not state.urls(name)]
    if stopped:
        print(f"  scaled to 0: {', '.join(stopped)}")
    return 0 if all(live.values()) else 1


def _cmd_scale(args: list[str], data_dir: Path) -> int:
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -m deploy.local scale <service> <replicas>", file=sys.stderr)
        return 2
    for line in scale(data_dir, args[0], int(args[1]), os.environ):
        print(f"beacon: {line}")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    data_dir = Path(os.environ.get("DATA_DIR") or "data")
    try:
        if command == "up":
            return _cmd_up(os.environ, data_dir)
        if command == "down":
            return _cmd_down(data_dir)
        if command == "status":
            return _cmd_status(data_dir)
        if command == "scale":
            return _cmd_scale(argv[1:], data_dir)
    except ConfigError as exc:
        print(f"beacon: configuration error: {exc}", file=sys.stderr)
        return 2
    except LocalError as exc:
        print(f"beacon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print("usage: python -m deploy.local up|down|status|scale <service> <n>", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
