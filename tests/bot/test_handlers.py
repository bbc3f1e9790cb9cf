from __future__ import annotations

from telegram import Message

from bot.handlers import COMMANDS, input_kind, unsupported_input
from tests.e2e import fake_telegram as tg


def test_input_kind_names_the_attachment() -> None:
    for kind in tg.ATTACHMENTS:
        message = Message.de_json(tg.attachment(1, kind)["message"], None)
        assert message is not None
        assert input_kind(message) == kind


def test_commands_map_to_rasa_intents() -> None:
    assert COMMANDS["start"] == "/start"
    assert COMMANDS["menu"] == COMMANDS["help"] == "/help"


def test_unreadable_input_is_one_payload_naming_its_kind() -> None:
    assert unsupported_input("blank") == '/unsupported_input{"input_kind":"blank"}'
