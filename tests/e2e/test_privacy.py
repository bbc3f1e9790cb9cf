"""/hide through the gateway: the conversation leaves the child's phone, both ways."""

from __future__ import annotations

import pytest

from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import Gateway
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e


async def test_hide_deletes_both_sides_and_its_own_confirmation(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    chat = 9001
    pushed = []
    for text in ("hello", "where can i sleep tonight"):
        update = await telegram.push(tg.text(chat, text))
        pushed.append(update["message"]["message_id"])
        await telegram.wait_sent(chat, len(pushed))
    bot_ids = [
        c.result["message_id"]
        for c in telegram.calls
        if c.method == "sendMessage" and c.ok and int(c.params["chat_id"]) == chat
    ]
    hide = await telegram.push(tg.text(chat, "/hide"))

    await telegram.wait_for(lambda: bool(telegram.called("deleteMessages")))
    deleted = {int(i) for call in telegram.called("deleteMessages") for i in call["message_ids"]}
    assert set(pushed) | set(bot_ids) | {hide["message"]["message_id"]} <= deleted
    sent = await telegram.wait_sent(chat, len(bot_ids) + 1)
    mark = sent[-1]
    assert mark["text"] == "✓"  # neutral: says nothing about what was there
    await telegram.wait_for(lambda: bool(telegram.called("deleteMessage")), timeout=15)

    # a second /hide finds nothing left to delete but the new command itself
    before = len(telegram.called("deleteMessages"))
    again = await telegram.push(tg.text(chat, "/hide"))
    await telegram.wait_for(lambda: len(telegram.called("deleteMessages")) > before)
    last = telegram.called("deleteMessages")[-1]["message_ids"]
    assert [int(i) for i in last] == [again["message"]["message_id"]]
