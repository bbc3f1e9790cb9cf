"""Load: simulated children through the whole stack, beside stock Rasa 3.6 in the same run.

Each configuration is started, warmed up, then loaded by ``--children``
simulated children at once for ``--seconds``; each child writes its next
message as soon as the whole answer to the last one arrived (closed loop, no
thinking time), asks ten things, and leaves its place to a new child.
Printed per configuration: child messages per second sustained, reply
latency p50/p95/p99 (message sent to first answer received), start-up to
first answer, CPU (cores) and resident memory per process (RSS and PSS),
PostgreSQL's and Redis's included for the production profile, and the memory
the machine had less available at the end than before the configuration started.

* **stock**: ``rasa init`` moodbot (Rasa 3.6's default pipeline and policies)
  over the REST channel, one Rasa server, as Rasa ships it: the baseline.
* **embedded**: ``scripts/run`` as ``make run`` starts it (SQLite, in-memory
  locks), the gateway in webhook mode fed by the fake Bot API server.
* **production**: ``scripts/run`` with ``LANTERN_PROFILE=production``
  (PostgreSQL trackers and gateway tables, Redis locks), same traffic.
* **production-2x** (``--replicas 2``): two of every process behind round-robin
  balancers, as tests/e2e/test_replicas.py runs them.

The gateway's own limit of 30 messages/s (Telegram's, TELEGRAM_MESSAGES_PER_SECOND)
is lifted here: the point is what the servers can carry, not Telegram.
The embedded profile writes its test conversations to var/ like `make run`;
they expire with RETENTION_DAYS. The moodbot is trained once into
var/bench/moodbot (a few minutes) and reused.

Usage: ``make bench-load`` or ``python bench/load.py --children 16 --seconds 60``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import fake_telegram as tg
from tests.e2e.balancer import Balancer
from tests.e2e.conftest import (
    POSTGRES,
    PRODUCTION_ENDPOINTS,
    free_port,
    fresh_schema,
    postgres_url,
    production_env,
    start_actions,
    start_rasa,
    stop,
    wait_http,
)
from tests.e2e.fake_telegram import Call, FakeTelegram

TOKEN = "123456:BENCH-token-not-real"
SECRET = "bench-webhook-secret"
RASA_TOKEN = "bench-rasa-token"
BIN = Path(sys.executable).parent
MOODBOT = ROOT / "var" / "bench" / "moodbot"
# What a child says first (not timed), then questions in turn, again and again.
WARMUP = ["hi", "I am in Italy"]
QUESTIONS = [
    "what are my rights",
    "how do i ask for asylum",
    "can i go to school",
    "where can i sleep",
    "i need a doctor",
    "can i work here",
    "what papers do i need",
    "how can i find my family",
]
MOODBOT_MESSAGES = ["hi", "I am sad", "yes", "great", "bye", "are you a bot?"]
TURN_TIMEOUT = 30.0
# --visit: a child asks this many things, then a new child takes its place, so
# conversations stay as long as a visit. Without it every child goes on for the
# whole run, as the stock figures in issue 7 were taken (16 clients throughout).
VISIT_TURNS = len(WARMUP) + len(QUESTIONS)


@dataclass
class Result:
    name: str
    turns: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms, to the first answer
    stalls: int = 0  # turns whose answer did not come in TURN_TIMEOUT
    first_answer: float = float("nan")  # seconds from start command to first answer
    cpu: dict[str, float] = field(default_factory=dict)  # cores used during the window
    rss: dict[str, float] = field(default_factory=dict)  # MB at the end
    # proportional share of each page: workers forked from one parent share
    # the libraries they loaded before forking, which RSS counts once per process
    pss: dict[str, float] = field(default_factory=dict)
    connections: int | None = None  # PostgreSQL sessions begun during the window
    # The machine's available memory (MemAvailable) before the configuration
    # started, and how much less of it there was at the end of the window: the
    # physical memory the stack took, shared pages once, which neither sum of
    # RSS (shared pages once per process) nor PSS (an estimate) measures directly
    available_before: float = float("nan")  # MB
    taken: float = float("nan")  # MB

    @property
    def rate(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def role_of(cmd: str) -> str | None:
    if cmd.startswith("postgres") or "/bin/postgres " in cmd:  # server, backends, workers
        return "postgresql"
    if "redis-server" in cmd:
        return "redis"
    if "rasa" in cmd and " actions" in cmd:
        return "actions"
    if "rasa" in cmd and " run" in cmd:
        return "rasa"
    if "-m bot" in cmd:
        return "gateway"
    return None


class Usage:
    """CPU time and memory of a set of processes, by role, over the timed window.

    With ``services``, PostgreSQL and Redis (machine services the production
    profile uses) are counted too: the processes found when the window begins,
    and those started during it (a connection opened past a pool is a new
    PostgreSQL backend) from their start. A backend that also ended within the
    window is missed; ``connections`` counts how many PostgreSQL sessions began.
    """

    def __init__(self, procs: list[psutil.Process], services: bool = False) -> None:
        self.procs: dict[int, tuple[str, psutil.Process]] = {}
        self.services = services
        self._add(procs)
        self.procs[os.getpid()] = ("bench (load + fake Telegram)", psutil.Process())
        self.start: dict[int, float] = {}
        self.started = 0.0
        self.started_at = 0.0  # wall clock, to compare with processes' start times
        self.sessions = 0

    def _add(self, procs: Iterable[psutil.Process]) -> None:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                role = role_of(" ".join(proc.cmdline()))
                if role and (self.services or role not in ("postgresql", "redis")):
                    self.procs[proc.pid] = (role, proc)

    def begin(self) -> None:
        if self.services:
            self._add(psutil.process_iter())
            self.sessions = postgres_sessions()
        self.started = time.monotonic()
        self.started_at = time.time()
        for pid, (_, proc) in self.procs.items():
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                self.start[pid] = t.user + t.system

    def end(self, result: Result) -> None:
        wall = time.monotonic() - self.started
        if self.services:
            result.connections = postgres_sessions() - self.sessions - 1  # less the asking one
            for proc in psutil.process_iter():
                with contextlib.suppress(psutil.Error):
                    if proc.pid not in self.procs and proc.create_time() >= self.started_at:
                        self._add([proc])  # from its start: all of its CPU is in the window
        for pid, (role, proc) in self.procs.items():
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                used = (t.user + t.system - self.start.get(pid, 0.0)) / wall
                result.cpu[role] = result.cpu.get(role, 0.0) + used
                memory = proc.memory_full_info()
                result.rss[role] = result.rss.get(role, 0.0) + memory.rss / 2**20
                result.pss[role] = result.pss.get(role, 0.0) + memory.pss / 2**20
        result.taken = result.available_before - available_mb()


def available_mb() -> float:
    """The machine's available memory (MemAvailable) in MB."""
    return psutil.virtual_memory().available / 2**20


def postgres_sessions() -> int:
    """Sessions PostgreSQL has begun in the `test` database so far (one backend each),
    the one asking included."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES)
    try:
        with engine.connect() as conn:
            query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def tree(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).children(recursive=True)
    return []


# -- the stock baseline -------------------------------------------------------


def ensure_moodbot() -> Path:
    """Rasa's own starter bot, trained once with Rasa's defaults."""
    if not list((MOODBOT / "models").glob("*.tar.gz")):
        MOODBOT.mkdir(parents=True, exist_ok=True)
        print("training the stock moodbot once (rasa init) ...", flush=True)
        subprocess.run(
            [BIN / "rasa", "init", "--no-prompt", "--init-dir", str(MOODBOT)],
            check=True,
            cwd=MOODBOT.parent,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return MOODBOT


async def run_stock(
    children: int, warmup: float, seconds: float, port: int, visit: int | None
) -> Result:
    bot = ensure_moodbot()
    result = Result("stock Rasa 3.6 moodbot (REST)")
    result.available_before = available_mb()
    started = time.monotonic()
    log = (bot / "rasa.log").open("ab")
    proc = subprocess.Popen(
        [BIN / "rasa", "run", "--port", str(port)],
        cwd=bot,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/", 180, proc)
        async with aiohttp.ClientSession() as session:

            async def turn(sender: str, text: str) -> None:
                async with session.post(url, json={"sender": sender, "message": text}) as r:
                    await r.read()

            await turn("bench-first", "hi")
            result.first_answer = time.monotonic() - started
            usage = Usage([psutil.Process(proc.pid)])
            await closed_loop(
                children,
                warmup,
                seconds,
                lambda seat, k: (
                    f"bench-{seat}-{k}",
                    itertools.islice(itertools.cycle(MOODBOT_MESSAGES), visit),
                ),
                turn,
                usage,
                result,
            )
    finally:
        stop(proc)
        log.close()
    return result


# -- Lantern ------------------------------------------------------------------


class Replies:
    """Counts the answers each chat received, and wakes whoever waits for them."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.count: dict[int, int] = {}
        self.first_at: dict[int, float] = {}
        self.events: dict[int, asyncio.Event] = {}
        fake.listeners.append(self.on_call)

    def on_call(self, call: Call) -> None:
        if call.method != "sendMessage":
            return
        chat = int(call.params["chat_id"])
        self.count[chat] = self.count.get(chat, 0) + 1
        self.events.setdefault(chat, asyncio.Event()).set()

    async def wait(self, chat: int, total: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count.get(chat, 0) < total:
            event = self.events.setdefault(chat, asyncio.Event())
            event.clear()
            await asyncio.wait_for(event.wait(), max(0.001, deadline - time.monotonic()))


async def calibrate(post: Callable[[int, str], Awaitable[None]], replies: Replies) -> list[int]:
    """How many messages answer each step of the script (one child, slowly)."""
    chat = 1
    counts = []
    for text in WARMUP + QUESTIONS * 2:
        before = replies.count.get(chat, 0)
        await post(chat, text)
        await replies.wait(chat, before + 1, TURN_TIMEOUT)
        await asyncio.sleep(1.0)  # every message of the answer
        counts.append(replies.count.get(chat, 0) - before)
    return counts


@contextlib.asynccontextmanager
async def lantern_stack(
    profile: str,
    replicas: int,
    fake: FakeTelegram,
    model: str,
    scratch: Path,
    rasa_workers: int,
) -> AsyncIterator[tuple[str, list[psutil.Process], float]]:
    """Start a profile; yield the webhook URL, its processes and when it began."""
    base = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake.url,
        "TELEGRAM_WEBHOOK_URL": "https://lantern.example/tg",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_MESSAGES_PER_SECOND": "10000",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "RASA_TOKEN": RASA_TOKEN,
        # new children every run: no conversation carries over from an earlier run
        "PSEUDONYM_KEY": secrets.token_urlsafe(24),
        "LOG_LEVEL": "INFO",
        "HELPLINE_CHAT_ID": "",
    }
    with contextlib.ExitStack() as cleanup:
        if profile == "production":
            schema = cleanup.enter_context(fresh_schema("bench"))
            base |= {"DATABASE_URL": postgres_url(schema)}
        else:
            base |= {"DATABASE_URL": f"sqlite:///{scratch}/gateway-{profile}.db"}
        started = time.monotonic()
        if replicas == 1:
            port = free_port()
            env = base | {"WEBHOOK_PORT": str(port), "LANTERN_PROFILE": profile}
            if profile == "production":
                env |= production_env(schema, "http://127.0.0.1:5055")
                env |= {"SANIC_WORKERS": str(rasa_workers)}
            # the gateway logs to the run command's output (Rasa's go to var/log/)
            log = cleanup.enter_context((scratch / f"run-{profile}.log").open("ab"))
            run = subprocess.Popen(
                [str(ROOT / "scripts" / "run")],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz", 300, run)
                yield f"http://127.0.0.1:{port}/tg", tree(run.pid), started
            finally:
                os.killpg(run.pid, signal.SIGINT)
                try:
                    run.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(run.pid, signal.SIGKILL)
            return
        # several of each, behind round-robin balancers (tests/e2e/test_replicas.py)
        assert profile == "production"
        logs = scratch / "logs"
        logs.mkdir(exist_ok=True)
        action_ports = [free_port() for _ in range(replicas)]
        procs = [start_actions(p, logs / f"actions-{p}.log") for p in action_ports]
        action_lb = Balancer([f"http://127.0.0.1:{p}" for p in action_ports])
        await action_lb.start()
        rasa_ports = [free_port() for _ in range(replicas)]
        rasa_env = production_env(schema, action_lb.url) | {"RASA_TOKEN": RASA_TOKEN}
        procs += [
            start_rasa(model, PRODUCTION_ENDPOINTS, p, logs / f"rasa-{p}.log", **rasa_env)
            for p in rasa_ports
        ]
        rasa_lb = Balancer([f"http://127.0.0.1:{p}" for p in rasa_ports])
        await rasa_lb.start()
        hook_ports = [free_port() for _ in range(replicas)]
        for p in hook_ports:
            env = base | {"WEBHOOK_PORT": str(p), "RASA_URL": rasa_lb.url}
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(logs / f"gateway-{p}.log").open("ab"),
                )
            )
        hook_lb = Balancer([f"http://127.0.0.1:{p}" for p in hook_ports])
        await hook_lb.start()
        try:
            for p in hook_ports:
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{p}/healthz", 300)
            for p in rasa_ports:
                url = f"http://127.0.0.1:{p}/status?token={RASA_TOKEN}"
                await asyncio.to_thread(wait_http, url, 300)
            yield f"{hook_lb.url}/tg", [psutil.Process(p.pid) for p in procs], started
        finally:
            stop(*procs)
            for lb in (hook_lb, rasa_lb, action_lb):
                await lb.stop()


async def run_lantern(
    profile: str,
    replicas: int,
    children: int,
    warmup: float,
    seconds: float,
    model: str,
    scratch: Path,
    rasa_workers: int = 1,
    visit: int | None = None,
) -> Result:
    name = profile if replicas == 1 else f"{profile}-{replicas}x"
    if rasa_workers > 1:
        name += f", {rasa_workers} Rasa workers"
    result = Result(f"Lantern {name}")
    result.available_before = available_mb()
    fake = FakeTelegram(TOKEN)
    await fake.start()
    replies = Replies(fake)
    updates = itertools.count(1)
    try:
        async with (
            lantern_stack(profile, replicas, fake, model, scratch, rasa_workers) as (
                hook,
                procs,
                started,
            ),
            aiohttp.ClientSession() as session,
        ):

            async def post(chat: int, text: str) -> None:
                update = {"update_id": next(updates), **tg.text(chat, text)}
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with session.post(hook, json=update, headers=headers) as r:
                    r.raise_for_status()

            await post(2, "/start")
            await replies.wait(2, 1, 300)
            result.first_answer = time.monotonic() - started
            counts = calibrate_cache.get(name) or await calibrate(post, replies)
            calibrate_cache[name] = counts
            script = list(zip(WARMUP + QUESTIONS * 2, counts, strict=True))

            async def turn(chat: int, step: tuple[str, int]) -> None:
                text, answers = step
                before = replies.count.get(chat, 0)
                await post(chat, text)
                await replies.wait(chat, before + answers, TURN_TIMEOUT)

            steady = script[len(WARMUP) :]

            def child(seat: int, k: int) -> tuple[int, Iterator[tuple[str, int]]]:
                steps = itertools.chain(script[: len(WARMUP)], itertools.cycle(steady))
                return 10_000 + 1000 * k + seat, itertools.islice(steps, visit)

            usage = Usage(procs, services=profile == "production")
            await closed_loop(children, warmup, seconds, child, turn, usage, result)
    finally:
        await fake.stop()
    return result


calibrate_cache: dict[str, list[int]] = {}


async def closed_loop(
    children: int,
    warmup: float,
    seconds: float,
    make_child: Callable[[int, int], tuple[object, Iterator[object]]],
    turn: Callable[[object, object], object],
    usage: Usage,
    result: Result,
) -> None:
    """Children write in turn as fast as answers come; time only the window after warm-up."""
    loop = asyncio.get_running_loop()
    window_start = loop.time() + warmup
    window_end = window_start + seconds

    async def run_seat(seat: int) -> None:
        for k in itertools.count():
            who, steps = make_child(seat, k)
            for step in steps:
                if loop.time() >= window_end:
                    return
                sent = loop.time()
                try:
                    await turn(who, step)  # type: ignore[misc]
                except asyncio.TimeoutError:
                    if sent >= window_start:
                        result.stalls += 1
                    continue
                if sent >= window_start and loop.time() <= window_end:
                    result.turns += 1
                    result.latencies.append((loop.time() - sent) * 1000)

    async def mark_window() -> None:
        await asyncio.sleep(warmup)
        usage.begin()
        await asyncio.sleep(seconds)
        usage.end(result)

    await asyncio.gather(mark_window(), *(run_seat(n) for n in range(children)))
    result.seconds = seconds


def report(results: list[Result], baseline: Result | None) -> None:
    print("\nLantern load (bench/load.py)")
    for r in results:
        print(f"\n  {r.name}")
        ratio = f"  ({r.rate / baseline.rate:.2f}x stock)" if baseline and baseline.rate else ""
        print(f"    messages/s sustained   {r.rate:7.1f}{ratio}")
        print(
            f"    latency p50/p95/p99    {percentile(r.latencies, 50):5.0f} /"
            f" {percentile(r.latencies, 95):5.0f} / {percentile(r.latencies, 99):5.0f} ms"
            f"   (stalls: {r.stalls})"
        )
        print(f"    start to first answer  {r.first_answer:7.1f} s")
        for role in sorted(r.cpu):
            print(
                f"    {role:30} CPU {r.cpu[role]:4.2f} cores"
                f"   RSS {r.rss[role]:6.0f} MB   PSS {r.pss[role]:6.0f} MB"
            )
        if r.connections is not None:
            print(f"    PostgreSQL connections opened during the window: {r.connections}")
        servers = [role for role in r.rss if not role.startswith("bench")]
        print(
            f"    resident memory, servers total: RSS {sum(r.rss[x] for x in servers):6.0f} MB,"
            f" PSS {sum(r.pss[x] for x in servers):6.0f} MB"
        )
        print(
            f"    memory the machine gave the stack (MemAvailable, before start - end): "
            f"{r.taken:6.0f} MB"
        )


async def main(args: argparse.Namespace) -> int:
    served = subprocess.check_output(
        [str(ROOT / "scripts" / "fingerprint")], cwd=ROOT, text=True
    ).strip()
    model = os.environ.get("LANTERN_MODEL") or served
    if model != served and args.profiles:
        # a profile of one replica is the README's run command, which serves (and if
        # need be trains) the model of the current config.yml and data; only the
        # --replicas run starts Rasa with the model named here
        print(f"note: the profiles serve {served}, not LANTERN_MODEL ({model})")
    scratch = Path(tempfile.mkdtemp(prefix="lantern-load-"))
    visit = VISIT_TURNS if args.visit else None
    results: list[Result] = []
    baseline = None
    if not args.no_stock:
        baseline = await run_stock(args.children, args.warmup, args.seconds, free_port(), visit)
        results.append(baseline)
    for profile in filter(None, args.profiles.split(",")):
        workers = args.rasa_workers if profile == "production" else 1
        results.append(
            await run_lantern(
                profile,
                1,
                args.children,
                args.warmup,
                args.seconds,
                model,
                scratch,
                workers,
                visit,
            )
        )
    if args.replicas > 1:
        results.append(
            await run_lantern(
                "production",
                args.replicas,
                args.children,
                args.warmup,
                args.seconds,
                model,
                scratch,
                1,
                visit,
            )
        )
    report(results, baseline)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--profiles", default="embedded,production")
    parser.add_argument("--replicas", type=int, default=1, help="also production-Nx; 1: no")
    parser.add_argument(
        "--rasa-workers", type=int, default=2, help="SANIC_WORKERS in the production profile"
    )
    parser.add_argument(
        "--visit", action="store_true", help=f"each child asks {VISIT_TURNS} things, then leaves"
    )
    parser.add_argument("--no-stock", action="store_true", help="skip the stock baseline")
    sys.exit(asyncio.run(main(parser.parse_args())))
