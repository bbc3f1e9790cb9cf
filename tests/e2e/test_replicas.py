"""The production profile with replicas: every child's messages once, in order.

Two action servers and two Rasa servers (PostgreSQL trackers, Redis locks),
each pair behind a round-robin balancer, and two gateways in webhook mode
behind a third. Telegram's way of delivering (one chat's updates one after
another, different chats at once) is played by the fake Bot API server; the
balancer spreads one child's messages over both gateways.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.logs import Pseudonyms
from tests.e2e import fake_telegram as tg
from tests.e2e.balancer import Balancer
from tests.e2e.conftest import (
    PRODUCTION_ENDPOINTS,
    PSEUDONYM_KEY,
    RASA_TOKEN,
    Gateway,
    free_port,
    fresh_schema,
    postgres_url,
    production_env,
    start_actions,
    start_rasa,
    stop,
    wait_http,
)
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

CHILDREN = 100
MESSAGES = 20
SECRET = "replica-test-secret"
# Ordinary questions, so no child is handed to a helpline this test has not got.
QUESTIONS = [
    "hi",
    "what are my rights",
    "how do i ask for asylum",
    "what is a guardian",
    "can i go to school",
    "where can i sleep tonight",
    "i need a doctor",
    "can i work here",
    "how can i find my family",
    "what papers do i need",
    "i am in Italy",
    "what happens when i turn 18",
    "can i get free legal help",
    "is there food",
    "what is age assessment",
    "what will the police do",
    "can i travel to germany",
    "thanks",
    "ok",
    "bye",
]


def tracker_texts(rasa_url: str, sender: str) -> list[str]:
    url = f"{rasa_url}/conversations/{sender}/tracker?token={RASA_TOKEN}"
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - local test URL
        events = json.load(r)["events"]
    return [e["text"] for e in events if e["event"] == "user"]


async def test_two_of_everything_lose_nothing_and_keep_each_childs_order(
    model: str,
    telegram: FakeTelegram,
    gateway_factory: Callable[..., Gateway],
    tmp_path: Path,
) -> None:
    with fresh_schema("replicas") as schema:
        action_ports = [free_port(), free_port()]
        actions = [start_actions(p, tmp_path / f"actions-{p}.log") for p in action_ports]
        action_lb = Balancer([f"http://127.0.0.1:{p}" for p in action_ports])
        await action_lb.start()
        env = production_env(schema, action_lb.url)
        rasa_ports = [free_port(), free_port()]
        rasas = [
            start_rasa(model, PRODUCTION_ENDPOINTS, p, tmp_path / f"rasa-{p}.log", **env)
            for p in rasa_ports
        ]
        rasa_lb = Balancer([f"http://127.0.0.1:{p}" for p in rasa_ports])
        await rasa_lb.start()
        hook_ports = [free_port(), free_port()]
        gateways = [
            gateway_factory(
                telegram.url,
                rasa_lb.url,
                DATABASE_URL=postgres_url(schema),
                TELEGRAM_WEBHOOK_URL="https://lantern.example/tg",
                TELEGRAM_WEBHOOK_SECRET=SECRET,
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
                HELPLINE_CHAT_ID="",
            ).start()
            for port in hook_ports
        ]
        hook_lb = Balancer([f"http://127.0.0.1:{p}" for p in hook_ports])
        await hook_lb.start()
        try:
            for port, proc in zip(action_ports, actions, strict=True):
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/health", 120, proc)
            for port, proc in zip(rasa_ports, rasas, strict=True):
                url = f"http://127.0.0.1:{port}/status?token={RASA_TOKEN}"
                await asyncio.to_thread(wait_http, url, 180, proc)
            for port, gw in zip(hook_ports, gateways, strict=True):
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz", 60, gw.proc)

            chats = [70_000 + n for n in range(CHILDREN)]
            # Message k of every child before message k+1 of any: fully interleaved.
            updates = [
                tg.text(chat, f"{QUESTIONS[(k + n) % MESSAGES]} #{k}")
                for k in range(MESSAGES)
                for n, chat in enumerate(chats)
            ]
            await telegram.deliver(f"{hook_lb.url}/tg", SECRET, updates)

            engine = create_engine(postgres_url(schema))
            try:

                def unfinished() -> int:
                    with engine.connect() as conn:
                        return int(
                            conn.execute(
                                text("SELECT count(*) FROM gateway_updates WHERE state <> 'done'")
                            ).scalar_one()
                        )

                await telegram.wait_for(lambda: unfinished() == 0, timeout=600)
            finally:
                engine.dispose()

            pseudonyms = Pseudonyms(PSEUDONYM_KEY.encode())
            for n, chat in enumerate(chats):
                sender = pseudonyms.sender("telegram", chat)
                expected = [f"{QUESTIONS[(k + n) % MESSAGES]} #{k}" for k in range(MESSAGES)]
                got = await asyncio.to_thread(tracker_texts, rasa_lb.url, sender)
                assert got == expected, f"child {n}: {got}"
                assert len(telegram.sent(chat)) >= MESSAGES  # at least one answer each
            # every tier really spread the work over both replicas
            for lb in (hook_lb, rasa_lb, action_lb):
                assert min(lb.counts) > 0, lb.counts
            for gw in gateways:
                assert "Traceback" not in gw.logs()
        finally:
            for gw in gateways:
                if gw.alive:
                    gw.stop()
            stop(*rasas, *actions)
            for lb in (hook_lb, rasa_lb, action_lb):
                await lb.stop()
