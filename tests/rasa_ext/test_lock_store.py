"""The atomic Redis lock: one holder at a time, first come first served, expiry, no leftovers.

Against this machine's Redis (127.0.0.1:6379), each test under its own key prefix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_ext.lock_store import AtomicRedisLockStore


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"t{uuid.uuid4().hex}"
    yield value
    probe = RedisLockStore(host="127.0.0.1", db=4)
    for key in probe.red.keys(f"{value}:*"):
        probe.red.delete(key)


def worker(prefix: str) -> AtomicRedisLockStore:
    """One Rasa worker's store: its own Redis client."""
    return AtomicRedisLockStore(host="127.0.0.1", db=4, key_prefix=prefix)


async def test_one_holder_at_a_time_in_the_order_they_came(prefix: str) -> None:
    workers = [worker(prefix) for _ in range(4)]
    queue = workers[0]._keys("child")[0]
    everyone_queued = asyncio.Event()
    inside: list[int] = []
    order: list[int] = []

    async def turn(number: int) -> None:
        async with workers[number % 4].lock("child"):
            inside.append(number)
            assert len(inside) == 1, "two holders at once"
            order.append(number)
            if number == 0:
                # the first holder keeps the queue from emptying until all are in it
                await everyone_queued.wait()
            await asyncio.sleep(0.01)
            inside.remove(number)

    async def queued(count: int) -> None:
        while workers[0].red.zcard(queue) < count:
            await asyncio.sleep(0.001)

    tasks = []
    for number in range(20):
        tasks.append(asyncio.create_task(turn(number)))
        # each takes its ticket before the next comes (a wait on Redis, not on the clock)
        await asyncio.wait_for(queued(number + 1), timeout=10)
    everyone_queued.set()
    await asyncio.gather(*tasks)
    assert order == list(range(20))


async def test_other_conversations_do_not_wait(prefix: str) -> None:
    store = worker(prefix)
    async with store.lock("a"), store.lock("b"):
        assert store.red.exists(*store._keys("a"), *store._keys("b")) == 6


async def test_a_holder_that_died_blocks_no_longer_than_the_lifetime(prefix: str) -> None:
    store = worker(prefix)
    keys = store._keys("child")
    await store._take(keys=keys, args=[0, 300])  # taken, never finished
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with store.lock("child", lock_lifetime=60):
        waited = loop.time() - began
    assert 0.2 < waited < 2


async def test_nothing_is_left_in_redis_afterwards(prefix: str) -> None:
    store = worker(prefix)
    async with store.lock("child"):
        assert store.red.exists(*store._keys("child")) == 3
    assert store.red.keys(f"{prefix}:*") == []


async def test_the_lock_is_finished_when_the_turn_fails(prefix: str) -> None:
    store = worker(prefix)
    with pytest.raises(RuntimeError):
        async with store.lock("child"):
            raise RuntimeError("turn failed")
    assert store.red.keys(f"{prefix}:*") == []


def test_endpoints_yml_creates_it_with_rasas_settings(prefix: str) -> None:
    config = EndpointConfig(
        url="127.0.0.1",
        type="rasa_ext.lock_store.AtomicRedisLockStore",
        port="6379",
        db="4",
        key_prefix=prefix,
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix.startswith(prefix + ":")
