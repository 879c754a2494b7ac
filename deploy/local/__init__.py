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

The modules: `settings` (what it reads), `state` (state.json and upstreams.json),
`provision` (shared secrets, PostgreSQL databases), `processes` (start, liveness, stop,
readiness, ports), `commands` (up, down, scale, status; tests and bench call these) and
`cli` (argparse).
"""

from deploy.local.cli import main
from deploy.local.commands import (
    READY_TIMEOUT_S,
    Stopped,
    down,
    scale,
    start_replica,
    status,
    stop_replica,
    up,
)
from deploy.local.processes import alive, port_for
from deploy.local.settings import MAX_REPLICAS, PORT_RANGE, LocalSettings
from deploy.local.state import STOP_TIMEOUT_S, LocalError, Proc, State, read_state
from deploy.support import bindable

__all__ = [
    "MAX_REPLICAS", "PORT_RANGE", "READY_TIMEOUT_S", "STOP_TIMEOUT_S", "LocalError",
    "LocalSettings", "Proc", "State", "Stopped", "alive", "bindable", "down", "main",
    "port_for", "read_state", "scale", "start_replica", "status", "stop_replica", "up",
]
