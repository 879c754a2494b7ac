"""The processes of a run: starting one detached, knowing whether it still runs (and is
still ours), stopping groups of them in order, waiting until they are ready, and the ports
they listen on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from deploy.local.settings import PORT_RANGE
from deploy.local.state import STOP_TIMEOUT_S, LocalError, Proc, State
from deploy.support import bindable, free_port, http_ok, log_tail, wait_until
from deploy.tansu import BrokerMissing, Tansu
from services.settings import SERVICES
from shared.settings import ConfigError

# --- identity and liveness ---------------------------------------------------------------

def start_ticks(pid: int) -> int | None:
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
    reap(proc.pid)
    try:
        os.kill(proc.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process took the pid
    if _is_zombie(proc.pid):
        return False
    ticks = start_ticks(proc.pid)
    return proc.started is None or ticks is None or ticks == proc.started


# The replicas this very process started (tests run `up` in-process): kept, so that no
# garbage-collected Popen lets `subprocess` reap them first and lose their exit codes.
_children: dict[int, subprocess.Popen[bytes]] = {}
_exit_codes: dict[int, int] = {}


def reap(pid: int, wait: float = 0.0) -> None:
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


def exit_code(pid: int) -> int | None:
    """The exit code of a child this process reaped (once), else None."""
    return _exit_codes.pop(pid, None)


# --- ports -------------------------------------------------------------------------------

def require_free(setting: str, port: int) -> None:
    """Refuse a taken port up front: a readiness probe would otherwise find the squatter."""
    if not bindable(port):
        raise ConfigError(setting, f"port {port} on 127.0.0.1 is already in use")


def port_for(state: State, gateway_port: int) -> int:
    """The lowest free port from the base port up that no process of this run holds (nor
    the gateway's), or any free port without a base."""
    if state.base_port is None:
        return free_port()
    held = {p.port for p in state.processes if alive(p)} | {gateway_port}
    for port in range(state.base_port, state.base_port + PORT_RANGE):
        if port not in held and bindable(port):
            return port
    raise ConfigError("BEACON_BASE_PORT", f"no free port from {state.base_port} to "
                                          f"{state.base_port + PORT_RANGE - 1}")


# --- starting and stopping ---------------------------------------------------------------

def spawn(name: str, role: str, argv: list[str], env: Mapping[str, str], port: int,
          logs: Path) -> tuple[Proc, subprocess.Popen[bytes]]:
    """Start one process listening on 127.0.0.1:`port`, logging to `logs`/<name>.log."""
    log_path = logs / f"{name}.log"
    with open(log_path, "ab") as log:
        # A session of its own: the process outlives `up`, and `down` signals its group.
        popen = subprocess.Popen(argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    proc = Proc(name, role, popen.pid, port, f"http://127.0.0.1:{port}", str(log_path),
                start_ticks(popen.pid))
    _children[popen.pid] = popen
    return proc, popen


def start_tansu(port: int, logs: Path) -> Proc:
    """Tansu on `port`, ready for clients; LocalError (with its log) when it does not start."""
    require_free("KAFKA_PORT", port)
    broker = Tansu(port, logs / "tansu.log")
    try:
        broker.start()
    except (OSError, TimeoutError, BrokerMissing) as exc:
        broker.stop(kill=True)
        raise LocalError(f"Tansu did not start on port {port}: {exc}\n"
                         f"{log_tail(logs / 'tansu.log')}") from exc
    assert broker.process is not None
    pid = broker.process.pid
    return Proc("tansu", "tansu", pid, port, f"tcp://{broker.bootstrap}",
                str(logs / "tansu.log"), start_ticks(pid))


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


def signal_and_wait(proc: Proc, sig: signal.Signals, timeout: float) -> bool:
    """Signal one process group and wait until it ended, SIGKILLing it after `timeout`;
    whether it was SIGKILLed (asked for, or by us)."""
    killed = sig == signal.SIGKILL
    if not alive(proc):
        return killed
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    deadline = time.monotonic() + timeout
    while alive(proc):
        if time.monotonic() > deadline and not killed:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.02)
    return killed


# --- readiness ---------------------------------------------------------------------------

def ready(proc: Proc) -> bool:
    return http_ok(f"{proc.url}/readyz")


def _check_alive(popens: Mapping[str, subprocess.Popen[bytes]], state: State) -> None:
    for proc in state.processes:
        popen = popens.get(proc.name)
        if popen is not None and popen.poll() is not None:
            raise LocalError(f"{proc.name} exited with code {popen.returncode}; "
                             f"the end of {proc.log}:\n{log_tail(Path(proc.log))}")


def wait_ready(state: State, popens: Mapping[str, subprocess.Popen[bytes]],
               timeout: float) -> None:
    """Every replica's own /readyz, then the gateway's: the gateway probes one replica per
    service per call, so its answer alone does not prove that all replicas are up."""
    pending = [p for p in state.processes if p.role != "tansu"]

    def all_ready() -> bool:
        _check_alive(popens, state)
        pending[:] = [p for p in pending if not ready(p)]
        return not pending

    try:
        wait_until(all_ready, within=timeout, what="every process ready", every=0.2)
    except TimeoutError:
        logs = "\n".join(f"{p.name} ({p.log}):\n{log_tail(Path(p.log))}" for p in pending)
        raise LocalError(f"not ready after {timeout:.0f}s: "
                         f"{', '.join(p.name for p in pending)}\n{logs}") from None
