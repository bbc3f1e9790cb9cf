"""/hide, /forget and /privacy through the gateway, the real Rasa and the fake Bot API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy import text as sql

from bot.logs import Pseudonyms
from catalogue import default_catalogue
from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import PSEUDONYM_KEY, Gateway, RasaStack, StubRasa
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
CAT = default_catalogue()
GROUP = -100999


async def test_hide_deletes_both_sides_and_its_own_confirmation(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    chat = 9001
    pushed = []
    notice = CAT.text("gateway.privacy_notice", "en", {"days": 30})
    for text, last in (("hello", notice), ("where can i sleep tonight", "Checked")):
        update = await telegram.push(tg.text(chat, text))
        pushed.append(update["message"]["message_id"])
        await telegram.wait_last(chat, last)
    bot_ids = [
        c.result["message_id"]
        for c in telegram.calls
        if c.method == "sendMessage" and c.ok and int(c.params["chat_id"]) == chat
    ]
    hide = await telegram.push(tg.text(chat, "/hide"))

    await telegram.wait_for(lambda: bool(telegram.called("deleteMessages")))
    deleted = {int(i) for call in telegram.called("deleteMessages") for i in call["message_ids"]}
    assert set(pushed) | set(bot_ids) | {hide["message"]["message_id"]} <= deleted
    sent = await telegram.wait_sent(chat, len(bot_ids) + 1, notices=True)
    mark = sent[-1]
    assert mark["text"] == "✓"  # neutral: says nothing about what was there
    await telegram.wait_for(lambda: bool(telegram.called("deleteMessage")), timeout=15)

    # a second /hide finds nothing left to delete but the new command itself
    before = len(telegram.called("deleteMessages"))
    again = await telegram.push(tg.text(chat, "/hide"))
    await telegram.wait_for(lambda: len(telegram.called("deleteMessages")) > before)
    last = telegram.called("deleteMessages")[-1]["message_ids"]
    assert [int(i) for i in last] == [again["message"]["message_id"]]


# -- /forget ----------------------------------------------------------------------

CHILD = 7_341_902_655  # long enough that no timestamp or counter contains it by chance
SECRET = "zebra-4711 my uncle keeps my passport"
PSEUDONYMS = Pseudonyms(PSEUDONYM_KEY.encode())


def rows_mentioning(url: str, needles: list[str]) -> list[tuple[str, str]]:
    """Every row of every table of a database whose text contains one of ``needles``."""
    engine = create_engine(url)
    found: list[tuple[str, str]] = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(sql(f'SELECT * FROM "{table}"')):  # noqa: S608
                    cells = " ".join(str(value) for value in row)
                    found += [(table, n) for n in needles if n in cells]
    finally:
        engine.dispose()
    return found


def logged_chats(gateway: Gateway, skip: int = 0) -> set[str]:
    """The chat references the gateway's log lines carry, after the first ``skip`` lines."""
    lines = gateway.logs().splitlines()[skip:]
    entries = (json.loads(line) for line in lines if line.startswith("{"))
    return {str(entry["chat"]) for entry in entries if entry.get("chat")}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_forget_erases_the_child_from_every_store(
    backend: str,
    telegram: FakeTelegram,
    request: pytest.FixtureRequest,
    gateway_factory: Callable[..., Gateway],
    tmp_path: Path,
) -> None:
    if backend == "sqlite":
        stack: RasaStack = request.getfixturevalue("rasa_stack")
        gateway_db = f"sqlite:///{tmp_path}/gateway.db"
    else:
        stack = request.getfixturevalue("rasa_stack_postgres")
        gateway_db = stack.tracker_db  # the same schema: one scan sees both
    gateway = gateway_factory(telegram.url, stack.url, DATABASE_URL=gateway_db).start()
    telegram.members.add(901)
    sender = PSEUDONYMS.sender("telegram", CHILD)
    needles = [str(CHILD), sender, sender[:12], "zebra-4711"]

    await telegram.push(tg.text(CHILD, "hello"))
    await telegram.wait_sent(CHILD, 1)
    await telegram.push(tg.text(CHILD, "/human"))
    await telegram.wait_for(lambda: bool(telegram.called("createForumTopic")))
    await telegram.push(tg.text(CHILD, SECRET))
    await telegram.wait_for(lambda: bool(telegram.called("copyMessage")))
    stored = rows_mentioning(stack.tracker_db, needles) + rows_mentioning(gateway_db, needles)
    assert {table for table, _ in stored} >= {
        "events",
        "helpline_tickets",
        "gateway_messages",
        "gateway_log_salts",
    }
    before_forget = logged_chats(gateway)
    assert before_forget and not before_forget & {sender, sender[:12]}

    before = len(telegram.sent(CHILD, notices=True))
    await telegram.push(tg.text(CHILD, "/forget"))
    confirm = (await telegram.wait_sent(CHILD, before + 1, notices=True))[-1]
    assert confirm["text"] == CAT.text("gateway.forget_confirm", "en")
    assert confirm["protect_content"] in (True, "true", "True")
    confirm_id = [
        c.result["message_id"]
        for c in telegram.calls
        if c.method == "sendMessage" and c.ok and int(c.params["chat_id"]) == CHILD
    ][-1]
    await telegram.push(tg.button(CHILD, "pv:forget"))
    await telegram.wait_last(CHILD, CAT.text("gateway.forgotten", "en"))

    assert telegram.called("deleteForumTopic")
    assert any("/forget" in m["text"] for m in telegram.sent(GROUP))  # staff are told
    deleted = {int(i) for c in telegram.called("deleteMessages") for i in c["message_ids"]}
    assert confirm_id in deleted  # the phone's copy went too
    await asyncio.sleep(0.5)  # the update's own bookkeeping ends after the last reply
    assert rows_mentioning(stack.tracker_db, needles) == []
    assert rows_mentioning(gateway_db, needles) == []
    # the case is still counted, anonymously
    engine = create_engine(gateway_db)
    with engine.connect() as conn:
        assert conn.execute(sql("SELECT count(*) FROM helpline_tickets")).scalar_one() >= 1
    engine.dispose()

    # the child can start again: a new conversation, with the privacy notice again
    seen = len(gateway.logs().splitlines())
    await telegram.push(tg.text(CHILD, "hello"))
    await telegram.wait_last(CHILD, CAT.text("gateway.privacy_notice", "en", {"days": 30}))
    # and the logs name the new conversation so that nothing ties it to the old one
    await asyncio.sleep(0.5)
    after_forget = logged_chats(gateway, skip=seen)
    assert after_forget and after_forget.isdisjoint(before_forget)


async def test_keep_erases_nothing_and_privacy_repeats_the_notice(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    chat = 9002
    await telegram.push(tg.text(chat, "hello"))
    sent = await telegram.wait_sent(chat, 2, notices=True)
    notice = CAT.text("gateway.privacy_notice", "en", {"days": 30})
    assert sent[-1]["text"] == notice and len(notice.splitlines()) <= 3  # first contact
    await telegram.push(tg.text(chat, "/forget"))
    await telegram.wait_sent(chat, len(sent) + 1, notices=True)
    await telegram.push(tg.button(chat, "pv:keep"))
    await telegram.wait_for(lambda: bool(telegram.called("editMessageText")))
    assert telegram.called("editMessageText")[-1]["text"] == CAT.text("gateway.forget_kept", "en")
    assert not telegram.called("deleteMessages")

    await telegram.push(tg.text(chat, "/privacy"))
    await telegram.wait_last(chat, notice)
    await telegram.push(tg.text(chat, "where can i sleep"))
    replies = await telegram.wait_sent(chat, len(sent) + 3, notices=True)
    assert notice not in [m["text"] for m in replies[len(sent) + 2 :]]  # shown once only


async def test_forget_while_rasa_cannot_erase_touches_nothing(
    telegram: FakeTelegram, gateway_factory: Callable[..., Gateway]
) -> None:
    rasa = StubRasa()  # answers messages, but has no erasure endpoint
    await rasa.start()
    try:
        gateway_factory(telegram.url, rasa.url, RASA_RETRY_SECONDS="1").start()
        chat = 9003
        await telegram.push(tg.text(chat, "hello"))
        await telegram.wait_sent(chat, 1)
        await telegram.push(tg.text(chat, "/forget"))
        await telegram.wait_sent(chat, 2)
        await telegram.push(tg.button(chat, "pv:forget"))
        await telegram.wait_last(chat, CAT.text("gateway.forget_failed", "en"))
        assert not telegram.called("deleteMessages")
    finally:
        await rasa.stop()
