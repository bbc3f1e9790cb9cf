"""A child handed to a counsellor and back, through the gateway, the real Rasa and the fake Bot API.

One child, two staff members (901, 902) and one outsider (666) in the cases
below; the staff group (-100999) has topics unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from catalogue import default_catalogue, staff_catalogue
from catalogue.content import default_content
from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import (
    RASA_TOKEN,
    Gateway,
    RasaStack,
    free_port,
    rasa_with_failing_actions,
    start_actions,
    start_rasa,
    stop,
    tracker_of,
    wait_http,
    write_endpoints,
)
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
CAT = default_catalogue()
STAFF = staff_catalogue()
CONTENT = default_content()
GROUP = -100999
COUNSELLOR, COLLEAGUE, OUTSIDER = 901, 902, 666


def first_emergency_line() -> str:
    answer = CONTENT.answer("emergency", "en", None)
    assert answer is not None
    return str(CONTENT.messages(answer, CAT)[0]["text"]).splitlines()[0]


def group_messages(telegram: FakeTelegram, thread: int | None = None) -> list[dict[str, Any]]:
    sent = telegram.sent(GROUP)
    if thread is None:
        return sent
    return [m for m in sent if int(m.get("message_thread_id") or 0) == thread]


def copies_to(telegram: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    return [p for p in telegram.called("copyMessage") if int(p["chat_id"]) == chat_id]


async def open_ticket(telegram: FakeTelegram, child: int, first: str = "hello") -> int:
    """The child greets, then asks for a person with /human; returns the topic's thread ID."""
    await telegram.push(tg.text(child, first))
    await telegram.wait_sent(child, 1)
    topics_before = len(telegram.called("createForumTopic"))
    await telegram.push(tg.text(child, "/human"))
    await telegram.wait_for(lambda: len(telegram.called("createForumTopic")) > topics_before)
    await telegram.wait_for(
        lambda: any("Last turns" in m["text"] for m in group_messages(telegram))
    )
    cards = [m for m in group_messages(telegram) if "Last turns" in m["text"]]
    return int(cards[-1]["message_thread_id"])


@pytest.fixture
def staffed(telegram: FakeTelegram) -> FakeTelegram:
    telegram.members.update({COUNSELLOR, COLLEAGUE})
    return telegram


async def test_the_full_cycle_from_request_to_rating(
    staffed: FakeTelegram, gateway: Gateway
) -> None:
    telegram, child = staffed, 7001
    thread = await open_ticket(telegram, child, first="<b>hi</b> & <i>hello</i>")

    # the child is told, in their language, that a person will answer and how long it takes
    sent = await telegram.wait_sent(child, 3)
    assert sent[1]["text"] == CAT.text("utter_handoff_requested", "en")
    assert sent[2]["text"] == CAT.text("handoff.waiting", "en", {"minutes": 5})
    end_button = sent[2]["reply_markup"]["inline_keyboard"][0][0]
    assert end_button["callback_data"] == "/end_handoff"

    # the topic is titled with a pseudonymous case ID; the card escapes the child's words
    title = telegram.called("createForumTopic")[-1]["name"]
    assert title.startswith("#") and "· en ·" in title
    card = next(m for m in group_messages(telegram, thread) if "Last turns" in m["text"])
    assert card["parse_mode"] == "HTML"
    assert "&lt;b&gt;hi&lt;/b&gt; &amp; &lt;i&gt;hello&lt;/i&gt;" in card["text"]
    assert "<b>hi</b>" not in card["text"]
    assert "Child" not in card["text"]  # the child's Telegram name is never shown
    buttons = [b["callback_data"] for b in card["reply_markup"]["inline_keyboard"][0]]
    assert buttons[0].startswith("hl:claim:") and buttons[1].startswith("hl:close:")

    # while the ticket is open, the child's messages go to the staff, not to the assistant
    await telegram.push(tg.text(child, "are you there?"))
    await telegram.push(tg.attachment(child, "photo"))
    await telegram.wait_for(lambda: len(copies_to(telegram, GROUP)) >= 2)
    assert all(int(c["message_thread_id"]) == thread for c in copies_to(telegram, GROUP))
    await asyncio.sleep(1)
    assert len(telegram.sent(child)) == 3

    # an outsider's command is ignored; a counsellor claims
    await telegram.push(tg.group_text(GROUP, "/claim", OUTSIDER, thread_id=thread, message_id=50))
    await telegram.push(tg.group_text(GROUP, "/claim", COUNSELLOR, thread_id=thread, message_id=51))
    sent = await telegram.wait_sent(child, 4)
    assert sent[3]["text"] == CAT.text("handoff.claimed", "en")
    await telegram.wait_for(lambda: bool(telegram.called("editForumTopic")))
    renamed = telegram.called("editForumTopic")
    assert len(renamed) == 1 and renamed[0]["name"].endswith("✋ Staff901")

    # the counsellor's reply is copied to the child (no name); a note is not
    await telegram.push(
        tg.group_text(GROUP, "hello, I am here", COUNSELLOR, thread_id=thread, message_id=52)
    )
    await telegram.push(
        tg.group_text(GROUP, "/note seems scared", COLLEAGUE, thread_id=thread, message_id=53)
    )
    await telegram.wait_for(lambda: len(copies_to(telegram, child)) >= 1)
    await telegram.wait_for(
        lambda: any("Internal note" in m["text"] for m in group_messages(telegram, thread))
    )
    copies = copies_to(telegram, child)
    assert len(copies) == 1 and int(copies[0]["message_id"]) == 52
    assert int(copies[0]["from_chat_id"]) == GROUP and copies[0]["protect_content"]

    # a counsellor may sign with an alias they choose; their Telegram name never shows
    await telegram.push(tg.group_text(GROUP, "/alias Amina", COLLEAGUE, message_id=57))
    await telegram.wait_for(lambda: any("Amina" in m["text"] for m in group_messages(telegram)))
    await telegram.push(
        tg.group_text(GROUP, "I am here too", COLLEAGUE, thread_id=thread, message_id=58)
    )
    sent = await telegram.wait_sent(child, 5)
    assert sent[4]["text"] == "I am here too\n\n" + CAT.text(
        "handoff.signature", "en", {"alias": "Amina"}
    )
    assert "Staff902" not in sent[4]["text"]

    # /queue in the general topic lists the open ticket
    await telegram.push(tg.group_text(GROUP, "/queue", COLLEAGUE, message_id=54))
    await telegram.wait_for(lambda: any("claimed ·" in m["text"] for m in group_messages(telegram)))

    # /close: the assistant is back, the child can rate, the topic is closed
    await telegram.push(tg.group_text(GROUP, "/close", COUNSELLOR, thread_id=thread, message_id=55))
    sent = await telegram.wait_sent(child, 6)
    assert sent[5]["text"] == CAT.text("utter_handoff_ended", "en")
    rating = [b["callback_data"] for row in sent[5]["reply_markup"]["inline_keyboard"] for b in row]
    assert '/rate_handoff{"rating":"yes"}' in rating
    await telegram.wait_for(lambda: bool(telegram.called("closeForumTopic")))
    assert telegram.called("editForumTopic")[-1]["name"].startswith("✓ #")

    await telegram.push(tg.button(child, '/rate_handoff{"rating":"yes"}'))
    sent = await telegram.wait_sent(child, 7)
    assert sent[6]["text"] == CAT.text("utter_rating_thanks", "en")
    await telegram.push(tg.text(child, "hello"))
    sent = await telegram.wait_sent(child, 8)
    assert sent[7]["text"] == CAT.text("utter_greet", "en")

    await telegram.push(tg.group_text(GROUP, "/stats", COLLEAGUE, message_id=56))
    await telegram.wait_for(
        lambda: any(m["text"].startswith("Today: 1 opened") for m in group_messages(telegram))
    )
    assert "staff.ignored" in gateway.logs()


async def test_the_child_ends_the_chat_with_a_button(
    staffed: FakeTelegram, gateway: Gateway
) -> None:
    telegram, child = staffed, 7002
    thread = await open_ticket(telegram, child)
    await telegram.wait_sent(child, 3)
    await telegram.push(tg.button(child, "/end_handoff"))
    sent = await telegram.wait_sent(child, 4)
    assert sent[3]["text"] == CAT.text("utter_handoff_ended", "en")
    await telegram.wait_for(
        lambda: any(
            "The child ended the chat" in m["text"] for m in group_messages(telegram, thread)
        )
    )


async def test_danger_while_waiting_for_a_person_shows_the_card_first_and_alerts_staff(
    staffed: FakeTelegram, gateway: Gateway
) -> None:
    """Rasa is paused while a person has the conversation; danger still wins."""
    telegram, child = staffed, 7009
    thread = await open_ticket(telegram, child)
    await telegram.wait_sent(child, 3)
    assert not telegram.called("pinChatMessage")  # an ordinary request
    await telegram.push(tg.text(child, "the man from the flat is here and he has a knife"))

    answer = CONTENT.answer("emergency", "en", None)
    assert answer is not None
    emergency_card = CONTENT.messages(answer, CAT)[0]["text"]
    sent = await telegram.wait_sent(child, 4)
    assert sent[3]["text"] == emergency_card
    assert str(sent[3].get("protect_content")).lower() == "true"
    await telegram.wait_for(lambda: bool(telegram.called("pinChatMessage")))
    await telegram.wait_for(
        lambda: any("URGENT now" in m["text"] for m in group_messages(telegram, thread))
    )
    await telegram.wait_for(lambda: bool(copies_to(telegram, GROUP)))
    # the card reached the child before their words reached the staff
    methods = [
        c.method
        for c in telegram.calls
        if c.method == "copyMessage" or c.params.get("text") == emergency_card
    ]
    assert methods == ["sendMessage", "copyMessage"]
    assert "URGENT" in telegram.called("editForumTopic")[-1]["name"]


async def test_out_of_hours_the_child_is_told_when_and_gets_the_numbers(
    staffed: FakeTelegram, rasa_stack: RasaStack, gateway_factory: Callable[..., Gateway]
) -> None:
    telegram, child = staffed, 7003
    tomorrow = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    day = tomorrow.strftime("%a")
    hours = f"{day} 09:00-17:00 UTC"
    gateway_factory(telegram.url, rasa_stack.url, HELPLINE_HOURS=hours).start()
    thread = await open_ticket(telegram, child)
    sent = await telegram.wait_sent(child, 4)
    opens = f"{tomorrow.strftime('%A')} 09:00"
    assert sent[2]["text"] == CAT.text("handoff.closed_now", "en", {"opens": opens})
    assert sent[3]["text"].startswith(first_emergency_line())  # the sourced emergency answer
    card = next(m for m in group_messages(telegram, thread) if "Last turns" in m["text"])
    assert STAFF.text("staff.out_of_hours", "en") in card["text"]


async def test_a_child_who_blocked_the_bot_is_reported_to_staff(
    staffed: FakeTelegram, gateway: Gateway
) -> None:
    telegram, child = staffed, 7004
    thread = await open_ticket(telegram, child)
    await telegram.wait_sent(child, 3)
    telegram.blocked.add(child)
    await telegram.push(
        tg.group_text(GROUP, "are you ok?", COUNSELLOR, thread_id=thread, message_id=70)
    )
    await telegram.wait_for(
        lambda: any("blocked the bot" in m["text"] for m in group_messages(telegram, thread))
    )
    assert gateway.alive


async def test_a_restart_in_the_middle_loses_nothing(
    staffed: FakeTelegram, rasa_stack: RasaStack, gateway_factory: Callable[..., Gateway]
) -> None:
    telegram, child = staffed, 7005
    first = gateway_factory(telegram.url, rasa_stack.url).start()
    thread = await open_ticket(telegram, child)
    await telegram.wait_sent(child, 3)
    assert first.stop() == 0

    # written while the gateway is down: relayed after the restart, both ways
    await telegram.push(tg.text(child, "still there?"))
    await telegram.push(
        tg.group_text(GROUP, "yes, here", COUNSELLOR, thread_id=thread, message_id=80)
    )
    gateway_factory(telegram.url, rasa_stack.url).start()
    await telegram.wait_for(lambda: len(copies_to(telegram, GROUP)) >= 1)
    await telegram.wait_for(lambda: len(copies_to(telegram, child)) >= 1)
    assert int(copies_to(telegram, GROUP)[0]["message_thread_id"]) == thread
    await telegram.push(tg.group_text(GROUP, "/close", COUNSELLOR, thread_id=thread, message_id=81))
    sent = await telegram.wait_sent(child, 5)
    assert sent[-1]["text"] == CAT.text("utter_handoff_ended", "en")


async def test_without_topics_each_ticket_is_a_card_staff_reply_to(
    staffed: FakeTelegram, gateway: Gateway
) -> None:
    telegram, child = staffed, 7006
    telegram.forum = False
    await telegram.push(tg.text(child, "/human"))
    await telegram.wait_for(
        lambda: any("Last turns" in m["text"] for m in group_messages(telegram))
    )
    card = next(m for m in group_messages(telegram) if "Last turns" in m["text"])
    assert "message_thread_id" not in card and not telegram.called("createForumTopic")
    # the child's messages are copied as replies to the card; staff reply to them
    await telegram.push(tg.text(child, "hello?"))
    await telegram.wait_for(lambda: len(copies_to(telegram, GROUP)) >= 1)
    reply_to = int(copies_to(telegram, GROUP)[0]["reply_parameters"]["message_id"])
    card_call = next(c for c in telegram.calls if c.params is card)
    assert reply_to == card_call.result["message_id"]
    await telegram.push(
        tg.group_text(GROUP, "hi, I am a counsellor", COUNSELLOR, reply_to=reply_to, message_id=90)
    )
    await telegram.wait_for(lambda: len(copies_to(telegram, child)) >= 1)


async def test_twenty_children_at_once_each_get_their_own_topic(
    staffed: FakeTelegram, gateway: Gateway
) -> None:
    telegram = staffed
    children = list(range(7100, 7120))
    await asyncio.gather(*(telegram.push(tg.text(c, "/human")) for c in children))
    await telegram.wait_for(lambda: len(telegram.called("createForumTopic")) >= 20, timeout=90)
    await asyncio.gather(*(telegram.wait_sent(c, 2, timeout=90) for c in children))
    titles = [p["name"] for p in telegram.called("createForumTopic")]
    assert len(set(titles)) == 20
    await asyncio.sleep(1)
    assert len(telegram.called("createForumTopic")) == 20


async def test_an_unclaimed_ticket_is_announced_again_and_the_child_told_we_still_look(
    staffed: FakeTelegram, rasa_stack: RasaStack, gateway_factory: Callable[..., Gateway]
) -> None:
    telegram, child = staffed, 7007
    gateway_factory(
        telegram.url, rasa_stack.url, HELPLINE_REMIND_MINUTES="0.03", HELPLINE_NUDGE_MINUTES="0.05"
    ).start()
    await open_ticket(telegram, child)
    await telegram.wait_for(
        lambda: any(m["text"].startswith("⏰") for m in group_messages(telegram))
    )
    sent = await telegram.wait_sent(child, 4)
    assert sent[3]["text"] == CAT.text("handoff.still_looking", "en")
    await asyncio.sleep(4)
    assert len(telegram.sent(child)) == 4  # told once, not every round


async def test_rasa_and_the_action_server_restarting_mid_handoff_lose_nothing(
    staffed: FakeTelegram,
    model: str,
    tmp_path: Path,
    gateway_factory: Callable[..., Gateway],
) -> None:
    telegram, child = staffed, 7008
    rasa_port, action_port = free_port(), free_port()
    endpoints = write_endpoints(tmp_path, action_port)  # the same tracker file across restarts

    def up() -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
        actions = start_actions(action_port, tmp_path / "actions.log")
        rasa = start_rasa(model, endpoints, rasa_port, tmp_path / "rasa.log")
        wait_http(f"http://127.0.0.1:{action_port}/health", 120, actions)
        wait_http(f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", 180, rasa)
        return actions, rasa

    actions, rasa = up()
    gateway_factory(telegram.url, f"http://127.0.0.1:{rasa_port}", RASA_RETRY_SECONDS="180").start()
    try:
        thread = await open_ticket(telegram, child)
        await telegram.wait_sent(child, 3)
        stop(rasa, actions)

        # with Rasa down, the relay goes on, and closing waits for Rasa to come back
        await telegram.push(tg.text(child, "hello? are you still there"))
        await telegram.wait_for(lambda: len(copies_to(telegram, GROUP)) >= 1)
        await telegram.push(
            tg.group_text(GROUP, "/close", COUNSELLOR, thread_id=thread, message_id=95)
        )
        await asyncio.sleep(2)
        actions, rasa = await asyncio.to_thread(up)
        sent = await telegram.wait_sent(child, 4, timeout=90)
        assert sent[3]["text"] == CAT.text("utter_handoff_ended", "en")
        await telegram.push(tg.text(child, "thank you"))
        sent = await telegram.wait_sent(child, 5)
        assert sent[4]["text"] == CAT.text("utter_thank", "en")
    finally:
        stop(rasa, actions)


async def test_an_action_failing_as_the_assistant_comes_back_does_not_lose_the_message(
    staffed: FakeTelegram,
    model: str,
    tmp_path: Path,
    gateway_factory: Callable[..., Gateway],
) -> None:
    """The "assistant is back" turn is run again when an action fails in it; the resume
    itself is not repeated."""
    telegram, child = staffed, 7009
    failing = False

    def fail_once(request: web.Request) -> bool:
        nonlocal failing
        if request.path != "/webhook" or not failing:
            return False  # health probes and the turns before the hand-back pass
        failing = False
        return True

    async with rasa_with_failing_actions(model, tmp_path, fail_once) as rasa_url:
        gateway_factory(telegram.url, rasa_url).start()
        thread = await open_ticket(telegram, child)
        await telegram.wait_sent(child, 3)
        failing = True  # the next action call, in the hand-back's turn, fails
        await telegram.push(
            tg.group_text(GROUP, "/close", COUNSELLOR, thread_id=thread, message_id=96)
        )
        sent = await telegram.wait_sent(child, 4, timeout=60)
        assert not failing, "an action call of the hand-back failed"
        assert sent[3]["text"] == CAT.text("utter_handoff_ended", "en")
        await telegram.push(tg.text(child, "thank you"))
        sent = await telegram.wait_sent(child, 5)
        assert sent[4]["text"] == CAT.text("utter_thank", "en")
        tracker = await tracker_of(rasa_url, child)
        assert sum(e["event"] == "resume" for e in tracker["events"]) == 1
