"""Child process for the crash test: commits events, then dies by SIGKILL while the relay
is inside its publish call, so the events are committed and not (known to be) published.

Usage: python crash_child.py <database-url> <schema|-> <topic> <count>
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from shared.bus import MemoryBroker, MemoryBus, Record
from tests.support import Probe, events_for, register_topic


class HangingBus(MemoryBus):
    """A bus whose publish never returns: the process is killed inside it."""

    def __init__(self) -> None:
        super().__init__(MemoryBroker(1))
        self.publishing = asyncio.Event()

    async def publish_records(self, items: Sequence[tuple[str, Record]]) -> None:
        self.publishing.set()
        await asyncio.Event().wait()


async def main(url: str, schema: str | None, topic: str, count: int) -> None:
    register_topic(topic)
    bus = HangingBus()
    probe = Probe(url, bus, topic, schema=schema)
    await probe.runtime.start()
    await probe.emit(events_for(keys=count // 5, per_key=5))
    await bus.publishing.wait()
    print("committed-and-publishing", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    url, schema, topic, count = sys.argv[1:5]
    asyncio.run(main(url, None if schema == "-" else schema, topic, int(count)))
