"""Topic answers through the gateway: the country is asked once, remembered, changeable."""

from __future__ import annotations

import pytest

from catalogue import default_catalogue
from catalogue.content import default_content
from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import Gateway
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
CAT = default_catalogue()
CONTENT = default_content()


def first_message(topic: str, language: str, country: str | None) -> str:
    answer = CONTENT.answer(topic, language, country)
    assert answer is not None
    return str(CONTENT.messages(answer, CAT)[0]["text"])


async def test_the_country_is_asked_once_remembered_and_changeable(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    chat = 400
    await telegram.push(tg.text(chat, "who is my guardian"))
    sent = await telegram.wait_sent(chat, 1)
    assert sent[0]["text"] == CAT.text("utter_ask_country", "en")
    countries = [b["text"] for row in sent[0]["reply_markup"]["inline_keyboard"] for b in row]
    assert "Italy" in countries and CAT.text("country.other", "en") in countries

    await telegram.push(tg.button(chat, '/inform_country{"country":"IT"}'))
    sent = await telegram.wait_sent(chat, 3)
    assert sent[1]["text"] == CAT.text("utter_country_set", "en", {"country_name": "Italy"})
    assert sent[2]["text"] == first_message("ask_guardian", "en", "IT")
    assert "Tribunale per i minorenni" in sent[2]["text"]

    # remembered: the next country-dependent topic is answered at once
    await telegram.push(tg.text(chat, "how do i ask for asylum"))
    sent = await telegram.wait_sent(chat, 4)
    assert sent[3]["text"] == first_message("ask_asylum", "en", "IT")

    # "Tell me more" sends the rest of that topic
    await telegram.push(tg.button(chat, '/tell_me_more{"topic":"ask_asylum"}'))
    answer = CONTENT.answer("ask_asylum", "en", "IT")
    assert answer is not None
    sent = await telegram.wait_sent(chat, 4 + len(answer.more))
    assert [m["text"] for m in sent[4:]] == list(answer.more)

    # changeable at any time, in free text
    before = len(telegram.sent(chat))
    await telegram.push(tg.text(chat, "now i am in france"))
    sent = await telegram.wait_sent(chat, before + 2)
    assert sent[before]["text"] == CAT.text("utter_country_set", "en", {"country_name": "France"})
