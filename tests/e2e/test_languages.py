"""Conversations through the gateway in the children's languages: replies follow them."""

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


def texts_in(language: str) -> set[str]:
    return {text for _, text in CAT.entries(language)}


CONVERSATIONS = {
    "ps": ["سلام ورور، زه مرستې ته اړتیا لرم", "ته روبوټ یې که انسان؟", "ډېره مننه ورور"],
    "ti": ["ሰላም ሓወይ ከመይ ኣለኻ፣ ሓገዝ የድልየኒ ኣሎ", "ሮቦት ዲኻ ወይስ ሰብ?", "ብጣዕሚ የቐንየለይ ሓወይ"],
    "ar": [
        "مرحبا، أنا بحاجة إلى مساعدة من فضلك",
        "هل انت انسان ولا روبوت؟",
        "شكرا كتير على المساعدة",
    ],
    "fr": [
        "bonjour, j'ai besoin d'aide s'il te plaît",
        "tu es un robot ou une vraie personne ?",
        "merci beaucoup pour ton aide",
    ],
}


@pytest.mark.parametrize("language", sorted(CONVERSATIONS))
async def test_replies_follow_the_childs_language(
    telegram: FakeTelegram, gateway: Gateway, language: str
) -> None:
    chat = 300 + sorted(CONVERSATIONS).index(language)
    for message in CONVERSATIONS[language]:
        before = len(telegram.sent(chat))
        await telegram.push(tg.text(chat, message, language="en"))  # phone set to English
        await telegram.wait_sent(chat, before + 1)
    # "ok" and a thumbs-up never flip the language
    for neutral in ("ok", "👍"):
        before = len(telegram.sent(chat))
        await telegram.push(tg.text(chat, neutral, language="en"))
        await telegram.wait_sent(chat, before + 1)
    replies = [m["text"] for m in telegram.sent(chat)]
    assert all(reply in texts_in(language) for reply in replies), replies
    buttons = [
        b["text"]
        for m in telegram.sent(chat)
        for row in m.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    ]
    language_names = {lang.name for lang in CAT.languages}
    assert all(b in texts_in(language) or b in language_names for b in buttons), [
        b for b in buttons if b not in texts_in(language) and b not in language_names
    ]


async def test_an_explicit_choice_switches_and_a_negated_one_does_not(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.text(310, "مرحبا، أنا بحاجة إلى مساعدة من فضلك", language="ar"))
    await telegram.wait_sent(310, 1)
    await telegram.push(tg.text(310, "ما بفهم انكليزي"))
    sent = await telegram.wait_sent(310, 2)
    assert sent[1]["text"] == CAT.text(
        "utter_choose_language", "ar"
    ), "negated: the picker, in Arabic"
    await telegram.push(tg.text(310, "je parle français"))
    sent = await telegram.wait_sent(310, 3)
    assert sent[2]["text"] == CAT.text("utter_language_set", "fr")
    await telegram.push(tg.text(310, "شكرا كتير على المساعدة"))
    sent = await telegram.wait_sent(310, 5)
    assert sent[-1]["text"] in texts_in("fr"), "an explicit choice sticks"


SCHOOL = {
    "ps": "زه غواړم دلته ښوونځي ته ولاړ شم",
    "ti": "ኣብዚ ናብ ቤት ትምህርቲ ክኸይድ ይኽእል ድየ",
    "ar": "ممكن روح عالمدرسة هون؟",
    "fr": "est-ce que je peux aller à l'école ici",
}


@pytest.mark.parametrize("language", sorted(SCHOOL))
async def test_a_topic_is_answered_from_the_content_in_the_childs_language(
    telegram: FakeTelegram, gateway: Gateway, language: str
) -> None:
    chat = 320 + sorted(SCHOOL).index(language)
    await telegram.push(tg.text(chat, CONVERSATIONS[language][0], language="en"))
    await telegram.wait_sent(chat, 1)
    before = len(telegram.sent(chat))
    await telegram.push(tg.text(chat, SCHOOL[language], language="en"))
    sent = await telegram.wait_sent(chat, before + 1)
    answer = CONTENT.answer("ask_school", language, None)
    assert answer is not None
    expected = CONTENT.messages(answer, CAT)[0]
    assert sent[before]["text"] == expected["text"]
    titles = [b["text"] for row in sent[before]["reply_markup"]["inline_keyboard"] for b in row]
    assert titles[0] == CAT.text("button.more", language)
