"""Fixtures for end-to-end tests: real Rasa + action server, the gateway as a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.logs import Pseudonyms
from tests.e2e.balancer import Balancer
from tests.e2e.fake_telegram import FakeTelegram
from tests.e2e.local_server import serve_locally

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "123456:TEST-token-not-real"
RASA_TOKEN = "e2e-rasa-token"
PSEUDONYM_KEY = "e2e-pseudonym-key-0123456789"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - local test URL
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@dataclass
class RasaStack:
    url: str
    action_url: str
    tracker_db: str  # an SQLAlchemy URL of the tracker store, for tests that look inside


def write_endpoints(directory: Path, action_port: int) -> Path:
    """An endpoints.yml like the project's embedded one, with its own action port
    and SQLite file."""
    path = directory / "endpoints.yml"
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n"
        "  enable_selective_domain: true\n"
        "nlg:\n  type: rasa_ext.nlg.CatalogueNLG\n"
        "tracker_store:\n  type: rasa_ext.tracker_store.CachedSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {directory}/rasa.db\n"
    )
    return path


PRODUCTION_ENDPOINTS = ROOT / "endpoints.production.yml"


def production_env(schema: str, action_url: str) -> dict[str, str]:
    """What the production profile's endpoints.production.yml reads: this machine's
    PostgreSQL (trackers in ``schema``) and Redis (locks)."""
    return {
        "ACTION_ENDPOINT_URL": f"{action_url}/webhook",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        "POSTGRES_DB": "test",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "POSTGRESQL_SCHEMA": schema,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_DB": "3",
        "REDIS_PASSWORD": "",
    }


def start_actions(port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [BIN / "python", "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def start_rasa(
    model: str, endpoints: Path, port: int, log: Path, **env: str
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                BIN / "python",
                "-m",
                "rasa_ext.tensorflow_free",  # Rasa's command line without TensorFlow
                "run",
                "--enable-api",
                "--auth-token",
                RASA_TOKEN,
                "--model",
                model,
                "--port",
                str(port),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                str(endpoints),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "RASA_TOKEN": RASA_TOKEN, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def model() -> str:
    """The model trained by `make train` (make e2e passes its path)."""
    path = os.environ.get("LANTERN_MODEL")
    if not path or not Path(path).exists():
        pytest.fail("LANTERN_MODEL must name a trained model (run `make e2e`)")
    return path


@pytest.fixture(scope="session")
def rasa_stack(model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """The trained model served by a real Rasa server and action server."""
    tmp = tmp_path_factory.mktemp("rasa")
    rasa_port, action_port = free_port(), free_port()
    actions = start_actions(action_port, tmp / "actions.log")
    rasa = start_rasa(model, write_endpoints(tmp, action_port), rasa_port, tmp / "rasa.log")
    try:
        wait_http(f"http://127.0.0.1:{action_port}/health", 120, actions)
        wait_http(f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", 180, rasa)
        yield RasaStack(
            f"http://127.0.0.1:{rasa_port}",
            f"http://127.0.0.1:{action_port}",
            f"sqlite:///{tmp}/rasa.db",
        )
    finally:
        stop(rasa, actions)


@contextlib.contextmanager
def fresh_schema(name: str) -> Iterator[str]:
    """A PostgreSQL schema of its own in `test` (127.0.0.1:5432), dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"e2e_{name}_{os.getpid()}_{int(time.time())}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema for the session's PostgreSQL-backed Rasa server."""
    with fresh_schema("session") as schema:
        yield schema


def postgres_url(schema: str) -> str:
    """The `test` database with ``schema`` first on the search path."""
    return f"{POSTGRES}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def rasa_stack_postgres(
    model: str,
    rasa_stack: RasaStack,
    postgres_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RasaStack]:
    """A second Rasa server in the production profile: trackers in PostgreSQL, locks
    in Redis (same action server)."""
    tmp = tmp_path_factory.mktemp("rasa-pg")
    rasa_port = free_port()
    rasa = start_rasa(
        model,
        PRODUCTION_ENDPOINTS,
        rasa_port,
        tmp / "rasa.log",
        **production_env(postgres_schema, rasa_stack.action_url),
    )
    try:
        wait_http(f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", 180, rasa)
        yield RasaStack(
            f"http://127.0.0.1:{rasa_port}", rasa_stack.action_url, postgres_url(postgres_schema)
        )
    finally:
        stop(rasa)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


class Gateway:
    """``python -m bot`` as a real process, pointed at the fake Bot API server."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Gateway:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Make gateway processes; every one still running at the end is stopped."""
    made: list[Gateway] = []
    db = tmp_path / "gateway.db"

    def make(api_url: str, rasa_url: str, **extra: str) -> Gateway:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "RASA_URL": rasa_url,
            "RASA_TOKEN": RASA_TOKEN,
            "PSEUDONYM_KEY": PSEUDONYM_KEY,
            "DATABASE_URL": f"sqlite:///{db}",
            "LOG_LEVEL": "INFO",
            "RASA_RETRY_SECONDS": "20",
            "HELPLINE_CHAT_ID": "-100999",
            "WEBHOOK_PORT": str(free_port()),  # health and metrics, in every mode
            **extra,
        }
        gw = Gateway(env, tmp_path / f"gateway-{len(made)}.log")
        made.append(gw)
        return gw

    yield make
    for gw in made:
        if gw.alive:
            gw.stop()


@pytest.fixture
def gateway(
    telegram: FakeTelegram, rasa_stack: RasaStack, gateway_factory: Callable[..., Gateway]
) -> Gateway:
    """A gateway process talking to the fake Bot API and the real Rasa stack."""
    return gateway_factory(telegram.url, rasa_stack.url).start()


class StubRasa:
    """A stand-in Rasa server whose answers each test scripts (for failure paths)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[Callable[[dict[str, Any]], Any]] = []
        self.url = ""
        self.released = asyncio.Event()  # set on stop: scripted waits end
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhooks/lantern/webhook", self._handle)
        self._runner, self.url = await serve_locally(app)
        return self.url

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        step = self.script.pop(0) if self.script else reply_text("ok")
        result = step(body)
        if hasattr(result, "__await__"):
            result = await result
        return result  # type: ignore[no-any-return]

    async def stop(self) -> None:
        self.released.set()
        await asyncio.sleep(0.05)
        if self._runner:
            await self._runner.cleanup()


def reply_text(text: str, language: str = "en") -> Callable[[dict[str, Any]], web.Response]:
    return lambda _: web.json_response([{"text": text, "language": language}])


def status(code: int) -> Callable[[dict[str, Any]], web.Response]:
    return lambda _: web.json_response({"error": "x"}, status=code)


@pytest.fixture
async def stub_rasa() -> AsyncIterator[StubRasa]:
    stub = StubRasa()
    await stub.start()
    yield stub
    await stub.stop()


async def tracker_of(rasa_url: str, chat_id: int) -> dict[str, Any]:
    """The Rasa tracker of a Telegram chat, whose sender is the chat's keyed hash."""
    sender = Pseudonyms(PSEUDONYM_KEY.encode()).sender("telegram", chat_id)
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{rasa_url}/conversations/{sender}/tracker", params={"token": RASA_TOKEN}
        )
    return answer.json()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def rasa_with_failing_actions(
    model: str, tmp_path: Path, fails: Callable[[web.Request], bool]
) -> AsyncIterator[str]:
    """The real Rasa and action server, with a proxy between them that fails the
    action calls ``fails`` picks (health probes go through it too); yields Rasa's URL."""
    action_port, rasa_port = free_port(), free_port()
    actions = start_actions(action_port, tmp_path / "a.log")
    proxy = Balancer([f"http://127.0.0.1:{action_port}"])
    proxy.fails = fails
    proxy_port = int((await proxy.start()).rsplit(":", 1)[1])
    rasa = start_rasa(model, write_endpoints(tmp_path, proxy_port), rasa_port, tmp_path / "r.log")
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{action_port}/health", 120, actions)
        await asyncio.to_thread(
            wait_http, f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", 180, rasa
        )
        yield f"http://127.0.0.1:{rasa_port}"
    finally:
        stop(rasa, actions)
        await proxy.stop()
