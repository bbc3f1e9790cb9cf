"""Start-up, memory and latency of the whole assistant, through the run command.

Runs ``scripts/run`` (what ``make run`` runs) with a Telegram token pointed at
the tests' fake Bot API server, then prints:

* seconds from the run command to the first answer to /start (warm machine:
  .venv installed and the model trained, as after one ``make run``);
* resident memory (RSS) of the action server, the Rasa server and the gateway;
* reply latency p50/p95 over 100 sequential messages through the gateway
  (from the update being offered to getUpdates to the reply reaching
  sendMessage), and the time Ctrl-C takes to stop everything.

Usage: ``make bench`` (or ``python bench/startup.py --messages 100``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import fake_telegram as tg
from tests.e2e.fake_telegram import FakeTelegram

TOKEN = "123456:BENCH-token-not-real"
MESSAGES = [
    "hello",
    "what can you do",
    "are you a real person?",
    "i need a doctor",
    "where can i sleep",
    "thanks",
    "مرحبا",
    "شكرا كتير",
    "i want to talk to someone",
    "bye",
]
ROLES = {
    "action server": lambda cmd: "rasa" in cmd and " actions" in cmd,
    "Rasa server": lambda cmd: "rasa" in cmd and "--enable-api" in cmd,
    "gateway": lambda cmd: "-m bot" in cmd,
}


def processes_by_role(root_pid: int) -> dict[str, list[psutil.Process]]:
    """The action server, Rasa server and gateway processes under the run command."""
    found: dict[str, list[psutil.Process]] = {role: [] for role in ROLES}
    for proc in psutil.Process(root_pid).children(recursive=True):
        try:
            cmd = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        for role, match in ROLES.items():
            if match(cmd):
                found[role].append(proc)
    return found


def rss_mb(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            total += proc.memory_info().rss / 2**20
        except psutil.Error:
            pass
    return total


def still_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            pass
    return alive


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(count: int) -> int:
    fake = FakeTelegram(TOKEN)
    api = await fake.start()
    scratch = tempfile.mkdtemp(prefix="lantern-bench-")
    env = {
        **os.environ,
        # its own inbox: the fake server numbers updates from 1000 on every run
        "DATABASE_URL": f"sqlite:///{scratch}/gateway.db",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api,
        "TELEGRAM_WEBHOOK_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    env.setdefault("RASA_TOKEN", "bench-rasa-token")
    env.setdefault("PSEUDONYM_KEY", "bench-pseudonym-key-0123456789")
    started = time.monotonic()
    run = subprocess.Popen(
        [str(ROOT / "scripts" / "run")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, like a terminal's
    )
    roles: dict[str, list[psutil.Process]] = {}
    try:
        chat = 900001
        await fake.push(tg.text(chat, "/start"))
        await fake.wait_sent(chat, 1, timeout=300)
        first_answer = time.monotonic() - started
        await fake.wait_sent(chat, 3, timeout=30)

        latencies = []
        for i in range(count):
            before = len(fake.sent(chat))
            offered = time.monotonic()
            await fake.push(tg.text(chat, MESSAGES[i % len(MESSAGES)]))
            await fake.wait_sent(chat, before + 1, timeout=60)
            latencies.append((time.monotonic() - offered) * 1000)
            # let any further reply messages of this turn arrive before the next
            await asyncio.sleep(0.05)
        roles = processes_by_role(run.pid)
        memory = {role: rss_mb(procs) for role, procs in roles.items()}
    finally:
        stop_from = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does
        try:
            run.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        stopped_in = time.monotonic() - stop_from
        await fake.stop()

    leftovers = still_running([p for procs in roles.values() for p in procs])
    print("Lantern start-up and latency (bench/startup.py)")
    print(f"  run command to first answer (warm): {first_answer:6.1f} s")
    for role in ROLES:
        print(f"  resident memory, {role:15}     {memory.get(role, float('nan')):6.0f} MB")
    print(f"  resident memory, total               {sum(memory.values()):6.0f} MB")
    print(f"  reply latency over {count} sequential messages through the gateway:")
    print(
        f"    p50 {percentile(latencies, 50):6.0f} ms   p95 {percentile(latencies, 95):6.0f} ms"
        f"   mean {statistics.mean(latencies):6.0f} ms   max {max(latencies):6.0f} ms"
    )
    print(
        f"  Ctrl-C to all processes stopped: {stopped_in:4.1f} s "
        f"({'clean' if not leftovers else f'{len(leftovers)} left running'})"
    )
    return 0 if not leftovers else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    sys.exit(asyncio.run(main(parser.parse_args().messages)))
