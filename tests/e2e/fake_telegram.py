"""A fake Telegram Bot API server that speaks HTTP like the real one.

It serves ``POST /bot<token>/<method>`` for the methods the gateway uses,
keeps an update queue with getUpdates offset semantics (an update is gone once
a later offset confirms it), records every call, and can be told to fail a
method with 429 (retry_after) or 5xx to exercise the gateway's error paths.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.e2e.local_server import serve_locally

BOT_ID = 4242
BOT_USERNAME = "lantern_test_bot"
POLL_STEP = 0.02  # seconds between checks while a long poll or a test waits
PRIVACY_NOTICE_MARK = "🔒"  # every language's privacy notice starts with it (data/locales)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    ok: bool = True  # False when the fake answered with an error
    result: Any = None  # what the fake answered


@dataclass
class Failure:
    status: int
    retry_after: int | None
    times: int


class FakeTelegram:
    """In-process Bot API server; start() returns its base URL."""

    def __init__(self, token: str, max_poll_wait: float = 0.5) -> None:
        self.token = token
        self.max_poll_wait = max_poll_wait
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed_up_to = 0
        self.webhook_url: str | None = None
        self.closing = False
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._failures: dict[str, Failure] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""
        # the staff group: whether it has topics, who is in it
        self.forum = True
        self.members: set[int] = set()
        self.blocked: set[int] = set()  # children who blocked the bot: 403 on sends
        self._thread_ids = itertools.count(500)
        # called with every call answered successfully (benchmarks time replies with it)
        self.listeners: list[Callable[[Call], None]] = []

    # -- server -----------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner, self.url = await serve_locally(app)
        return self.url

    async def stop(self) -> None:
        self.closing = True  # release long polls still waiting, then close
        await asyncio.sleep(POLL_STEP * 3)
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params)
        self.calls.append(call)
        failure = self._failures.get(method)
        if failure and failure.times > 0:
            failure.times -= 1
            call.ok = False
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(
                failure.status,
                "Too Many Requests" if failure.status == 429 else "Bad Gateway",
                extra,
            )
        if method in ("sendMessage", "copyMessage") and _int(params.get("chat_id")) in self.blocked:
            call.ok = False
            return _error(403, "Forbidden: bot was blocked by the user")
        if method == "createForumTopic" and not self.forum:
            call.ok = False
            return _error(400, "Bad Request: the chat is not a forum")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, f"Not Found: method {method}")
        call.result = await handler(params)
        for listener in self.listeners:
            listener(call)
        return web.json_response({"ok": True, "result": call.result})

    # -- Bot API methods ----------------------------------------------------
    async def _m_getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Lantern",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_deleteWebhook(self, _: dict[str, Any]) -> bool:
        self.webhook_url = None
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = params.get("url")
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed_up_to = max(self.confirmed_up_to, offset - 1)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        deadline = time.monotonic() + wait
        while not self.updates and time.monotonic() < deadline and not self.closing:
            await asyncio.sleep(POLL_STEP)
        return list(self.updates[:100])

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lantern"},
            "text": params.get("text", ""),
        }
        if params.get("message_thread_id"):
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        return message

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params.get("text", ""),
        }

    async def _m_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": next(self._message_ids)}

    async def _m_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat: dict[str, Any] = {
            "id": chat_id,
            "type": "supergroup",
            "title": "Staff",
            "accent_color_id": 0,
            "max_reaction_count": 11,
        }
        if self.forum:
            chat["is_forum"] = True
        return chat

    async def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        status = "member" if user_id in self.members else "left"
        return {"status": status, "user": {"id": user_id, "is_bot": False, "first_name": "X"}}

    async def _m_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_thread_id": next(self._thread_ids),
            "name": params["name"],
            "icon_color": 0,
        }

    async def _m_deleteMessages(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_deleteMessage(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_editForumTopic(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_deleteForumTopic(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_closeForumTopic(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_pinChatMessage(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_unpinChatMessage(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_sendChatAction(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_answerCallbackQuery(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_leaveChat(self, _: dict[str, Any]) -> bool:
        return True

    # -- test controls ------------------------------------------------------
    def fail(
        self, method: str, *, status: int = 429, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail."""
        self._failures[method] = Failure(status, retry_after, times)

    async def push(self, update: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
        """Queue an update for getUpdates (numbered in sequence unless given)."""
        update = {"update_id": next(self._update_ids) if update_id is None else update_id, **update}
        self.updates.append(update)
        return update

    async def deliver(
        self,
        url: str,
        secret: str,
        updates: list[dict[str, Any]],
        connections: int = 40,
    ) -> None:
        """POST updates to a webhook the way Telegram does.

        Each update is numbered in sequence. One chat's updates go one at a
        time, the next only after a 200 for the previous (retried until then);
        different chats go at once, over at most ``connections`` connections.
        """
        by_chat: dict[Any, list[dict[str, Any]]] = {}
        for update in updates:
            numbered = {"update_id": next(self._update_ids), **update}
            chat = _chat_of(numbered)
            by_chat.setdefault(chat, []).append(numbered)
        limit = asyncio.Semaphore(connections)
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

            async def one_chat(queue: list[dict[str, Any]]) -> None:
                for update in queue:
                    while True:
                        async with limit:
                            try:
                                async with session.post(url, json=update, headers=headers) as r:
                                    if r.status == 200:
                                        break
                            except (aiohttp.ClientError, asyncio.TimeoutError):
                                pass
                        await asyncio.sleep(0.5)

            await asyncio.gather(*(one_chat(queue) for queue in by_chat.values()))

    def called(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every successful call of ``method``."""
        return [c.params for c in self.calls if c.method == method and c.ok]

    def sent(self, chat_id: int, *, notices: bool = False) -> list[dict[str, Any]]:
        """Messages the bot sent to a chat, in order.

        The privacy notice a first contact gets after its answer is left out
        unless ``notices``: tests of other things count and compare answers;
        tests/e2e/test_privacy.py checks the notice itself.
        """
        return [
            p
            for p in self.called("sendMessage")
            if int(p["chat_id"]) == chat_id
            and (notices or not str(p.get("text", "")).startswith(PRIVACY_NOTICE_MARK))
        ]

    async def wait_sent(
        self, chat_id: int, count: int, timeout: float = 30, *, notices: bool = False
    ) -> list[dict[str, Any]]:
        """Wait until the bot sent at least ``count`` messages to a chat."""
        return await self.wait_for(
            lambda: len(self.sent(chat_id, notices=notices)) >= count,
            timeout,
            lambda: self.sent(chat_id, notices=notices),
        )

    async def wait_last(self, chat_id: int, part: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the last message sent to a chat contains ``part``; return it."""

        def last() -> dict[str, Any] | None:
            sent = self.sent(chat_id, notices=True)
            return sent[-1] if sent and part in sent[-1].get("text", "") else None

        return await self.wait_for(lambda: last() is not None, timeout, last)  # type: ignore[no-any-return]

    async def wait_for(self, condition: Any, timeout: float = 30, result: Any = None) -> Any:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                recent = [c.method for c in self.calls][-20:]
                raise AssertionError(f"timed out; latest calls: {recent}")
            await asyncio.sleep(POLL_STEP)
        return result() if result else True


def _chat_of(update: dict[str, Any]) -> Any:
    for key in ("message", "edited_message", "channel_post"):
        if key in update:
            return update[key]["chat"]["id"]
    if "callback_query" in update:
        return update["callback_query"]["message"]["chat"]["id"]
    if "my_chat_member" in update:
        return update["my_chat_member"]["chat"]["id"]
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from JSON, form or query, with JSON-encoded fields decoded."""
    if request.content_type == "application/json":
        data = dict(await request.json())
    else:
        data = dict(await request.post())
        data.update(request.query)
    for key, value in list(data.items()):
        if isinstance(value, str) and value[:1] in "[{":
            try:
                data[key] = json.loads(value)
            except ValueError:
                pass
    return data


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


# -- update factories (shapes as the Bot API documents them) --------------------
def user(chat_id: int, language: str | None = "en") -> dict[str, Any]:
    u: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Child"}
    if language:
        u["language_code"] = language
    return u


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Child"}


# Message IDs as Telegram gives them: unique within a chat (here, unique overall).
_incoming_ids = itertools.count(int(time.time() * 1000) % 1_000_000)


def message(chat_id: int, language: str | None = "en", **content: Any) -> dict[str, Any]:
    return {
        "message_id": next(_incoming_ids),
        "date": int(time.time()),
        "chat": private_chat(chat_id),
        "from": user(chat_id, language),
        **content,
    }


def text(chat_id: int, body: str, language: str | None = "en") -> dict[str, Any]:
    entities = []
    if body.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(body.split()[0])}]
    msg = message(chat_id, language, text=body)
    if entities:
        msg["entities"] = entities
    return {"message": msg}


def edited(chat_id: int, body: str, language: str | None = "en") -> dict[str, Any]:
    msg = message(chat_id, language, text=body)
    msg["edit_date"] = int(time.time())
    return {"edited_message": msg}


def button(chat_id: int, data: str, language: str | None = "en") -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"cb{time.monotonic_ns()}",
            "from": user(chat_id, language),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": private_chat(chat_id),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lantern"},
                "text": "menu",
            },
        }
    }


ATTACHMENTS: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "s",
            "file_unique_id": "s",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "photo": {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]},
    "voice": {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
    "video": {
        "video": {"file_id": "d", "file_unique_id": "d", "width": 1, "height": 1, "duration": 1}
    },
    "document": {"document": {"file_id": "f", "file_unique_id": "f"}},
    "location": {"location": {"latitude": 41.9, "longitude": 12.5}},
    "contact": {"contact": {"phone_number": "+390000", "first_name": "A"}},
}


def attachment(chat_id: int, kind: str, language: str | None = "en") -> dict[str, Any]:
    return {"message": message(chat_id, language, **ATTACHMENTS[kind])}


def added_to_group(chat_id: int, chat_type: str = "group", by: int = 77) -> dict[str, Any]:
    chat = {"id": chat_id, "type": chat_type, "title": "Some group"}
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Lantern"}
    return {
        "my_chat_member": {
            "chat": chat,
            "from": user(by),
            "date": int(time.time()),
            "old_chat_member": {"status": "left", "user": bot_user},
            "new_chat_member": {"status": "member", "user": bot_user},
        }
    }


def group_text(
    chat_id: int,
    body: str,
    by: int = 77,
    *,
    thread_id: int | None = None,
    message_id: int | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id or 5,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "supergroup", "title": "Staff", "is_forum": True},
        "from": {"id": by, "is_bot": False, "first_name": f"Staff{by}"},
        "text": body,
    }
    if body.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(body.split()[0])}]
    if thread_id is not None:
        msg["message_thread_id"] = thread_id
        msg["is_topic_message"] = True
    if reply_to is not None:
        msg["reply_to_message"] = {
            "message_id": reply_to,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup", "title": "Staff"},
        }
    return {"message": msg}


def group_button(chat_id: int, data: str, by: int) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"cb{time.monotonic_ns()}",
            "from": {"id": by, "is_bot": False, "first_name": f"Staff{by}"},
            "chat_instance": "2",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "supergroup", "title": "Staff"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lantern"},
                "text": "card",
            },
        }
    }
