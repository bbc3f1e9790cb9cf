"""One retry policy for every Bot API call the gateway makes, and batched deletion."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_RETRY_SECONDS = 1.0
DELETE_BATCH = 100  # deleteMessages takes at most 100 IDs


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int) -> T:
    """Call the Bot API, retrying network trouble and Telegram's 5xx with backoff.

    429 is retried by the application's rate limiter. BadRequest (a subclass of
    NetworkError) and Forbidden are final: the request is wrong, or the child
    blocked the bot; repeating them will not help.
    """
    delay = FIRST_RETRY_SECONDS
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except (BadRequest, Forbidden):
            raise
        except NetworkError as exc:
            if attempt == attempts:
                raise
            logger.warning("send.retry", extra={"attempt": attempt, "error": type(exc).__name__})
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


async def delete_messages(bot: Bot, chat_id: int, ids: Sequence[int], attempts: int) -> int:
    """Delete messages in batches; return how many went (a refused batch is skipped).

    Telegram refuses messages older than 48 hours; the rest of the batches still go.
    """
    deleted = 0
    for start in range(0, len(ids), DELETE_BATCH):
        batch = list(ids[start : start + DELETE_BATCH])
        try:
            await with_retries(partial(bot.delete_messages, chat_id, batch), attempts)
        except TelegramError as exc:
            logger.warning(
                "delete.refused", extra={"count": len(batch), "error": type(exc).__name__}
            )
            continue
        deleted += len(batch)
    return deleted
