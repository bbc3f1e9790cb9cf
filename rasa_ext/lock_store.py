"""Rasa's Redis ticket lock, with each step one atomic script instead of several round trips.

Rasa's ``RedisLockStore`` keeps a conversation's ticket queue as one JSON value
and changes it by reading, changing and writing it back: seven blocking round
trips to Redis per message (issue, check, finish, ask whether anyone waits,
delete), with the Rasa worker's event loop stopped during each. The
read-change-write is not atomic either: two workers issuing or finishing
tickets for the same conversation at the same moment can lose one, and a
ticket lost that way ends in a ``LockError`` for its message.

This store keeps the same queue, first come first served, with the same
ticket lifetime, as Redis data changed by Lua scripts, which Redis runs
atomically: taking a ticket and checking whether it is the one served is one
round trip, each later check another (Rasa polls every second; here every
``POLL_SECONDS``), and finishing one. Tickets older than their lifetime are
dropped from the head of the queue, so a worker that died holding the lock
stops blocking its conversation after ``lock_lifetime``, as in Rasa.

In endpoints.production.yml: ``type: rasa_ext.lock_store.AtomicRedisLockStore``,
with the same settings as Rasa's ``type: redis``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis  # type: ignore[import-untyped]
import redis.asyncio  # type: ignore[import-untyped]
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

POLL_SECONDS = 0.05

# KEYS: the queue (sorted set: ticket numbers, scored by number), the tickets'
# expiry times (hash), the ticket counter. ARGV: the ticket to check (0: issue
# one), its lifetime in milliseconds. Drops expired tickets ahead of it, then
# answers {ticket, 1 if it is served now}.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ticket = tonumber(ARGV[1])
local lifetime = tonumber(ARGV[2])
if ticket == 0 then
  ticket = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], ticket, ticket)
  redis.call('HSET', KEYS[2], ticket, now + lifetime)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], lifetime * 2) end
end
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == nil or tonumber(head) == ticket then break end
  local expires = tonumber(redis.call('HGET', KEYS[2], head) or 0)
  if expires >= now then break end
  redis.call('ZREM', KEYS[1], head)
  redis.call('HDEL', KEYS[2], head)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
return {ticket, (head == nil or tonumber(head) == ticket) and 1 or 0}
"""

# KEYS as above; ARGV: the ticket finished. The keys go when the queue is empty.
_FINISH = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return 1
"""


class AtomicRedisLockStore(RedisLockStore):  # type: ignore[misc]
    """Rasa's Redis lock store, with atomic two-round-trip locking."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
        # Rasa's client blocks the worker's event loop for each round trip; the
        # scripts run on an asyncio client with the same settings instead.
        pool = self.red.connection_pool
        given = pool.connection_kwargs
        ssl = issubclass(pool.connection_class, redis.SSLConnection)
        self.aio = redis.asyncio.Redis(
            host=given["host"],
            port=given["port"],
            db=given["db"],
            username=given.get("username"),
            password=given.get("password"),
            socket_timeout=given.get("socket_timeout"),
            ssl=ssl,
            **{k: given.get(k) for k in ("ssl_certfile", "ssl_keyfile", "ssl_ca_certs") if ssl},
        )
        self._take = self.aio.register_script(_TAKE)
        self._finish = self.aio.register_script(_FINISH)

    def _keys(self, conversation_id: str) -> list[str]:
        base = self.key_prefix + conversation_id
        return [base + ":queue", base + ":expires", base + ":counter"]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Take a ticket and wait until it is served; finish it afterwards."""
        keys, lifetime_ms = self._keys(conversation_id), int(lock_lifetime * 1000)
        ticket, served = await self._take(keys=keys, args=[0, lifetime_ms])
        try:
            while not served:
                await asyncio.sleep(min(wait_time_in_seconds, POLL_SECONDS))
                _, served = await self._take(keys=keys, args=[ticket, lifetime_ms])
            # the shape Rasa's lock stores yield (nothing in Rasa reads it)
            expires = time.time() + lock_lifetime
            yield TicketLock(conversation_id, deque([Ticket(int(ticket), expires)]))
        finally:
            await self._finish(keys=keys, args=[ticket])
