"""``python -m bot``: the Telegram gateway, or a terminal chat when no token is set."""

from __future__ import annotations

import asyncio
import sys

from dotenv import load_dotenv

from bot import logs
from bot.settings import ConfigError, Settings


def main() -> int:
    load_dotenv()  # a .env file, when present; the environment wins
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    if settings.telegram_bot_token is None:
        from bot.terminal import chat

        try:
            return asyncio.run(chat(settings))
        except KeyboardInterrupt:
            print()
            return 130
    from bot.gateway import serve

    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
