"""The gateway's configuration, read once from the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.helpline.hours import Hours, HoursError

# Connections to a database server per process: each is a PostgreSQL backend,
# and every replica's add up against the server's max_connections (100 by
# default; deploy/k8s's autoscalers are sized to fit, tests/deploy checks it).
# Two, not four: in production on two cores (bench/load.py, alternated) two
# per process carried as many messages a second or more, with PostgreSQL's
# processes 200-240 MB smaller by RSS; one per process carried a fifth fewer.
DEFAULT_POOL_SIZE = 2


class ConfigError(Exception):
    """A variable is missing or malformed; the message names it."""


def _url(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, default)
    if value is None or value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _int(env: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value!r}")
    return number


@dataclass(frozen=True)
class Settings:
    """Everything the gateway reads from the environment (see .env.example)."""

    telegram_bot_token: str | None
    telegram_api_url: str
    telegram_webhook_url: str | None
    telegram_rate: float  # messages per second, all chats together
    telegram_webhook_secret: str | None
    webhook_listen: str
    webhook_port: int
    rasa_url: str
    rasa_token: str | None
    helpline_chat_id: int | None
    helpline_hours: Hours
    helpline_hours_by_country: Mapping[str, Hours]
    helpline_remind_minutes: float
    helpline_nudge_minutes: float
    database_url: str
    # PostgreSQL connections the gateway keeps (SQL_POOL_SIZE, Rasa's own name)
    # and may open beyond them (SQL_MAX_OVERFLOW); its database threads match
    database_pool_size: int
    database_max_overflow: int
    pseudonym_key: bytes
    rasa_timeout: float
    rasa_retry_seconds: float
    retention_days: int
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; raise ConfigError naming the first bad one."""
        env = os.environ if env is None else env
        token = env.get("TELEGRAM_BOT_TOKEN") or None
        if token is not None and (":" not in token or not token.split(":", 1)[0].isdigit()):
            raise ConfigError("TELEGRAM_BOT_TOKEN must look like 123456:ABC... (from @BotFather)")
        webhook_url = _url(env, "TELEGRAM_WEBHOOK_URL")
        if webhook_url and not webhook_url.startswith("https://"):
            raise ConfigError("TELEGRAM_WEBHOOK_URL must be an https URL (Telegram requires it)")
        if webhook_url and token is None:
            raise ConfigError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not")
        secret = env.get("TELEGRAM_WEBHOOK_SECRET") or None
        if secret is not None and not _valid_secret(secret):
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        if secret is None and webhook_url and token:
            # Derived from the token, so every replica agrees without another secret.
            secret = hmac.new(token.encode(), b"lantern-webhook", hashlib.sha256).hexdigest()
        key = env.get("PSEUDONYM_KEY") or ""
        if len(key) < 16:
            raise ConfigError("PSEUDONYM_KEY must be set to a random string of 16+ characters")
        level = env.get("LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        port = _int(env, "WEBHOOK_PORT", 8443)
        assert port is not None
        if not 0 < port < 65536:
            raise ConfigError(f"WEBHOOK_PORT must be a TCP port, got {port}")
        hours = _hours(env, "HELPLINE_HOURS")
        by_country = {
            name.removeprefix("HELPLINE_HOURS_"): _hours(env, name)
            for name in sorted(env)
            if re.fullmatch(r"HELPLINE_HOURS_[A-Z]{2}", name) and env[name]
        }
        pool_size = _int(env, "SQL_POOL_SIZE", DEFAULT_POOL_SIZE)
        max_overflow = _int(env, "SQL_MAX_OVERFLOW", 0)
        assert pool_size is not None and max_overflow is not None
        if pool_size < 1:
            raise ConfigError(f"SQL_POOL_SIZE must be at least 1, got {pool_size}")
        if max_overflow < 0:
            raise ConfigError(f"SQL_MAX_OVERFLOW must not be negative, got {max_overflow}")
        retention = _int(env, "RETENTION_DAYS", 30)
        assert retention is not None
        if retention < 1:
            raise ConfigError(f"RETENTION_DAYS must be at least 1, got {retention}")
        api_url = _url(env, "TELEGRAM_API_URL", "https://api.telegram.org")
        rasa_url = _url(env, "RASA_URL", "http://127.0.0.1:5005")
        assert api_url is not None and rasa_url is not None
        return cls(
            telegram_bot_token=token,
            telegram_api_url=api_url,
            telegram_webhook_url=webhook_url,
            telegram_rate=_float(env, "TELEGRAM_MESSAGES_PER_SECOND", 30.0),
            telegram_webhook_secret=secret,
            webhook_listen=env.get("WEBHOOK_LISTEN") or "127.0.0.1",
            webhook_port=port,
            rasa_url=rasa_url,
            rasa_token=env.get("RASA_TOKEN") or None,
            helpline_chat_id=_int(env, "HELPLINE_CHAT_ID"),
            helpline_hours=hours,
            helpline_hours_by_country=by_country,
            helpline_remind_minutes=_float(env, "HELPLINE_REMIND_MINUTES", 5.0),
            helpline_nudge_minutes=_float(env, "HELPLINE_NUDGE_MINUTES", 10.0),
            database_url=env.get("DATABASE_URL") or "sqlite:///var/gateway.db",
            database_pool_size=pool_size,
            database_max_overflow=max_overflow,
            pseudonym_key=key.encode(),
            rasa_timeout=_float(env, "RASA_TIMEOUT", 30.0),
            rasa_retry_seconds=_float(env, "RASA_RETRY_SECONDS", 300.0),
            retention_days=retention,
            log_level=level,
        )

    def hours_for(self, country: str | None) -> Hours:
        """The helpline's hours for a country, or the general ones."""
        return self.helpline_hours_by_country.get((country or "").upper(), self.helpline_hours)


def _hours(env: Mapping[str, str], name: str) -> Hours:
    try:
        return Hours.parse(env.get(name) or "24/7")
    except HoursError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _valid_secret(secret: str) -> bool:
    return 0 < len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
