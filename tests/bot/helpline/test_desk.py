"""The desk: what it accepts from the assistant, and how it behaves against the Bot API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from telegram import Message
from telegram.ext import ExtBot

from bot.gateway import MessageRateLimiter
from bot.helpline.desk import TURN_CHARS, TURNS_ON_CARD, Desk, HandoffRequest
from bot.helpline.store import CLOSED, Ticket, TicketStore
from bot.logs import Pseudonyms
from bot.metrics import Metrics
from bot.rasa_client import RasaUnavailable, Reply
from bot.settings import Settings
from catalogue import default_catalogue, staff_catalogue
from catalogue.content import default_content
from tests.e2e import fake_telegram as tg
from tests.e2e.fake_telegram import FakeTelegram


def test_a_full_request_is_kept() -> None:
    request = HandoffRequest.parse(
        {
            "reason": "safety",
            "risk": "urgent",
            "language": "ti",
            "confidence": 0.88,
            "country": "IT",
            "topic": "emergency",
            "asked": "ሓገዝ",
            "turns": [{"who": "child", "text": "ሓገዝ"}, {"who": "bot", "text": "112"}],
        },
        "en",
    )
    assert request.risk == "urgent" and request.language == "ti" and request.confidence == 0.88
    assert request.turns == (("child", "ሓገዝ"), ("bot", "112"))


def test_odd_values_are_dropped_or_bounded() -> None:
    request = HandoffRequest.parse(
        {
            "risk": "<b>critical</b>",
            "language": None,
            "confidence": "high",
            "turns": [{"who": "staff", "text": "x"}, "junk", {"who": "child", "text": "y" * 5000}]
            + [{"who": "bot", "text": str(i)} for i in range(20)],
        },
        "fa",
    )
    assert request.risk == "normal" and request.reason == "asked"
    assert request.language == "fa" and request.confidence is None
    assert len(request.turns) == TURNS_ON_CARD
    assert all(len(text) <= TURN_CHARS for _, text in request.turns)


# -- the desk against the fake Bot API server (no Rasa needed) -----------------

TOKEN = "123456:DESK-token-not-real"
GROUP = -100999


class NoRasa:
    """Resume is not reached in most of these tests; it must not be called."""

    async def resume(self, sender: str) -> None:
        raise AssertionError("resume called")

    async def trigger(self, sender: str, intent: str) -> list[Reply]:
        raise AssertionError("trigger called")


class FlakyRasa:
    """Rasa whose "assistant is back" turn fails once (a custom action failed)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def resume(self, sender: str) -> None:
        self.calls.append("resume")

    async def trigger(self, sender: str, intent: str) -> list[Reply]:
        self.calls.append(intent)
        if self.calls.count(intent) == 1:
            raise RasaUnavailable("HTTP 500")
        return [Reply(text="back")]


class ParsingRasa:
    """Rasa's NLU as /model/parse answers, with a safety verdict for some words."""

    def __init__(self, verdicts: dict[str, dict[str, Any] | None]) -> None:
        self.verdicts = verdicts
        self.parsed: list[str] = []

    async def parse(self, text: str) -> dict[str, Any]:
        self.parsed.append(text)
        if text == "rasa is down":
            raise RasaUnavailable("ClientConnectorError")
        safety = self.verdicts.get(text)
        return {"text": text, **({"safety": safety} if safety else {})}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def desk(telegram: FakeTelegram, engine: Engine) -> AsyncIterator[tuple[Desk, list[Any]]]:
    bot = ExtBot(
        TOKEN,
        base_url=f"{telegram.url}/bot",
        rate_limiter=MessageRateLimiter(Metrics(), 30.0, max_retries=5),
    )
    await bot.initialize()
    delivered: list[Any] = []

    async def deliver(chat_id: int, replies: Any) -> None:
        delivered.append((chat_id, [r.text for r in replies]))

    async def remember(chat_id: int, message_id: int) -> None:
        """Message IDs are the gateway's business; nothing to note here."""

    settings = Settings.from_env({"PSEUDONYM_KEY": "k" * 16, "HELPLINE_CHAT_ID": str(GROUP)})
    yield (
        Desk(
            bot,
            settings,
            TicketStore(engine),
            NoRasa(),  # type: ignore[arg-type]
            Pseudonyms(b"k" * 16),
            default_catalogue(),
            staff_catalogue(),
            default_content(),
            deliver,
            remember,
        ),
        delivered,
    )
    await bot.shutdown()


def child_message(bot: Any, chat_id: int, message_id: int) -> Message:
    data = tg.text(chat_id, "help")["message"]
    data["message_id"] = message_id
    message = Message.de_json(data, bot)
    assert message is not None
    return message


async def opened(
    service: Desk, chat_id: int, sender: str, data: dict[str, Any], language: str
) -> Ticket:
    """Open a ticket for a child, as the assistant's handoff does, and return it."""
    await service.open(chat_id, sender, data, language)
    ticket = await service.open_ticket_for(chat_id)
    assert ticket is not None
    return ticket


async def test_an_urgent_ticket_is_pinned(
    telegram: FakeTelegram, desk: tuple[Desk, list[Any]]
) -> None:
    service, delivered = desk
    await service.open(21, "sender", {"risk": "urgent", "reason": "safety"}, "ti")
    card = telegram.called("sendMessage")[0]
    assert "URGENT" in card["text"] and "URGENT" in telegram.called("createForumTopic")[0]["name"]
    assert telegram.called("pinChatMessage")
    assert delivered and delivered[0][0] == 21


async def test_a_relay_survives_telegram_errors_and_is_never_sent_twice(
    telegram: FakeTelegram, desk: tuple[Desk, list[Any]]
) -> None:
    service, _ = desk
    ticket = await opened(service, 22, "sender", {}, "en")
    telegram.fail("copyMessage", status=502, retry_after=None, times=2)  # Telegram 5xx
    message = child_message(service.bot, 22, 1)
    await service.from_child(ticket, message)
    telegram.fail("copyMessage", status=429, retry_after=1, times=1)  # flood control
    await service.from_child(ticket, child_message(service.bot, 22, 2))
    await service.from_child(ticket, message)  # the same message again, as after a restart
    assert len(telegram.called("copyMessage")) == 2


async def test_forget_deletes_the_staff_copy_and_tells_staff_of_an_open_case(
    telegram: FakeTelegram, desk: tuple[Desk, list[Any]]
) -> None:
    service, _ = desk
    ticket = await opened(service, 23, "forgetful", {"risk": "urgent", "reason": "safety"}, "ps")
    assert ticket.thread_id is not None

    assert await service.forget("forgetful") == 1

    assert int(telegram.called("deleteForumTopic")[0]["message_thread_id"]) == ticket.thread_id
    note = telegram.called("sendMessage")[-1]
    assert f"#{ticket.case_id}" in note["text"] and "URGENT" in note["text"]
    assert "message_thread_id" not in note  # in the general topic: the case topic is gone
    assert await service.open_ticket_for(23) is None
    assert await service.forget("forgetful") == 0


async def test_without_topics_the_card_and_copies_are_deleted_and_old_cases_expire(
    telegram: FakeTelegram, desk: tuple[Desk, list[Any]]
) -> None:
    telegram.forum = False
    service, _ = desk
    ticket = await opened(service, 24, "quiet", {}, "fa")
    assert ticket.thread_id is None
    await service.from_child(ticket, child_message(service.bot, 24, 5))
    copy = telegram.called("copyMessage")[0]
    await service.db(service.store.close, ticket.id)
    assert copy  # the child's message reached the group

    assert await service.expire(before=time.time() + 1) == 1

    deleted = {int(i) for c in telegram.called("deleteMessages") for i in c["message_ids"]}
    assert ticket.card_message_id in deleted and len(deleted) == 2
    assert await service.expire(before=time.time() + 1) == 0


async def test_a_failed_hand_back_turn_is_run_again_without_resuming_twice(
    desk: tuple[Desk, list[Any]],
) -> None:
    service, _ = desk
    rasa = FlakyRasa()
    service.rasa = rasa  # type: ignore[assignment]
    ticket = Ticket(
        id=1, case_id="c1", chat_id=21, sender="sender", language="en", country=None,
        topic=None, reason="asked", risk="normal", state=CLOSED, thread_id=None,
        card_message_id=None, staff_id=None, created_at=0.0, claimed_at=None,
        closed_at=None, reminded_at=None, child_nudged=False,
    )  # fmt: skip
    replies = await service._resume(ticket, trigger="handoff_ended")
    assert [r.text for r in replies] == ["back"]
    assert rasa.calls == ["resume", "handoff_ended", "handoff_ended"]


async def test_danger_while_a_ticket_is_open_shows_the_card_first_and_makes_it_urgent(
    telegram: FakeTelegram, desk: tuple[Desk, list[Any]]
) -> None:
    service, delivered = desk
    rasa = ParsingRasa(
        {
            "he is at the door with a knife": {"source": "lexicon", "category": "emergency"},
            "i am not sure": {"source": "check", "category": "report_abuse", "danger": 0.6},
        }
    )
    service.rasa = rasa  # type: ignore[assignment]
    ticket = await opened(service, 25, "waiting", {"country": "IT"}, "en")
    assert not ticket.urgent
    delivered.clear()
    # neither an ordinary message, nor one only worth "are you safe?", nor a Rasa that
    # cannot answer changes anything
    for text in ("when will someone come", "i am not sure", "rasa is down"):
        await service.check_danger(ticket, text)
    assert delivered == [] and not telegram.called("pinChatMessage")
    # spaces only are not even parsed
    await service.check_danger(ticket, "\u00a0 \u3000")
    assert rasa.parsed == ["when will someone come", "i am not sure", "rasa is down"]

    await service.check_danger(ticket, "he is at the door with a knife")

    card = service._card_for(ticket, "emergency")
    assert card is not None and "112" in card
    assert delivered == [(25, [card])]  # the child's country's card
    ticket = await service.open_ticket_for(25)
    assert ticket is not None and ticket.urgent
    line = telegram.called("sendMessage")[-1]
    assert f"#{ticket.case_id}" in line["text"] and "URGENT" in line["text"]
    assert int(line["message_thread_id"]) == ticket.thread_id
    assert int(telegram.called("pinChatMessage")[0]["message_id"]) == ticket.card_message_id
    assert "URGENT" in telegram.called("editForumTopic")[-1]["name"]
    # urgent now: the person reads on, nothing is parsed or shown again
    await service.check_danger(ticket, "he is at the door with a knife")
    assert len(delivered) == 1 and rasa.parsed.count("he is at the door with a knife") == 1


async def test_distress_while_a_ticket_is_open_gets_the_distress_answer(
    desk: tuple[Desk, list[Any]],
) -> None:
    service, delivered = desk
    service.rasa = ParsingRasa(  # type: ignore[assignment]
        {"i want to die": {"source": "intent", "category": "feeling_distress"}}
    )
    ticket = await opened(service, 26, "sad", {}, "fr")
    delivered.clear()
    await service.check_danger(ticket, "i want to die")
    distress = service._card_for(ticket, "feeling_distress")
    assert distress is not None and distress != service._card_for(ticket, "emergency")
    assert delivered == [(26, [distress])]


async def test_the_sos_button_always_shows_the_card(
    telegram: FakeTelegram, desk: tuple[Desk, list[Any]]
) -> None:
    service, delivered = desk
    ticket = await opened(service, 27, "sos", {"risk": "urgent", "reason": "safety"}, "ar")
    delivered.clear()
    pins = len(telegram.called("pinChatMessage"))
    lines = len(telegram.called("sendMessage"))
    await service.danger(ticket, "emergency")  # urgent already: the card, no second alarm
    assert delivered == [(27, [service._card_for(ticket, "emergency")])]
    assert len(telegram.called("pinChatMessage")) == pins
    # a tap reaches no one else, so the staff read that the child asked again
    (line,) = telegram.called("sendMessage")[lines:]
    assert f"#{ticket.case_id}" in line["text"] and "again" in line["text"]
    assert int(line["message_thread_id"]) == ticket.thread_id
    # at most once a minute: a frightened child may tap many times
    await service.danger(ticket, "emergency")
    assert len(delivered) == 2 and len(telegram.called("sendMessage")) == lines + 1
