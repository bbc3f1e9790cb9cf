"""One retry policy for every Bot API call the gateway makes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_RETRY_SECONDS = 1.0


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
