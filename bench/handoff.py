"""Handoff speed: from a child's request to the staff topic, and relay latency both ways.

Starts the action server, the Rasa server (the trained model) and the gateway
against the tests' fake Bot API server, with a staff group that has topics.
For each of N children, one after the other:

1. the child sends /human: time until the ticket card is posted in its new topic;
2. the child writes while waiting: time until the message is copied to the topic;
3. a counsellor answers in the topic: time until it is copied to the child;
4. the counsellor closes the ticket (not timed).

Times run from the moment the update is offered to getUpdates to the moment
the gateway's Bot API call arrives, so they include the long-poll pick-up.

Telegram lets a bot send about 20 messages a minute into one group, and each
handoff costs the staff group two (the card and the child's message). Children
therefore arrive ``--every`` seconds apart (default 6: ten a minute, what one
staff group can take); ``--every 0`` shows a burst queueing behind that limit.

Usage: ``LANTERN_MODEL=models/… python bench/handoff.py [--handoffs 50]``
(``make bench-handoff`` passes the model).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import (
    PSEUDONYM_KEY,
    RASA_TOKEN,
    TOKEN,
    Gateway,
    free_port,
    start_actions,
    start_rasa,
    stop,
    wait_http,
    write_endpoints,
)
from tests.e2e.fake_telegram import FakeTelegram

GROUP = -100999
COUNSELLOR = 901


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def time_until(telegram: FakeTelegram, method: str, chat_id: int, before: int) -> float:
    """Seconds from now until the fake receives the next ``method`` call for ``chat_id``."""
    start = time.monotonic()

    def arrived() -> bool:
        calls = [c for c in telegram.calls[before:] if c.method == method and c.ok]
        return any(int(c.params.get("chat_id", 0)) == chat_id for c in calls)

    await telegram.wait_for(arrived, timeout=60)
    call = next(
        c
        for c in telegram.calls[before:]
        if c.method == method and c.ok and int(c.params.get("chat_id", 0)) == chat_id
    )
    return call.at - start


async def run(count: int, every: float, model: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lantern-handoff-"))
    rasa_port, action_port = free_port(), free_port()
    actions = start_actions(action_port, tmp / "actions.log")
    rasa = start_rasa(model, write_endpoints(tmp, action_port), rasa_port, tmp / "rasa.log")
    telegram = FakeTelegram(TOKEN)
    await telegram.start()
    telegram.members.add(COUNSELLOR)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "RASA_TOKEN": RASA_TOKEN,
        "PSEUDONYM_KEY": PSEUDONYM_KEY,
        "DATABASE_URL": f"sqlite:///{tmp}/gateway.db",
        "LOG_LEVEL": "WARNING",
        "HELPLINE_CHAT_ID": str(GROUP),
    }
    gateway = Gateway(env, tmp / "gateway.log")
    opened: list[float] = []
    to_staff: list[float] = []
    to_child: list[float] = []
    try:
        wait_http(f"http://127.0.0.1:{action_port}/health", 120, actions)
        wait_http(f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", 180, rasa)
        gateway.start()
        started = time.monotonic()
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i * every - time.monotonic()))
            child = 10_000 + i
            before = len(telegram.calls)
            await telegram.push(tg.text(child, "/human"))
            opened.append(await time_until(telegram, "sendMessage", GROUP, before))
            card = telegram.sent(GROUP)[-1]  # the ticket card, in the new topic
            thread = int(card["message_thread_id"])
            await telegram.wait_sent(child, 2)

            before = len(telegram.calls)
            await telegram.push(tg.text(child, "are you there?"))
            to_staff.append(await time_until(telegram, "copyMessage", GROUP, before))

            before = len(telegram.calls)
            reply = tg.group_text(GROUP, "hello", COUNSELLOR, thread_id=thread, message_id=1000 + i)
            await telegram.push(reply)
            to_child.append(await time_until(telegram, "copyMessage", child, before))

            close = tg.group_text(
                GROUP, "/close", COUNSELLOR, thread_id=thread, message_id=5000 + i
            )
            await telegram.push(close)
            await telegram.wait_sent(child, 4)  # claimed, then the assistant is back
    finally:
        if gateway.alive:
            gateway.stop()
        await telegram.stop()
        stop(rasa, actions)

    pace = f"one every {every:g} s" if every else "one after another, no pause"
    print(f"\nHandoff on this machine, {count} handoffs, {pace} (seconds)\n")
    print("| step | p50 | p95 | max |")
    print("|---|---|---|---|")
    for name, values in (
        ("child's /human → ticket card in its staff topic", opened),
        ("child's message → copied to the staff topic", to_staff),
        ("counsellor's message → copied to the child", to_child),
    ):
        print(
            f"| {name} | {percentile(values, 0.5):.3f} | {percentile(values, 0.95):.3f} "
            f"| {max(values):.3f} |"
        )
    print(f"\nmean ticket opening {statistics.mean(opened):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--handoffs", type=int, default=50)
    parser.add_argument("--every", type=float, default=6.0, help="seconds between children")
    args = parser.parse_args()
    model = os.environ.get("LANTERN_MODEL")
    if not model or not Path(model).exists():
        print("LANTERN_MODEL must name a trained model (run `make bench-handoff`)")
        return 2
    asyncio.run(run(args.handoffs, args.every, model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
