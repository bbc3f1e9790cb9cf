"""A chat with the assistant in the terminal, for when no Telegram token is set.

It talks to the same Rasa channel as the gateway, with the same metadata, so
language handling, actions and texts are exactly the Telegram ones. Buttons are
numbered: type the number to press one.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import threading
from typing import TextIO

from bot.logs import Pseudonyms
from bot.rasa_client import RasaClient, RasaReplyError, RasaUnavailable, Reply
from bot.settings import Settings

CHANNEL = "terminal"
WAIT_FOR_RASA_SECONDS = 120.0

# Printed for the operator at the terminal (a developer), never shown to a child.
BOTFATHER_HELP = """\
No TELEGRAM_BOT_TOKEN is set, so this is a chat in the terminal with the same assistant.
To serve Telegram: open @BotFather in Telegram, send /newbot, choose a name, copy the
token it gives you into .env as TELEGRAM_BOT_TOKEN=..., and run the command again.
Type a message and press Enter. Type a number to press a button. Ctrl-D ends the chat.
"""


def _hint() -> str | None:
    """A language hint from the terminal's locale (LANG=ar_SY.UTF-8 → ar)."""
    value = os.environ.get("LANGUAGE") or os.environ.get("LANG") or ""
    code = value.split(":")[0].split(".")[0].split("_")[0]
    return code if code and code not in ("C", "POSIX") else None


def show(replies: list[Reply], out: TextIO) -> list[str]:
    """Print replies; return the payloads of the numbered buttons."""
    payloads: list[str] = []
    for reply in replies:
        if reply.text:
            out.write(f"\nLantern: {reply.text}\n")
        for button in reply.buttons:
            payloads.append(button.payload)
            out.write(f"  [{len(payloads)}] {button.title}\n")
    out.flush()
    return payloads


def _lines(inp: TextIO) -> asyncio.Queue[str]:
    """Read input on a daemon thread, so Ctrl-C never waits for a blocked read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in iter(inp.readline, ""):
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, "")  # end of input

    threading.Thread(target=read, name="terminal-input", daemon=True).start()
    return queue


async def chat(settings: Settings, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Run the terminal chat until end of input; it opens with /start, as Telegram does."""
    out.write(BOTFATHER_HELP)
    sender = Pseudonyms(settings.pseudonym_key).sender(CHANNEL, getpass.getuser())
    client = RasaClient(settings.rasa_url, settings.rasa_timeout)
    metadata = {"channel": CHANNEL, "input": "text"}
    if hint := _hint():
        metadata["language_hint"] = hint
    payloads: list[str] = []
    count = 0
    loop = asyncio.get_running_loop()
    lines = _lines(inp)
    pending: str | None = "/start"
    try:
        while True:
            if pending is None:
                out.write("\nYou: ")
                out.flush()
                line = await lines.get()
                if not line:
                    out.write("\n")
                    return 0
                text = line.strip()
            else:
                text, pending = pending, None
            if not text:
                continue
            if text.isdigit() and 0 < int(text) <= len(payloads):
                text = payloads[int(text) - 1]
            count += 1
            deadline = loop.time() + WAIT_FOR_RASA_SECONDS
            while True:
                try:
                    replies = await client.send(
                        sender,
                        text,
                        message_id=f"{CHANNEL}:{os.getpid()}:{count}",
                        metadata=metadata,
                        replay=False,
                    )
                    break
                except RasaUnavailable:
                    if loop.time() > deadline:
                        out.write("(no answer from the assistant: is Rasa running?)\n")
                        replies = []
                        break
                    await asyncio.sleep(1.0)
                except RasaReplyError as exc:
                    out.write(f"(unexpected answer from Rasa: {exc})\n")
                    replies = []
                    break
            payloads = show(replies, out)
    finally:
        await client.aclose()
