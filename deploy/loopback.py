"""An ASGI app served on a free loopback port inside the running event loop, for browsers
and streams that an in-process transport cannot drive (tests, screenshots)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp

from deploy.support import free_port


class _Server(uvicorn.Server):
    """uvicorn that says when it listens (it has no event of its own for that)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


@contextlib.asynccontextmanager
async def served(app: ASGIApp, *, lifespan: bool = False, within: float = 60.0
                 ) -> AsyncIterator[str]:
    """`app` on 127.0.0.1 until the block ends; yields its base URL. With `lifespan` off the
    caller runs the app's lifespan itself (as the test fixtures do)."""
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                    lifespan="on" if lifespan else "off"))
    serving = asyncio.create_task(server.serve())
    try:
        done, _ = await asyncio.wait({serving, asyncio.ensure_future(server.listening.wait())},
                                     timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if serving in done:
            serving.result()  # raises what stopped it
            raise RuntimeError("the server stopped before it listened")
        if not server.listening.is_set():
            raise TimeoutError(f"not listening within {within:.0f} s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
