"""The helpline desk: tickets between a child's chat and the staff group.

The assistant asks for a person by sending a ``handoff`` custom payload (see
``actions/handoff.py``) after it paused the conversation. The desk opens a
ticket, gives it a forum topic in the staff group (or a card, when the group has
no topics), and from then on carries messages both ways with ``copyMessage``,
which shows neither side's name. Closing resumes the assistant through Rasa's
HTTP API. Everything the desk must not forget lives in the ticket store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageId, User
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import Forbidden, TelegramError

from bot.helpline.store import CLOSED, URGENT, WAITING, Ticket, TicketStore
from bot.logs import Pseudonyms
from bot.rasa_client import Button, RasaClient, RasaReplyError, RasaUnavailable, Reply
from bot.sending import FIRST_RETRY_SECONDS, delete_messages, with_retries
from bot.settings import Settings
from catalogue import Catalogue
from catalogue.content import Content
from catalogue.safety import EMERGENCY, card_topic, danger_in

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _GaveUp(Exception):
    """Rasa could not be reached in time, or refused: the step is left undone."""


CHANNEL = "telegram"
TURNS_ON_CARD = 10
TURN_CHARS = 300  # a turn on the card is cut to this many characters
TOPIC_TITLE_LIMIT = 128  # Bot API limit for forum topic names
SEND_ATTEMPTS = 5  # staff-side calls may wait a little longer than a child's reply
MEMBER_CACHE_SECONDS = 60.0
SOS_AGAIN_SECONDS = 60.0  # one "🆘 again" line a minute per ticket: a frightened child taps often
DEFAULT_WAIT_MINUTES = 5
STAFF_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
END_PAYLOAD = "/end_handoff"
RISKS = ("normal", "urgent")
ALIAS_LIMIT = 40


@dataclass(frozen=True)
class HandoffRequest:
    """What the assistant's ``handoff`` payload says; unknown values are dropped."""

    reason: str
    risk: str
    language: str
    confidence: float | None
    country: str | None
    topic: str | None
    asked: str | None
    turns: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, data: Mapping[str, Any], fallback_language: str) -> HandoffRequest:
        def text(key: str, limit: int) -> str | None:
            value = data.get(key)
            return value[:limit] if isinstance(value, str) and value else None

        turns = []
        for turn in data.get("turns") or []:
            if isinstance(turn, dict) and turn.get("who") in ("child", "bot"):
                words = turn.get("text")
                if isinstance(words, str) and words:
                    turns.append((str(turn["who"]), words[:TURN_CHARS]))
        confidence = data.get("confidence")
        risk = data.get("risk")
        return cls(
            reason=text("reason", 20) or "asked",
            risk=risk if risk in RISKS else "normal",
            language=text("language", 8) or fallback_language,
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            country=text("country", 8),
            topic=text("topic", 40),
            asked=text("asked", 1000),
            turns=tuple(turns[-TURNS_ON_CARD:]),
        )


class Desk:
    """Open, relay, claim, close: the helpline's side of the gateway."""

    def __init__(
        self,
        bot: Bot,
        settings: Settings,
        store: TicketStore,
        rasa: RasaClient,
        pseudonyms: Pseudonyms,
        catalogue: Catalogue,
        staff_texts: Catalogue,
        content: Content,
        deliver: Callable[[int, Sequence[Reply]], Awaitable[None]],
        remember: Callable[[int, int], Awaitable[None]],
    ) -> None:
        assert settings.helpline_chat_id is not None
        self.bot = bot
        self.settings = settings
        self.group = settings.helpline_chat_id
        self.store = store
        self.rasa = rasa
        self.pseudonyms = pseudonyms
        self.catalogue = catalogue
        self.staff_texts = staff_texts
        self.content = content
        self.deliver = deliver
        self.remember = remember  # note a message ID in a child's chat (for /hide)
        self._forum: bool | None = None
        self._members: dict[int, tuple[bool, float]] = {}
        self._sos_again: dict[int, float] = {}  # ticket id -> when staff were last told

    # -- helpers ----------------------------------------------------------------
    def staff(self, key: str, **values: Any) -> str:
        return self.staff_texts.text(key, None, values)

    def child(self, key: str, language: str, **values: Any) -> str:
        return self.catalogue.text(key, language, values)

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def forum(self) -> bool:
        """Whether the staff group has topics (asked once, then remembered)."""
        if self._forum is None:
            chat = await _retry(lambda: self.bot.get_chat(self.group))
            self._forum = bool(getattr(chat, "is_forum", False))
        return self._forum

    async def is_staff(self, user: User | None) -> bool:
        """Whether a user is a member of the staff group (cached for a minute)."""
        if user is None or user.is_bot:
            return False
        cached = self._members.get(user.id)
        if cached and time.monotonic() - cached[1] < MEMBER_CACHE_SECONDS:
            return cached[0]
        try:
            member = await self.bot.get_chat_member(self.group, user.id)
            allowed = member.status in STAFF_STATUSES
        except TelegramError:
            allowed = False
        self._members[user.id] = (allowed, time.monotonic())
        return allowed

    def _labels(self, ticket: Ticket) -> dict[str, Any]:
        """The values every staff line about a ticket may use."""
        return {
            "case": ticket.case_id,
            "language": ticket.language,
            "country": ticket.country or "?",
            "topic": ticket.topic or ticket.reason,
            "risk": self.staff("staff.urgent") if ticket.urgent else "",
            "state": ticket.state,
        }

    def _title(self, ticket: Ticket) -> str:
        return self.staff("staff.title", **self._labels(ticket))[:TOPIC_TITLE_LIMIT]

    async def _post(
        self,
        ticket: Ticket,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        in_general: bool = False,
    ) -> Message:
        """Post a staff text in the ticket's topic (or under its card)."""
        kwargs: dict[str, Any] = {"parse_mode": ParseMode.HTML, "reply_markup": markup}
        if not in_general and ticket.thread_id is not None:
            kwargs["message_thread_id"] = ticket.thread_id
        elif not in_general and ticket.card_message_id is not None:
            kwargs["reply_to_message_id"] = ticket.card_message_id
            kwargs["allow_sending_without_reply"] = True
        return await _retry(lambda: self.bot.send_message(self.group, text, **kwargs))

    # -- opening ------------------------------------------------------------------
    async def open(self, chat_id: int, sender: str, data: Mapping[str, Any], language: str) -> None:
        """Open a ticket for a child's request, announce it to staff, tell the child."""
        request = HandoffRequest.parse(data, language)
        ticket, new = await self.db(
            self.store.open,
            chat_id=chat_id,
            sender=sender,
            language=request.language,
            country=request.country,
            topic=request.topic,
            reason=request.reason,
            risk=request.risk,
        )
        chat_ref = self.pseudonyms.ref(CHANNEL, chat_id)
        logger.info(
            "handoff.opened" if new else "handoff.already_open",
            extra={
                "chat": await self.pseudonyms.log_ref(chat_ref),
                "case": ticket.case_id,
                "risk": ticket.risk,
            },
        )
        hours = self.settings.hours_for(ticket.country)
        now = dt.datetime.now(dt.timezone.utc)
        in_hours = hours.is_open(now)
        if new:
            try:
                await self._announce(ticket, request, in_hours)
            except Exception:  # any failure: the child must not be left paused
                logger.exception("handoff.announce_failed", extra={"case": ticket.case_id})
                await self.db(self.store.close, ticket.id)
                await self._resume(ticket, trigger=None)
                await self._tell_child(chat_id, "utter_talk_to_human", ticket.language)
                return
        end = self._end_button(ticket)
        if in_hours:
            minutes = await self._expected_wait()
            text = self.child("handoff.waiting", ticket.language, minutes=minutes)
            await self.deliver(chat_id, [Reply(text, end, ticket.language, protect=True)])
        else:
            opens = _format_opening(hours.next_opening(now), ticket.language)
            text = self.child("handoff.closed_now", ticket.language, opens=opens)
            card = None if ticket.urgent else self._card_for(ticket, EMERGENCY)
            if card is None:  # urgent: the assistant sent the emergency card just before
                replies = [Reply(text, end, ticket.language, protect=True)]
            else:
                replies = [
                    Reply(text, (), ticket.language, protect=True),
                    Reply(card, end, ticket.language, protect=True),
                ]
            await self.deliver(chat_id, replies)

    def _end_button(self, ticket: Ticket) -> tuple[Button, ...]:
        """The one button a child has while a person is coming or talking: "End the chat"."""
        return (Button(self.child("button.end_chat", ticket.language), END_PAYLOAD),)

    def _card_for(self, ticket: Ticket, topic: str) -> str | None:
        """The first message of a sourced safety answer (the emergency card, or the
        distress answer) for the child's country, without its topic buttons (while a
        person is coming, only "End" applies)."""
        answer = self.content.answer(topic, ticket.language, ticket.country)
        if answer is None:
            return None
        return str(self.content.messages(answer, self.catalogue)[0]["text"])

    async def _announce(self, ticket: Ticket, request: HandoffRequest, in_hours: bool) -> None:
        thread_id: int | None = None
        if await self.forum():
            topic = await _retry(
                lambda: self.bot.create_forum_topic(self.group, self._title(ticket))
            )
            thread_id = topic.message_thread_id
            ticket = replace(ticket, thread_id=thread_id)
        card = await self._post(
            ticket, self._card(ticket, request, in_hours), self._card_buttons(ticket)
        )
        await self.db(
            self.store.set_staff_place,
            ticket.id,
            thread_id=thread_id,
            card_message_id=card.message_id,
        )
        if ticket.urgent:
            await self._pin(ticket, card.message_id)

    async def _pin(self, ticket: Ticket, card_message_id: int) -> None:
        """Pin an urgent ticket's card, with a notification; a failure only costs the pin."""
        try:
            await self.bot.pin_chat_message(self.group, card_message_id, disable_notification=False)
        except TelegramError:
            logger.warning("handoff.pin_failed", extra={"case": ticket.case_id})

    def _card(self, ticket: Ticket, request: HandoffRequest, in_hours: bool) -> str:
        def esc(value: str | None) -> str:
            return html.escape(value) if value else self.staff("staff.none")

        turns = "\n".join(
            self.staff("staff.turn_child" if who == "child" else "staff.turn_bot", text=esc(words))
            for who, words in request.turns
        )
        confidence = f"{request.confidence:.2f}" if request.confidence is not None else "?"
        text = self.staff(
            "staff.card",
            case=ticket.case_id,
            risk=self.staff("staff.urgent") if ticket.urgent else "",
            reason=esc(ticket.reason),
            language=esc(ticket.language),
            confidence=confidence,
            country=esc(ticket.country),
            topic=esc(ticket.topic),
            hours=self.staff("staff.in_hours" if in_hours else "staff.out_of_hours"),
            asked=esc(request.asked),
            turns=turns or self.staff("staff.none"),
        )
        if ticket.thread_id is None:
            text += "\n" + self.staff("staff.card_no_topics")
        return text

    def _card_buttons(self, ticket: Ticket) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.staff("staff.button_claim"), callback_data=f"hl:claim:{ticket.id}"
                    ),
                    InlineKeyboardButton(
                        self.staff("staff.button_close"), callback_data=f"hl:close:{ticket.id}"
                    ),
                ]
            ]
        )

    async def _expected_wait(self) -> int:
        """Today's median wait before a claim, in whole minutes (a default at first)."""
        since = time.time() - 24 * 3600
        counts = await self.db(self.store.counts_since, since)
        if not counts["claimed"]:
            return DEFAULT_WAIT_MINUTES
        return max(1, round(counts["median_wait"] / 60))

    # -- relaying -----------------------------------------------------------------
    async def open_ticket_for(self, chat_id: int) -> Ticket | None:
        return await self.db(self.store.open_for_chat, chat_id)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self.db(self.store.get, ticket_id)

    async def ticket_in_thread(self, thread_id: int) -> Ticket | None:
        return await self.db(self.store.by_thread, thread_id)

    async def ticket_of_staff_message(self, message_id: int) -> Ticket | None:
        """The ticket whose card, or a relayed message of which, has this ID in the group."""
        return await self.db(self.store.by_staff_message, message_id)

    # -- danger while a ticket is open ------------------------------------------
    async def check_danger(self, ticket: Ticket, text: str) -> None:
        """Check a child's words for danger while their ticket is open.

        Rasa has paused the conversation and sees none of these messages, so the
        same safety check (lexicon and classifiers) runs through its NLU alone,
        which touches no conversation. If Rasa cannot answer, the message is
        relayed all the same: the staff read it either way.
        """
        if ticket.urgent:
            return  # the card was shown and the staff alerted; the person reads on
        if not text.strip():
            return  # spaces only: nothing to read, and Rasa's NLU fails on an empty text
        try:
            category = danger_in(await self.rasa.parse(text))
        except (RasaUnavailable, RasaReplyError) as exc:
            logger.warning(
                "handoff.danger_check_failed", extra={"case": ticket.case_id, "reason": str(exc)}
            )
            return
        if category is not None:
            await self.danger(ticket, category)

    async def danger(self, ticket: Ticket, category: str) -> None:
        """A child in danger while their ticket is open: the sourced card for their
        country first (the distress answer for distress), then the ticket becomes
        urgent: a line in its topic, its card pinned, its title marked."""
        card = self._card_for(ticket, card_topic(category))
        if card is not None and ticket.chat_id is not None:
            reply = Reply(card, self._end_button(ticket), ticket.language, protect=True)
            await self.deliver(ticket.chat_id, [reply])
        if not await self.db(self.store.escalate, ticket.id):
            if ticket.urgent:  # 🆘 again: a tap reaches no one else, so tell the staff
                await self._sos_again_line(ticket, category)
            return  # or closed meanwhile
        ticket = replace(ticket, risk=URGENT)
        logger.info("handoff.escalated", extra={"case": ticket.case_id, "category": category})
        await self._post(
            ticket, self.staff("staff.escalated", case=ticket.case_id, category=category)
        )
        if ticket.card_message_id is not None:
            await self._pin(ticket, ticket.card_message_id)
        if ticket.thread_id is not None and ticket.state == WAITING:
            # a claimed topic's title names its counsellor, who is already on it
            await self._rename(ticket, self._title(ticket))

    async def _sos_again_line(self, ticket: Ticket, category: str) -> None:
        """Tell the staff that a child on an urgent ticket asked for help again, at
        most once a minute per ticket."""
        now = time.monotonic()
        if now - self._sos_again.get(ticket.id, -SOS_AGAIN_SECONDS) < SOS_AGAIN_SECONDS:
            return
        # forget the others' old taps, so that the map holds only the last minute's
        self._sos_again = {
            t: when for t, when in self._sos_again.items() if now - when < SOS_AGAIN_SECONDS
        }
        self._sos_again[ticket.id] = now
        logger.info("handoff.sos_again", extra={"case": ticket.case_id, "category": category})
        await self._post(
            ticket, self.staff("staff.sos_again", case=ticket.case_id, category=category)
        )

    async def from_child(self, ticket: Ticket, message: Message) -> None:
        """Carry a child's message (any kind) to the ticket's place in the staff group."""
        source = f"{self.pseudonyms.ref(CHANNEL, message.chat_id)}:{message.message_id}"
        if not await self.db(self.store.start_relay, ticket.id, "to_staff", source):
            return  # relayed before a restart
        kwargs: dict[str, Any] = {}
        if ticket.thread_id is not None:
            kwargs["message_thread_id"] = ticket.thread_id
        elif ticket.card_message_id is not None:
            kwargs["reply_to_message_id"] = ticket.card_message_id
            kwargs["allow_sending_without_reply"] = True
        try:
            copied = await _retry(
                lambda: self.bot.copy_message(
                    self.group, message.chat_id, message.message_id, **kwargs
                )
            )
        except TelegramError:
            logger.exception("relay.to_staff_failed", extra={"case": ticket.case_id})
            await self.db(self.store.finish_relay, source, target_message_id=None, ok=False)
            raise
        await self.db(self.store.finish_relay, source, target_message_id=copied.message_id, ok=True)
        logger.info("relay.to_staff", extra={"case": ticket.case_id})

    async def from_staff(self, ticket: Ticket, message: Message) -> None:
        """Carry a counsellor's message to the child; a first reply claims the ticket."""
        chat_id = ticket.chat_id
        if chat_id is None:
            return
        if ticket.state == WAITING and message.from_user is not None:
            # quietly: if a colleague claimed it a moment ago, the reply still goes
            await self.claim(ticket, message.from_user, announce=False)
        source = f"staff:{message.message_id}"
        if not await self.db(self.store.start_relay, ticket.id, "to_child", source):
            return
        alias = await self.db(self.store.alias, message.from_user.id) if message.from_user else None
        try:
            copied = await _retry(lambda: self._to_child(chat_id, ticket.language, message, alias))
        except Forbidden:
            await self.db(self.store.finish_relay, source, target_message_id=None, ok=False)
            logger.warning("relay.child_blocked", extra={"case": ticket.case_id})
            why = self.staff("staff.blocked")
            await self._post(ticket, self.staff("staff.delivery_failed", why=why))
            return
        except TelegramError as exc:
            await self.db(self.store.finish_relay, source, target_message_id=None, ok=False)
            logger.error(
                "relay.to_child_failed", extra={"case": ticket.case_id, "error": type(exc).__name__}
            )
            why = self.staff("staff.telegram_error")
            await self._post(ticket, self.staff("staff.delivery_failed", why=why))
            return
        await self.db(self.store.finish_relay, source, target_message_id=copied.message_id, ok=True)
        await self.remember(chat_id, copied.message_id)
        logger.info("relay.to_child", extra={"case": ticket.case_id})

    async def _to_child(
        self, chat_id: int, language: str, message: Message, alias: str | None
    ) -> Message | MessageId:
        """Copy a staff message to the child, signed with the counsellor's alias if any."""
        if alias and message.text:
            signature = self.child("handoff.signature", language, alias=alias)
            return await self.bot.send_message(
                chat_id, f"{message.text}\n\n{signature}", protect_content=True
            )
        caption = None
        if alias and (message.caption or message.photo or message.document or message.voice):
            signature = self.child("handoff.signature", language, alias=alias)
            caption = f"{message.caption}\n\n{signature}" if message.caption else signature
        return await self.bot.copy_message(
            chat_id, self.group, message.message_id, caption=caption, protect_content=True
        )

    async def set_alias(self, user: User, alias: str) -> str:
        """Store (or, empty, clear) the name a counsellor signs replies with."""
        alias = " ".join(alias.split())[:ALIAS_LIMIT]
        await self.db(self.store.set_alias, user.id, alias or None)
        if alias:
            return self.staff("staff.alias_set", alias=html.escape(alias))
        return self.staff("staff.alias_cleared")

    # -- staff actions ------------------------------------------------------------
    async def claim(self, ticket: Ticket, user: User, *, announce: bool = True) -> bool:
        if not await self.db(self.store.claim, ticket.id, user.id):
            if announce:
                fresh = await self.db(self.store.get, ticket.id) or ticket
                await self._post(
                    ticket, self.staff("staff.already", case=ticket.case_id, state=fresh.state)
                )
            return False
        logger.info("handoff.claimed", extra={"case": ticket.case_id})
        if ticket.thread_id is not None:
            # The topic's title says who has it: visible in the topic list, and no
            # message spent from the group's 20 a minute.
            name = self.staff(
                "staff.title_claimed", title=self._title(ticket), name=user.first_name
            )
            await self._rename(ticket, name)
        else:
            await self._post(
                ticket,
                self.staff("staff.claimed", case=ticket.case_id, name=html.escape(user.first_name)),
            )
        if ticket.chat_id is not None:
            await self._tell_child(ticket.chat_id, "handoff.claimed", ticket.language)
        return True

    async def transfer(self, ticket: Ticket) -> None:
        if await self.db(self.store.release, ticket.id):
            await self._post(ticket, self.staff("staff.released", case=ticket.case_id))
            logger.info("handoff.released", extra={"case": ticket.case_id})
        else:
            await self._post(
                ticket, self.staff("staff.already", case=ticket.case_id, state=ticket.state)
            )

    async def close(self, ticket: Ticket, user: User | None) -> None:
        """Close a ticket, give the child the assistant back, close the topic."""
        chat_id = ticket.chat_id
        if not await self.db(self.store.close, ticket.id):
            await self._post(
                ticket, self.staff("staff.already", case=ticket.case_id, state="closed")
            )
            return
        logger.info(
            "handoff.closed", extra={"case": ticket.case_id, "by": "staff" if user else "child"}
        )
        if user is None:
            await self._post(ticket, self.staff("staff.child_ended", case=ticket.case_id))
        elif ticket.thread_id is None:
            name = html.escape(user.first_name)
            await self._post(ticket, self.staff("staff.closed", case=ticket.case_id, name=name))
        if ticket.thread_id is not None:
            await self._rename(ticket, self.staff("staff.title_closed", title=self._title(ticket)))
        if ticket.urgent and ticket.card_message_id is not None:
            try:
                await self.bot.unpin_chat_message(self.group, ticket.card_message_id)
            except TelegramError:
                logger.warning("handoff.unpin_failed", extra={"case": ticket.case_id})
        if ticket.thread_id is not None:
            try:
                await self.bot.close_forum_topic(self.group, ticket.thread_id)
            except TelegramError:
                logger.warning("handoff.topic_close_failed", extra={"case": ticket.case_id})
        replies = await self._resume(ticket, trigger="handoff_ended")
        if chat_id is not None:
            try:
                await self.deliver(chat_id, replies)
            except Forbidden:
                logger.warning("relay.child_blocked", extra={"case": ticket.case_id})

    async def _rename(self, ticket: Ticket, title: str) -> None:
        """Retitle a ticket's topic (claimed, closed); a failure only costs the label."""
        assert ticket.thread_id is not None
        try:
            await self.bot.edit_forum_topic(
                self.group, ticket.thread_id, name=title[:TOPIC_TITLE_LIMIT]
            )
        except TelegramError:
            logger.warning("handoff.rename_failed", extra={"case": ticket.case_id})

    async def _resume(self, ticket: Ticket, trigger: str | None) -> list[Reply]:
        """Give the child the assistant back (Rasa's ConversationResumed), then run
        ``trigger`` (the "assistant is back" turn) and return its replies.

        While Rasa restarts, or an action fails in the triggered turn, each step
        is tried again (as long as the gateway waits for Rasa with a child's
        message): a conversation left paused would leave the child without answers,
        and a lost trigger without word that the assistant is back. The resume is
        not repeated once it went through.
        """
        deadline = time.monotonic() + self.settings.rasa_retry_seconds
        try:
            await self._patiently(ticket, deadline, lambda: self.rasa.resume(ticket.sender))
            if trigger is None:
                return []
            return await self._patiently(
                ticket, deadline, lambda: self.rasa.trigger(ticket.sender, trigger)
            )
        except _GaveUp:
            return []

    async def _patiently(
        self, ticket: Ticket, deadline: float, call: Callable[[], Awaitable[T]]
    ) -> T:
        """``call``'s result, tried again while Rasa is unavailable until ``deadline``."""
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                return await call()
            except RasaUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    logger.error("handoff.resume_failed", extra={"case": ticket.case_id})
                    raise _GaveUp from exc
                logger.warning(
                    "handoff.resume_retry", extra={"case": ticket.case_id, "reason": str(exc)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            except RasaReplyError as exc:
                logger.exception("handoff.resume_failed", extra={"case": ticket.case_id})
                raise _GaveUp from exc

    async def queue_text(self) -> str:
        tickets = await self.db(self.store.waiting)
        if not tickets:
            return self.staff("staff.queue_empty")
        now = time.time()
        return "\n".join(
            self.staff(
                "staff.queue_line", **self._labels(t), minutes=int((now - t.created_at) // 60)
            )
            for t in sorted(tickets, key=lambda t: (not t.urgent, t.created_at))
        )

    async def stats_text(self) -> str:
        midnight = dt.datetime.now(dt.timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        counts = await self.db(self.store.counts_since, midnight.timestamp())
        return self.staff(
            "staff.stats",
            opened=int(counts["opened"]),
            urgent=int(counts["urgent"]),
            claimed=int(counts["claimed"]),
            closed=int(counts["closed"]),
            waiting=int(counts["waiting"]),
            median=round(counts["median_wait"] / 60, 1),
        )

    async def post_general(self, text: str) -> None:
        await _retry(lambda: self.bot.send_message(self.group, text, parse_mode=ParseMode.HTML))

    async def reply(self, message: Message, text: str) -> None:
        """Answer a staff command where it was given."""
        kwargs: dict[str, Any] = {"parse_mode": ParseMode.HTML}
        if message.is_topic_message and message.message_thread_id is not None:
            kwargs["message_thread_id"] = message.message_thread_id
        await _retry(lambda: self.bot.send_message(self.group, text, **kwargs))

    async def note(self, ticket: Ticket) -> None:
        await self._post(ticket, self.staff("staff.note_kept"))

    # -- erasure ------------------------------------------------------------------
    async def forget(self, sender: str) -> int:
        """Erase a child's cases at their request (/forget); return how many there were.

        The staff copies of the conversation are deleted, an open case is
        announced as erased (staff must not wait for a child who left), and the
        tickets stay only as anonymous counts.
        """
        found = await self.db(self.store.of_sender, sender)
        for ticket in found:
            await self._erase_staff_copies(ticket)
            if ticket.state != CLOSED:
                logger.info("handoff.erased_open", extra={"case": ticket.case_id})
                with contextlib.suppress(TelegramError):
                    await self.post_general(
                        self.staff(
                            "staff.erased",
                            case=ticket.case_id,
                            risk=self.staff("staff.urgent") if ticket.urgent else "",
                        )
                    )
        await self.db(self.store.anonymise, [t.id for t in found])
        return len(found)

    async def expire(self, before: float) -> int:
        """Anonymise cases closed before ``before`` (RETENTION_DAYS), staff copies included."""
        found = await self.db(self.store.closed_before, before)
        for ticket in found:
            await self._erase_staff_copies(ticket)
        return await self.db(self.store.anonymise, [t.id for t in found])

    async def _erase_staff_copies(self, ticket: Ticket) -> None:
        """Delete the case's topic, or without topics its card and copied messages."""
        try:
            thread_id = ticket.thread_id
            if thread_id is not None:
                await _retry(lambda: self.bot.delete_forum_topic(self.group, thread_id))
                return
            ids = await self.db(self.store.relayed_to_staff, ticket.id)
            if ticket.card_message_id is not None:
                ids.append(ticket.card_message_id)
            await delete_messages(self.bot, self.group, ids, SEND_ATTEMPTS)
        except TelegramError as exc:
            # Telegram keeps messages older than 48 h out of a bot's reach.
            logger.warning(
                "handoff.erase_partial",
                extra={"case": ticket.case_id, "error": type(exc).__name__},
            )

    # -- reminders ------------------------------------------------------------------
    async def remind(self) -> None:
        """Announce unclaimed tickets again; tell a child who waited long that we still look."""
        now = time.time()
        every = self.settings.helpline_remind_minutes * 60
        for ticket in await self.db(self.store.due_reminders, now, every):
            minutes = int((now - ticket.created_at) // 60)
            text = self.staff("staff.reminder", **self._labels(ticket), minutes=minutes)
            try:
                await self.post_general(text)
                await self.db(self.store.mark_reminded, ticket.id, now)
            except TelegramError:
                logger.warning("handoff.remind_failed", extra={"case": ticket.case_id})
        nudge_after = self.settings.helpline_nudge_minutes * 60
        for ticket in await self.db(self.store.due_nudges, now, nudge_after):
            if ticket.chat_id is None or not self.settings.hours_for(ticket.country).is_open(
                dt.datetime.now(dt.timezone.utc)
            ):
                await self.db(self.store.mark_nudged, ticket.id)
                continue  # out of hours the child was already told when we read it
            await self.db(self.store.mark_nudged, ticket.id)
            await self._tell_child(ticket.chat_id, "handoff.still_looking", ticket.language)

    async def _tell_child(self, chat_id: int, key: str, language: str) -> None:
        try:
            await self.deliver(
                chat_id, [Reply(self.child(key, language), (), language, protect=True)]
            )
        except Forbidden:
            chat_ref = self.pseudonyms.ref(CHANNEL, chat_id)
            logger.warning(
                "relay.child_blocked", extra={"chat": await self.pseudonyms.log_ref(chat_ref)}
            )


def _format_opening(when: dt.datetime, language: str) -> str:
    """ "Monday 09:00" in the child's language (CLDR names via Babel)."""
    from babel.dates import format_datetime

    try:
        return str(format_datetime(when, "EEEE HH:mm", tzinfo=when.tzinfo, locale=language))
    except (ValueError, LookupError):
        return when.strftime("%a %H:%M")


async def _retry(call: Callable[[], Awaitable[T]]) -> T:
    return await with_retries(call, SEND_ATTEMPTS)
