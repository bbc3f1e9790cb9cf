"""A simple round-robin HTTP load balancer, for replica tests and the load benchmark.

It stands where nginx or a Kubernetes Service would: each request goes to the
next backend, with no stickiness, so nothing may rely on one child's messages
reaching the same replica.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import aiohttp
from aiohttp import web

from tests.e2e.local_server import serve_locally

KEEPALIVE_SECONDS = 2.0
# Headers that describe one hop, not the request (RFC 9110, 7.6.1).
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}


class Balancer:
    """Forward every request to the next of ``backends`` (base URLs)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.counts = [0] * len(backends)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        # a test's fault: requests it picks are answered 502 and not forwarded
        self.fails: Callable[[web.Request], bool] = lambda _: False

    async def start(self) -> str:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=120),
            # Idle upstream connections close before a backend's own keep-alive
            # (Sanic's is 5 s) can close one under a request being forwarded:
            # that race answered 502 to a Rasa server now and then, and Rasa
            # drops a custom action that fails.
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner, self.url = await serve_locally(app, access_log=None)
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._session:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if self.fails(request):
            return web.Response(status=502)
        index = next(self._next)
        self.counts[index] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            async with self._session.request(
                request.method,
                self.backends[index] + request.path_qs,
                headers=headers,
                data=await request.read(),
            ) as upstream:
                body = await upstream.read()
                kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(status=upstream.status, body=body, headers=kept)
        except (aiohttp.ClientError, TimeoutError):
            return web.Response(status=502)
