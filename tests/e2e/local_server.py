"""Serve an aiohttp app on a free local port: the fake Bot API, the stand-in Rasa, balancers."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve_locally(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, str]:
    """Start ``app`` on 127.0.0.1 at a port the OS picks; return its runner and base URL."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
