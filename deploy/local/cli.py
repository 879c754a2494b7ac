"""`python -m deploy.local up|down|status|scale <service> <n>`: the commands behind
`make up` and `make down`, one line of output per thing done."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.local.commands import down, scale, status, up
from deploy.local.settings import RunSettings
from deploy.local.state import LocalError, logs_dir
from services.settings import SERVICES
from shared.settings import ConfigError, settings_from_env

PROG = "python -m deploy.local"


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG, usage=f"{PROG} up|down|status|scale <service> <n>",
        description="Distributed mode on this machine: Tansu, one process per service "
                    "replica and the gateway. Configured by the environment (README, "
                    "`Distributed mode on one machine`).")
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("up", help="start everything; return once the gateway is ready")
    commands.add_parser("down", help="stop everything `up` and `scale` started")
    commands.add_parser("status", help="each process, running or dead (exit 1 if one died)")
    scaling = commands.add_parser(
        "scale", prog=f"{PROG} scale", usage=f"{PROG} scale <service> <replicas>",
        help="start or stop replicas of one service while the rest runs (0 stops it)")
    scaling.add_argument("service", help=f"one of {', '.join(SERVICES)}")
    scaling.add_argument("replicas", type=_count, help="how many should run (0 stops it)")
    return top


def _up(data_dir: Path) -> int:
    state = up(os.environ, data_dir)
    services = ", ".join(f"{n}×{len(state.urls(n))}" for n in SERVICES)
    print(f"beacon: distributed mode up: {services}; broker {state.bootstrap}")
    print(f"beacon: gateway on {state.gateway_url} (docs: /api/v1/openapi.json)")
    print(f"beacon: admin API key in {state.key_location}; logs in "
          f"{logs_dir(Path(state.data_dir))}; stop with `make down`")
    return 0


def _down(data_dir: Path) -> int:
    stopped = down(data_dir)
    print(f"beacon: stopped {', '.join(stopped)}" if stopped else "beacon: nothing was running")
    return 0


def _status(data_dir: Path) -> int:
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


def _scale(data_dir: Path, service: str, replicas: int) -> int:
    for line in scale(data_dir, service, replicas, os.environ):
        print(f"beacon: {line}")
    return 0


def main(argv: Sequence[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # a usage error (2, the usage printed) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        data_dir = settings_from_env(RunSettings, os.environ).data_dir
        if args.command == "up":
            return _up(data_dir)
        if args.command == "down":
            return _down(data_dir)
        if args.command == "status":
            return _status(data_dir)
        return _scale(data_dir, args.service, args.replicas)
    except ConfigError as exc:
        print(f"beacon: configuration error: {exc}", file=sys.stderr)
        return 2
    except LocalError as exc:
        print(f"beacon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
