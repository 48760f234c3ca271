"""An in-memory channel: a requester platform with no network, on the real pipeline.

`FakeChannel` is a `ChannelAdapter` (chatbot/pipeline/ports.py) whose raw updates are small
dicts it makes itself; `FakeMessenger` is the `Messenger` it answers through, and keeps what
each chat was shown. A test acts as a person with `say`, `press`, `upload` and
`share_contact`: each stores the update through the pipeline's ingress (as a webhook would)
and returns once the worker has handled everything and the sender is idle, so no test sleeps.

A chat here is private and its user is its chat (as on WhatsApp): the user id is the chat id.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatbot.conversations import texts as t
from chatbot.conversations.messages import (
    Button,
    DeliveryError,
    Incoming,
    IncomingFile,
    Keyboard,
    MessageGone,
    OutgoingFile,
    Reply,
    Response,
    SharedContact,
)
from chatbot.pipeline import Pipeline
from chatbot.pipeline.ports import Described, Interpreted, Raw

CHANNEL = "fakechat"
KINDS = ("text", "button", "file", "contact")
SETTLE_TIMEOUT = 10.0


@dataclass
class Shown:
    """A message the bot showed in a fake chat (its latest version, if edited)."""

    id: str
    html: str
    rows: tuple[tuple[Button, ...], ...] = ()
    keyboard: Keyboard | None = None
    protect: bool = False
    reply_to: str | None = None
    file: OutgoingFile | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def text(self) -> str:
        """What the person reads: the HTML rendered to plain text."""
        return t.plain(self.html)

    @property
    def buttons(self) -> list[str]:
        return [button.label for row in self.rows for button in row]

    def button(self, label: str) -> Button:
        """The button whose label is, or contains, `label`."""
        for row in self.rows:
            for button in row:
                if label == button.label or label in button.label:
                    return button
        raise AssertionError(f"no button {label!r} on {self.text!r}: {self.buttons}")


class FakeMessenger:
    """The Messenger port in memory: what each chat was shown, and the files people sent."""

    def __init__(self) -> None:
        self.chats: dict[str, list[Shown]] = {}
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes a person uploaded
        self._ids = itertools.count(1)

    # ---- the port ------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply, reply_to: str | None = None) -> str:
        shown = Shown(
            str(next(self._ids)),
            reply.text,
            reply.buttons,
            reply.keyboard,
            reply.protect,
            reply_to,
        )
        self.chats.setdefault(chat_id, []).append(shown)
        return shown.id

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        shown = self.message(chat_id, message_id)
        if shown is None or shown.deleted:
            raise MessageGone(f"message {message_id} of {chat_id} is gone")
        if (shown.html, shown.rows) != (reply.text, reply.buttons):
            shown.html, shown.rows = reply.text, reply.buttons
            shown.edits += 1

    async def send_files(
        self, chat_id: str, files: list[OutgoingFile], reply_to: str | None = None
    ) -> list[str]:
        ids = []
        for file in files:
            shown = Shown(str(next(self._ids)), file.caption or file.name, file=file)
            shown.reply_to = reply_to
            self.chats.setdefault(chat_id, []).append(shown)
            ids.append(shown.id)
        return ids

    async def delete(self, chat_id: str, message_id: str) -> None:
        shown = self.message(chat_id, message_id)
        if shown is not None:
            shown.deleted = True

    async def download(self, file_id: str) -> bytes:
        try:
            return self.uploads[file_id]
        except KeyError:
            raise DeliveryError(f"no upload {file_id}", permanent=True) from None

    # ---- looking -------------------------------------------------------------------------

    def message(self, chat_id: str, message_id: str) -> Shown | None:
        return next((m for m in self.chats.get(chat_id, []) if m.id == message_id), None)

    def shown(self, chat_id: str) -> list[Shown]:
        """The chat's messages still there, oldest first."""
        return [m for m in self.chats.get(chat_id, []) if not m.deleted]

    def texts(self, chat_id: str) -> list[str]:
        return [m.text for m in self.shown(chat_id)]

    def last(self, chat_id: str) -> Shown:
        shown = self.shown(chat_id)
        if not shown:
            raise AssertionError(f"nothing was shown in {CHANNEL} chat {chat_id}")
        return shown[-1]

    def with_button(self, chat_id: str, label: str) -> Shown:
        """The newest message in the chat with a button labelled (or containing) `label`."""
        for shown in reversed(self.shown(chat_id)):
            if any(label == b or label in b for b in shown.buttons):
                return shown
        raise AssertionError(
            f"no message in {chat_id} has a button {label!r}: {self.texts(chat_id)}"
        )


@dataclass(frozen=True)
class Tap:
    """A person taps the button labelled (or containing) `label` on the newest message."""

    label: str


@dataclass(frozen=True)
class Upload:
    """A person sends a file: a document, or a photo."""

    content: bytes
    name: str
    mime: str
    photo: bool = False


@dataclass(frozen=True)
class Contact:
    """A person shares a phone number: their own (verified), or someone else's."""

    phone: str
    own: bool = True


# What a person does in a transcript: typed text, or one of the above.
Said = str | Tap | Upload | Contact


@dataclass
class FakeChannel:
    """The adapter (pipeline/ports.py) of the in-memory channel, and its people's hands."""

    messenger: FakeMessenger = field(default_factory=FakeMessenger)
    names: dict[str, str] = field(default_factory=dict)  # chat -> the person's name
    # Each tap's answer as the platform would show it: update id -> (toast, alert).
    answers: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    _pipeline: Callable[[], Pipeline] | None = None
    _updates: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def channel(self) -> str:
        return CHANNEL

    def connect(self, pipeline: Callable[[], Pipeline]) -> None:
        """Where people's updates go: the pipeline of the moment (a restart builds a new one)."""
        self._pipeline = pipeline

    # ---- the adapter port ----------------------------------------------------------------

    def problem(self, raw: Raw) -> str | None:
        if not isinstance(raw.get("update_id"), str) or not isinstance(raw.get("chat"), str):
            return "an update needs an update_id and a chat"
        if raw.get("kind") not in KINDS:
            return f"unknown kind {raw.get('kind')!r}"
        return None

    def describe(self, raw: Raw) -> Described:
        return Described(raw["update_id"], f"{CHANNEL}:{raw['chat']}", raw["kind"])

    def arrived(self, raw: Raw) -> None:
        """Nothing to start: this platform waits for no answer."""

    async def interpret(self, raw: Raw) -> Interpreted:
        chat = str(raw["chat"])
        fields: dict[str, Any] = {}
        kind = raw["kind"]
        if kind == "text":
            fields["text"] = raw["text"]
        elif kind == "button":
            fields["button"] = raw["data"]
            fields["message_id"] = raw["message_id"]
        elif kind == "file":
            fields["file"] = IncomingFile(
                raw["file_id"], raw["name"], raw["mime"], raw["size"], is_photo=raw["photo"]
            )
        elif kind == "contact":
            fields["contact"] = SharedContact(raw["phone"], raw["contact_user"])
        incoming = Incoming(
            channel=CHANNEL,
            update_id=raw["update_id"],
            chat_id=chat,
            user_id=chat,
            user_name=self.names.get(chat, f"Pemohon {chat}"),
            **fields,
        )
        return Interpreted(incoming)

    async def acknowledge(self, raw: Raw, response: Response | None) -> None:
        if raw["kind"] == "button":
            toast = response.toast if response else None
            self.answers[raw["update_id"]] = (toast, bool(response and response.alert))

    def chat_of(self, chat_key: str) -> str | None:
        return chat_key.removeprefix(f"{CHANNEL}:")

    # ---- acting as a person --------------------------------------------------------------

    async def say(self, chat: str, text: str) -> Shown:
        """Type `text`; the newest message the chat shows afterwards."""
        await self._arrive(chat, kind="text", text=text)
        return self.messenger.last(chat)

    async def press(self, chat: str, label: str, message: Shown | None = None) -> str | None:
        """Tap the button labelled `label` on the newest message that has it; its toast."""
        message = message or self.messenger.with_button(chat, label)
        button = message.button(label)
        if button.url is not None:
            raise AssertionError(f"{button.label!r} opens {button.url}: it is not a tap")
        update_id = await self._arrive(chat, kind="button", data=button.data, message_id=message.id)
        answer = self.answers.get(update_id)
        assert answer is not None, f"the tap on {button.label!r} was never handled"
        return answer[0]

    async def upload(
        self, chat: str, content: bytes, name: str, mime: str, *, photo: bool = False
    ) -> Shown:
        """Send a file (a document, or a photo); its bytes stay in memory for the download."""
        file_id = f"file-{len(self.messenger.uploads) + 1}"
        self.messenger.uploads[file_id] = content
        await self._arrive(
            chat,
            kind="file",
            file_id=file_id,
            name=None if photo else name,
            mime=mime,
            size=len(content),
            photo=photo,
        )
        return self.messenger.last(chat)

    async def share_contact(self, chat: str, phone: str, *, own: bool = True) -> Shown:
        """Share a phone number: one's own (verified), or someone else's contact."""
        contact_user = chat if own else None
        await self._arrive(chat, kind="contact", phone=phone, contact_user=contact_user)
        return self.messenger.last(chat)

    async def act(self, chat: str, said: Said) -> list[Shown]:
        """Do `said` in the chat; the messages it made the chat show (new or edited)."""
        before = {m.id: (m.html, m.rows) for m in self.messenger.shown(chat)}
        if isinstance(said, Tap):
            await self.press(chat, said.label)
        elif isinstance(said, Upload):
            await self.upload(chat, said.content, said.name, said.mime, photo=said.photo)
        elif isinstance(said, Contact):
            await self.share_contact(chat, said.phone, own=said.own)
        else:
            await self.say(chat, said)
        return [m for m in self.messenger.shown(chat) if before.get(m.id) != (m.html, m.rows)]

    async def transcript(self, chat: str, lines: Sequence[tuple[Said, str]]) -> list[Shown]:
        """Said -> answered, line by line: each answer (what the chat newly shows) must
        contain the expected text. Returns the last answer."""
        answer: list[Shown] = []
        for said, expected in lines:
            answer = await self.act(chat, said)
            shown = "\n---\n".join(m.text for m in answer)
            assert expected in shown, f"{said!r} was answered with {shown!r}, not {expected!r}"
        return answer

    async def settle(self) -> None:
        """Until the worker has handled every stored update and the sender is idle."""
        pipeline = self.pipeline
        async with asyncio.timeout(SETTLE_TIMEOUT):
            await pipeline.worker.settled()
            await pipeline.sender.idle()

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "connect() the fake channel to a pipeline first"
        return self._pipeline()

    async def _arrive(self, chat: str, **body: Any) -> str:
        update_id = str(next(self._updates))
        await self.pipeline.ingress.receive(
            CHANNEL, [{"update_id": update_id, "chat": chat, **body}]
        )
        await self.settle()
        return update_id


LINK = re.compile(r"(https://\S+/s/([A-Za-z0-9_-]+))#([A-Za-z0-9_-]+)")


def link_in(messenger: FakeMessenger, chat: str) -> tuple[str, str, str]:
    """The (url, link id, key) of the newest one-time link shown in a chat (text or button)."""
    for shown in reversed(messenger.shown(chat)):
        places = [shown.text, *(b.url for row in shown.rows for b in row if b.url)]
        for place in places:
            match = LINK.search(place)
            if match:
                return match.group(1), match.group(2), match.group(3)
    raise AssertionError(f"no one-time link in {CHANNEL} chat {chat}: {messenger.texts(chat)}")
