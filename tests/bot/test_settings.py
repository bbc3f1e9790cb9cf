from __future__ import annotations

import pytest

from bot.settings import ConfigError, Settings

BASE = {"PSEUDONYM_KEY": "k" * 20}


def test_defaults_are_the_embedded_profile() -> None:
    s = Settings.from_env(BASE)
    assert s.telegram_bot_token is None  # terminal chat
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.rasa_url == "http://127.0.0.1:5005"
    assert s.database_url == "sqlite:///var/gateway.db"
    assert s.helpline_chat_id is None and s.telegram_webhook_secret is None
    assert s.retention_days == 30
    assert s.telegram_rate == 30.0  # Telegram's limit for one bot
    assert (s.database_pool_size, s.database_max_overflow) == (2, 0)


def test_webhook_secret_is_derived_from_the_token_when_not_given() -> None:
    env = {**BASE, "TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_URL": "https://x.org/hook"}
    one, two = Settings.from_env(env), Settings.from_env(env)
    assert (
        one.telegram_webhook_secret and one.telegram_webhook_secret == two.telegram_webhook_secret
    )
    assert "abc" not in one.telegram_webhook_secret


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "PSEUDONYM_KEY"),
        ({"PSEUDONYM_KEY": "short"}, "PSEUDONYM_KEY"),
        ({**BASE, "TELEGRAM_BOT_TOKEN": "nocolon"}, "TELEGRAM_BOT_TOKEN"),
        ({**BASE, "TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({**BASE, "RASA_URL": "localhost:5005"}, "RASA_URL"),
        ({**BASE, "HELPLINE_CHAT_ID": "staff"}, "HELPLINE_CHAT_ID"),
        ({**BASE, "TELEGRAM_MESSAGES_PER_SECOND": "0"}, "TELEGRAM_MESSAGES_PER_SECOND"),
        (
            {**BASE, "TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_WEBHOOK_URL": "http://x"},
            "TELEGRAM_WEBHOOK_URL",
        ),
        ({**BASE, "TELEGRAM_WEBHOOK_URL": "https://x"}, "TELEGRAM_WEBHOOK_URL"),
        ({**BASE, "TELEGRAM_WEBHOOK_SECRET": "has space"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({**BASE, "WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT"),
        ({**BASE, "RASA_TIMEOUT": "-1"}, "RASA_TIMEOUT"),
        ({**BASE, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({**BASE, "RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
        ({**BASE, "RETENTION_DAYS": "a month"}, "RETENTION_DAYS"),
        ({**BASE, "SQL_POOL_SIZE": "0"}, "SQL_POOL_SIZE"),
        ({**BASE, "SQL_POOL_SIZE": "many"}, "SQL_POOL_SIZE"),
        ({**BASE, "SQL_MAX_OVERFLOW": "-1"}, "SQL_MAX_OVERFLOW"),
    ],
)
def test_a_bad_variable_is_named(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert str(err.value).startswith(names)
    assert "\n" not in str(err.value)
