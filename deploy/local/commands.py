"""What `up`, `down`, `scale` and `status` do, callable in-process (tests and bench drive
these): `up(env, data_dir)` returns the State, `down(data_dir)` ends it, `start_replica`
and `stop_replica` change one replica."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy.local import processes
from deploy.local.processes import alive, port_for, require_free, spawn, stop_all, terminate
from deploy.local.provision import (
    api_key_location,
    drill_api_key,
    ensure_databases,
    internal_secret,
    pii_keys,
    pii_keys_file,
)
from deploy.local.settings import MAX_REPLICAS, LocalSettings
from deploy.local.state import (
    LocalError,
    Proc,
    State,
    fingerprints,
    logs_dir,
    read_state,
    route,
    state_path,
    upstreams_path,
    write_routes,
    write_state,
)
from deploy.support import ChildFailed, wait_child_ready
from services.settings import SERVICES, GatewaySettings, LauncherSettings
from shared.settings import BusSettings, ConfigError, settings_from_env

READY_TIMEOUT_S = 60.0
# A process gets its own SHUTDOWN_TIMEOUT_S to drain, and this much more before SIGKILL.
STOP_GRACE_S = 5.0
SERVICE_ARGV = [sys.executable, "-m", "services"]


# --- the environments of the processes ---------------------------------------------------

def _base_env(env: Mapping[str, str], data_dir: Path, settings: LocalSettings, *,
              pii: str | None) -> dict[str, str]:
    """`env` as every process of the run gets it: the data dir and the shared secrets."""
    base = {**env, "DATA_DIR": str(data_dir)}
    if pii is not None:
        base["PII_KEYS"] = pii
    base["BEACON_INTERNAL_SECRET"] = internal_secret(settings, data_dir)
    base["DRILL_API_KEY"] = drill_api_key(settings, data_dir)  # gateway admits, drill posts
    return base


def _fingerprints(pii: str | None, settings: LocalSettings) -> dict[str, str]:
    return fingerprints(pii or "", {name: settings.database_url_of(name) for name in SERVICES})


def _service_env(base: Mapping[str, str], name: str, port: int, state: State) -> dict[str, str]:
    env = dict(base)
    env.update({
        "BUS": "kafka", "KAFKA_BOOTSTRAP_SERVERS": state.bootstrap,
        # Replicas are reached only through the gateway, so they listen on loopback.
        f"{name.upper()}_HOST": "127.0.0.1", f"{name.upper()}_PORT": str(port),
    })
    if name == "drill":  # the runner posts through the public API, as a hotline would
        env["DRILL_GATEWAY_URL"] = state.gateway_url
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


# --- up and down -------------------------------------------------------------------------

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
    logs = logs_dir(data_dir)
    logs.mkdir(parents=True, exist_ok=True)
    _refuse_if_running(data_dir)
    settings = settings_from_env(LocalSettings, env)
    gateway = settings_from_env(GatewaySettings, env)
    require_free("GATEWAY_PORT", gateway.port)
    key_location = api_key_location(gateway, data_dir)
    pii = pii_keys(settings, data_dir)
    base = _base_env(env, data_dir, settings, pii=pii)
    stop_timeout = settings_from_env(LauncherSettings, env).shutdown_timeout_s + STOP_GRACE_S
    ensure_databases(settings)
    broker = None
    bootstrap = settings.kafka_bootstrap_servers  # the user's broker: not ours to stop
    if bootstrap is None:
        broker = processes.start_tansu(settings.kafka_port, logs)
        bootstrap = broker.url.removeprefix("tcp://")
    host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host  # no address
    state = State(str(data_dir), f"http://{host}:{gateway.port}", bootstrap, key_location,
                  [broker] if broker else [], stop_timeout,
                  fingerprints=_fingerprints(pii, settings), base_port=settings.base_port)
    try:
        # Written as soon as anything runs, so `down` can clean up even if `up` itself dies.
        write_state(state)
        _launch(state, base, settings.replicas(), gateway.port, timeout)
    except BaseException:
        stop_all(state.processes, state.stop_timeout_s)
        state_path(data_dir).unlink(missing_ok=True)
        raise
    return state


def _launch(state: State, base: Mapping[str, str], counts: Mapping[str, int],
            gateway_port: int, timeout: float) -> None:
    logs = logs_dir(Path(state.data_dir))
    popens: dict[str, subprocess.Popen[bytes]] = {}
    for name, count in counts.items():
        for i in range(count):
            port = port_for(state, gateway_port)
            env = _service_env(base, name, port, state)
            proc, popens[f"{name}-{i}"] = spawn(f"{name}-{i}", name, [*SERVICE_ARGV, name],
                                                env, port, logs)
            state.processes.append(proc)
    state.routes = {name: state.urls(name) for name in SERVICES}
    write_routes(state)
    gateway, popens["gateway"] = spawn("gateway", "gateway", [*SERVICE_ARGV, "gateway"],
                                       _gateway_env(base, state, gateway_port), gateway_port,
                                       logs)
    state.processes.append(gateway)
    write_state(state)
    processes.wait_ready(state, popens, timeout)


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


# --- one replica at a time ---------------------------------------------------------------

def _replica_base(state: State, env: Mapping[str, str], service: str) -> dict[str, str]:
    """The environment of a new replica: `env` as `up` would use it, refused where it
    differs from what the running replicas share."""
    data_dir = Path(state.data_dir)
    settings = settings_from_env(LocalSettings, env)
    made = settings.pii_keys or pii_keys_file(data_dir).exists()
    pii = pii_keys(settings, data_dir) if made else None
    base = _base_env(env, data_dir, settings, pii=pii)
    mine = _fingerprints(pii, settings)
    for setting in ("PII_KEYS", f"{service.upper()}_DATABASE_URL"):
        expected = state.fingerprints.get(setting)
        if expected is not None and mine[setting] != expected:
            raise ConfigError(setting, "differs from the one the running replicas were "
                                       "started with (give `scale` the environment of `up`)")
    return base


def _next_name(state: State, service: str) -> str:
    """A name no replica of this run had, so that each keeps its own log."""
    logs = logs_dir(Path(state.data_dir))
    taken = {p.name for p in state.processes}
    i = 0
    while f"{service}-{i}" in taken or (logs / f"{service}-{i}.log").exists():
        i += 1
    return f"{service}-{i}"


def _known_service(service: str) -> None:
    if service not in SERVICES:
        raise ConfigError("service", f"unknown service {service!r}; one of {', '.join(SERVICES)}")


def start_replica(data_dir: Path, service: str, env: Mapping[str, str], *,
                  timeout: float = READY_TIMEOUT_S) -> Proc:
    """Start one more replica of `service` and return once it is ready; it joins the
    service's consumer groups. `env` configures it as `up`'s did the others."""
    _known_service(service)
    data_dir = data_dir.resolve()
    state = read_state(data_dir)
    if state is None:
        raise LocalError("not running; `up` first")
    base = _replica_base(state, env, service)
    port = port_for(state, state.gateway_port())
    name = _next_name(state, service)
    # A dead replica that held this port is forgotten (and no longer routed to).
    for dead in [p for p in state.processes if p.port == port and not alive(p)]:
        state.processes.remove(dead)
        if dead.role in SERVICES:
            route(state, dead.role, dead.url, routed=False)
    proc, popen = spawn(name, service, [*SERVICE_ARGV, service],
                        _service_env(base, service, port, state), port,
                        logs_dir(data_dir))
    state.processes.append(proc)
    write_state(state)  # at once: `down` stops it even if `scale` itself dies
    try:
        wait_child_ready(f"{proc.url}/readyz", popen, Path(proc.log), name=name,
                         within=timeout)
    except BaseException as exc:
        terminate([proc], state.stop_timeout_s)
        state.processes.remove(proc)
        write_state(state)
        if isinstance(exc, ChildFailed):
            raise LocalError(str(exc)) from None
        raise
    route(state, service, proc.url, routed=True)  # ready: the gateway may send it requests
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
    route(state, proc.role, proc.url, routed=False)
    began = time.monotonic()
    killed = processes.signal_and_wait(proc, sig, state.stop_timeout_s)
    seconds = time.monotonic() - began
    # A zombie leader shows before its last threads are gone, and only then can be reaped.
    processes.reap(proc.pid, wait=5.0)
    state.processes = [p for p in state.processes if p.name != name]
    write_state(state)
    return Stopped(name, seconds, processes.exit_code(proc.pid), killed)


def _rebalance_settle_s(env: Mapping[str, str]) -> float:
    session_ms = settings_from_env(BusSettings, env).kafka_session_timeout_ms
    return session_ms / 2000 + 1.0


def scale(data_dir: Path, service: str, count: int, env: Mapping[str, str]) -> list[str]:
    """Run `count` replicas of `service` (0 stops it): start new ones, or SIGTERM the
    newest. Returns what was done, one line each."""
    _known_service(service)
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
