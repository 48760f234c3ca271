"""One whole SOP run, scripted as what people do and what they must see before going on.

Each step acts (a message, a tap, an upload, opening the link) and then waits until the bot
has shown the result; the waits tolerate the bot being killed and restarted meanwhile.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from chatbot.services.credentials import key_hash, unb64url
from tests.e2e.harness import ADMIN, GROUP, LINK, REQUESTER
from tests.factories import pdf_bytes, png_bytes
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_models import FakeMessage

PASSWORD = "Rahasia#2026baru"
STEP_TIMEOUT = 60.0  # generous: a step may span a kill, a restart and Telegram's pace


@dataclass
class Run:
    fake: FakeBotApi
    web_url: Callable[[], str]  # where a live bot's web app is now
    updates: list[str] = field(default_factory=list)  # every update id we injected
    # Webhook mode: the test plays Telegram and posts each update (None: the bot polls).
    deliver: Callable[[dict[str, object]], Awaitable[None]] | None = None
    # Called with what a person is about to type, before it is sent (to stage an outage).
    before: Callable[[str], Awaitable[None]] | None = None

    async def _sent(self, update: dict[str, object]) -> None:
        if update.get("update_id") is not None:
            self.updates.append(str(update["update_id"]))
            if self.deliver is not None:
                await self.deliver(update)

    def _live(self, chat: int) -> list[FakeMessage]:
        return [m for m in self.fake.chat_messages(chat) if not m.deleted]

    def _with_button(self, chat: int, label: str) -> FakeMessage | None:
        for message in reversed(self._live(chat)):
            if any(label in b for b in message.buttons()):
                return message
        return None

    async def _until(self, what: str, check: Callable[[], object]) -> None:
        try:
            await self.fake.wait_until(check, STEP_TIMEOUT)
        except TimeoutError:
            texts = [m.content[:80] for m in self.fake.chat_messages(REQUESTER)]
            raise AssertionError(f"waited in vain for {what}; requester saw {texts}") from None

    async def say(self, user: int, text: str, expect: str, chat: int | None = None) -> None:
        target = chat if chat is not None else user
        before = len(self.fake.chat_messages(target))
        if self.before is not None:
            await self.before(text)
        await self._sent(self.fake.send_text(user, text, chat_id=chat))
        await self._until(
            expect,
            lambda: any(expect in m.content for m in self.fake.chat_messages(target)[before:]),
        )

    async def press(
        self, user: int, label: str, expect: Callable[[], object], chat: int | None = None
    ) -> None:
        target = chat if chat is not None else user
        message = self._with_button(target, label)
        assert message is not None, f"no button {label!r} in {target}"
        await self._sent(self.fake.press_button(user, message, message.button(label)))
        await self._until(f"the result of {label}", expect)

    def shows(self, chat: int, text: str, after: int = 0) -> Callable[[], bool]:
        return lambda: any(text in m.content for m in self.fake.chat_messages(chat)[after:])

    def button(self, chat: int, label: str) -> Callable[[], bool]:
        return lambda: self._with_button(chat, label) is not None

    def card_says(self, text: str) -> Callable[[], bool]:
        def check() -> bool:
            cards = [m for m in self._live(GROUP) if m.content.startswith("🎫 Tiket")]
            return bool(cards) and text.lower() in cards[-1].content.lower()

        return check

    async def upload(self, content: bytes, name: str, mime: str, expect: str) -> None:
        before = len(self.fake.chat_messages(REQUESTER))
        await self._sent(self.fake.send_document(REQUESTER, content, name, mime))
        await self._until(expect, self.shows(REQUESTER, expect, before))


async def sop_run(run: Run, http: httpx.AsyncClient) -> None:
    """Intake, completeness, validity, hand-over, the one-time link, confirmation."""
    r = REQUESTER
    await run.say(r, "/start", "Pilih menu")
    await run.press(r, "Ajukan permohonan", run.button(r, "Reset password"))
    await run.press(r, "Reset password", run.button(r, "PPK"))
    await run.press(r, "PPK", run.shows(r, "Langkah 3/10"))
    await run.say(r, "Budi Santoso", "Langkah 4/10")
    await run.say(r, "1985 0312 2010 01 1 004", "Langkah 5/10")
    await run.say(r, "Dinas Pekerjaan Umum", "Langkah 6/10")
    await run.press(r, "Lewati", run.shows(r, "Langkah 7/10"))
    await run.say(r, "budi@magelangkota.go.id", "Langkah 8/10")
    before = len(run.fake.chat_messages(r))
    await run._sent(run.fake.send_contact(r, "+62 812-3456-7890", contact_user_id=r))
    await run._until("the letter step", run.shows(r, "Langkah 9/10", before))
    await run.upload(pdf_bytes("Surat"), "surat.pdf", "application/pdf", "1 file diterima")
    await run.press(r, "Selesai", run.shows(r, "Langkah 10/10"))
    await run.upload(png_bytes(10), "sk.png", "image/png", "1 file diterima")
    await run.press(r, "Selesai", run.button(r, "Kirim permohonan"))
    await run.press(r, "Kirim permohonan", run.shows(r, "nomor tiket"))

    await run._until("the card", run.card_says("Tiket"))
    card = lambda: [m for m in run._live(GROUP) if m.content.startswith("🎫 Tiket")][-1]  # noqa: E731
    await run.press(ADMIN, "Lengkap", run.card_says("menunggu cek keabsahan"), chat=GROUP)
    assert card()
    await run.press(ADMIN, "Valid", run.button(GROUP, "Kirim hasil"), chat=GROUP)
    # The admin reads the question before typing (the tap and the typing are two chats).
    await run.press(ADMIN, "Kirim hasil", run.shows(ADMIN, "Ketik password baru"), chat=GROUP)
    # The confirmation itself: the hand-over prompt (possibly sent again after a kill) says
    # "dikirim ke pemohon" too.
    await run.say(ADMIN, PASSWORD, "✅ Hasil tiket")

    await run._until("the link", lambda: any(LINK.search(m.content) for m in run._live(r)))
    match = next(LINK.search(m.content) for m in reversed(run._live(r)) if LINK.search(m.content))
    assert match is not None
    link_id, key = match.group(2), match.group(3)
    await reveal(run, http, link_id, key)
    await run._until("the receipt", run.button(r, "Sudah login"))
    before = len(run.fake.chat_messages(r))
    await run.press(r, "Sudah login", run.card_says("diarsipkan"))
    # The requester's thanks is a message of its own, paced apart from the card's edit.
    await run._until("the thanks", run.shows(r, "selesai dan diarsipkan", before))


async def reveal(run: Run, http: httpx.AsyncClient, link_id: str, key: str) -> None:
    """Tap Tampilkan as the page does; a bot killed meanwhile is asked again."""

    async def attempt() -> httpx.Response:
        return await http.post(
            f"{run.web_url()}/s/{link_id}/reveal", json={"key_hash": key_hash(unb64url(key))}
        )

    for pause in [0.1 * 2**n for n in range(8)]:
        try:
            response = await attempt()
        except httpx.TransportError:
            # The bot is restarting after a kill; the requester taps again a moment later
            # (a retry with backoff against a process start, not a wait for a result).
            await asyncio.sleep(pause)
            continue
        assert response.status_code == 200, response.text
        return
    raise AssertionError("the link page never answered")


NORMALISE = [
    (re.compile(r"https://\S+"), "<url>"),
    (re.compile(r"\b\d{1,2}[:.]\d{2}\b"), "<time>"),
    (re.compile(r"\b\d{1,2} \w+ \d{4}\b"), "<date>"),
]


# A message Telegram accepted this shortly before a kill may not have been recorded by the
# bot: with no idempotency key in the Bot API, it is sent again after the restart.
IN_FLIGHT = 2.0


def _sent_at(fake: FakeBotApi) -> dict[tuple[int, int], float]:
    """When the Bot API accepted each message the bot sent."""
    sent: dict[tuple[int, int], float] = {}
    for call in fake.calls:
        if not call.ok or call.method not in ("sendMessage", "sendDocument", "sendMediaGroup"):
            continue
        results = call.result if isinstance(call.result, list) else [call.result]
        for result in results:
            sent[(int(result["chat"]["id"]), int(result["message_id"]))] = call.time
    return sent


def transcript(
    fake: FakeBotApi, chats: list[int], kills: list[float] | None = None
) -> tuple[dict[int, list[str]], list[str]]:
    """What each chat shows, with links and clock times blanked (they differ per run), and
    the repeats excused: a message shown again whose first copy Telegram accepted in the
    moment before a kill (the platform's limit, see IN_FLIGHT)."""
    sent = _sent_at(fake)
    shown: dict[int, list[str]] = {}
    excused: list[str] = []
    for chat in chats:
        texts: list[str] = []
        first: dict[str, FakeMessage] = {}
        for message in fake.chat_messages(chat):
            text = message.content
            for pattern, replacement in NORMALISE:
                text = pattern.sub(replacement, text)
            text = ("[deleted] " if message.deleted else "") + text
            earlier = first.get(text)
            if earlier is not None:
                at = sent.get((chat, earlier.message_id))
                if at is not None and any(0 <= k - at <= IN_FLIGHT for k in kills or []):
                    excused.append(text[:60])
                    continue
            first.setdefault(text, message)
            texts.append(text)
        shown[chat] = texts
    return shown, excused


Step = Callable[[], Awaitable[None]]
