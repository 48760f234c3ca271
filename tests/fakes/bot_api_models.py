"""State objects of the fake Bot API: calls, users, chats, files and messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


class ApiError(Exception):
    """An error response the way Telegram sends it."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        violation: bool = False,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.violation = violation
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def to_json(self) -> JsonDict:
        """The response body."""
        body: JsonDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters: JsonDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


@dataclass
class ApiCall:
    """One request the bot made, with its decoded parameters and the outcome."""

    index: int
    method: str
    params: JsonDict
    time: float
    ok: bool = True
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    def summary(self) -> str:
        """One line for failure messages."""
        shown = {k: v for k, v in self.params.items() if k not in {"reply_markup"}}
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        text = f"#{self.index} {self.method}({shown}) -> {outcome}"
        return text if len(text) <= 300 else text[:297] + "..."


@dataclass
class FakeUser:
    """A Telegram user on the other side of the bot."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    started: bool = True
    blocked: bool = False
    language_code: str | None = None
    is_bot: bool = False

    def to_json(self) -> JsonDict:
        """User JSON."""
        data: JsonDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class FakeChat:
    """A private chat with a user, or a group the bot is in."""

    id: int
    type: str
    title: str | None = None
    admin_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    next_message_id: int = 1
    migrated_to: int | None = None  # a group upgraded to this supergroup
    bot_left: bool = False

    def to_json(self, users: dict[int, FakeUser]) -> JsonDict:
        """Chat JSON."""
        data: JsonDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            user = users[self.id]
            data["first_name"] = user.first_name
            if user.last_name:
                data["last_name"] = user.last_name
            if user.username:
                data["username"] = user.username
        else:
            data["title"] = self.title or ""
        return data

    def is_member(self, user_id: int) -> bool:
        """Whether the user may post in this chat."""
        if self.type == "private":
            return user_id == self.id
        return user_id in self.admin_ids or user_id in self.member_ids


@dataclass
class StoredFile:
    """A file known to the fake (uploaded by the bot or by a user)."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes
    size: int
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    file_path: str | None = None

    def file_json(self) -> JsonDict:
        """File JSON as returned by getFile."""
        data: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_path:
            data["file_path"] = self.file_path
        return data

    def document_json(self) -> JsonDict:
        """Document JSON."""
        data: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data

    def photo_size_json(self) -> JsonDict:
        """PhotoSize JSON."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width or 0,
            "height": self.height or 0,
            "file_size": self.size,
        }


@dataclass
class FakeMessage:
    """Current state of a message in a chat (sent by the bot or by a user)."""

    chat_id: int
    message_id: int
    date: int
    from_id: int
    from_bot: bool
    text: str | None = None
    caption: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    deleted: bool = False
    protect_content: bool = False
    link_preview_disabled: bool = False
    document: JsonDict | None = None
    photo: list[JsonDict] | None = None
    media: JsonDict = field(default_factory=dict)  # contact, sticker, voice, ...
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    edits: int = 0
    edit_date: int | None = None
    source_text: str | None = None  # text/caption as the bot sent it (before parsing)
    parse_mode: str | None = None

    @property
    def content(self) -> str:
        """Text or caption (empty string if neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[JsonDict]]:
        """Rows of inline buttons (empty if the message has no inline keyboard)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    def buttons(self) -> list[str]:
        """Labels of all inline buttons, row by row."""
        return [button["text"] for row in self.inline_keyboard for button in row]

    def button(self, text_substring: str) -> str:
        """callback_data of the inline button whose label contains ``text_substring``.

        An exact label match wins; otherwise the substring must match exactly one button.
        """
        buttons = [b for row in self.inline_keyboard for b in row]
        matches = [b for b in buttons if b["text"] == text_substring] or [
            b for b in buttons if text_substring in b["text"]
        ]
        if len(matches) != 1:
            problem = "no" if not matches else "several"
            msg = (
                f"{problem} inline button matching {text_substring!r} on message "
                f"{self.message_id} in chat {self.chat_id}; buttons: {self.buttons()}"
            )
            raise AssertionError(msg)
        data = matches[0].get("callback_data")
        if data is None:
            msg = f"button {matches[0]['text']!r} has no callback_data: {matches[0]}"
            raise AssertionError(msg)
        return str(data)
