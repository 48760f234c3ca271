"""State objects of the fake WhatsApp Cloud API: errors, calls, media, templates, messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

ERROR_DOCS = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (HTTP status, title, details) as Meta documents them.
KNOWN_ERRORS: dict[int, tuple[int, str, str]] = {
    1: (500, "An unknown error occurred", "Invalid request or possible server error."),
    2: (503, "Service temporarily unavailable", "Temporary due to downtime or due to being "
        "overloaded."),
    100: (400, "Invalid parameter", "The request included one or more unsupported or "
          "misspelled parameters."),
    190: (401, "Invalid OAuth access token", "Your access token has expired or is invalid."),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131026: (400, "Message undeliverable", "Unable to deliver message. Reasons can include: "
             "the recipient phone number is not a WhatsApp phone number; the recipient has "
             "not accepted the new Terms of Service; the recipient uses an old WhatsApp "
             "version."),
    131047: (400, "Re-engagement message", "Message failed to send because more than 24 "
             "hours have passed since the customer last replied to this number."),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit", "Too many "
             "messages sent from the sender phone number to the same recipient phone number "
             "in a short period of time."),
    132000: (400, "Number of parameters does not match the expected number of params",
             "The number of variable parameter values does not match the number of "
             "variables defined in the template."),
    132001: (400, "Template name does not exist in the translation", "The template does not "
             "exist in the specified language or the template has not been approved."),
    132018: (400, "There was an issue with the parameters in your template", "Param text "
             "cannot have new-line/tab characters or more than 4 consecutive spaces."),
}  # fmt: skip


class GraphError(Exception):
    """An error answer in Meta's shape: ``{"error": {"message", "type", "code", ...}}``."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        violation: bool = False,
        status: int | None = None,
    ) -> None:
        known_status, title, known_details = KNOWN_ERRORS.get(code, (400, "Error", ""))
        self.code = code
        self.title = title
        self.details = details or known_details
        self.status = status or known_status
        self.violation = violation
        super().__init__(f"({code}) {title}: {self.details}")

    def to_json(self, fbtrace_id: str) -> JsonDict:
        """The response body."""
        return {
            "error": {
                "message": f"(#{self.code}) {self.title}",
                "type": "OAuthException",
                "code": self.code,
                "error_data": {"messaging_product": "whatsapp", "details": self.details},
                "fbtrace_id": fbtrace_id,
            }
        }

    def status_error(self) -> JsonDict:
        """The ``errors[]`` item of a ``failed`` status webhook."""
        return {
            "code": self.code,
            "title": self.title,
            "message": self.title,
            "error_data": {"details": self.details},
            "href": ERROR_DOCS,
        }


@dataclass
class GraphCall:
    """One request the bot made to the fake, with its outcome."""

    index: int
    method: str
    path: str
    body: Any
    time: float
    status: int = 200
    error_code: int | None = None

    @property
    def ok(self) -> bool:
        """Answered with 2xx."""
        return self.status < 300

    def summary(self) -> str:
        """One line for failure messages."""
        outcome = "ok" if self.ok else f"{self.status} code={self.error_code}"
        text = f"#{self.index} {self.method} {self.path} {self.body!r} -> {outcome}"
        return text if len(text) <= 300 else text[:297] + "..."


@dataclass
class StoredMedia:
    """Bytes held by the fake: uploaded by the bot or sent by a user."""

    id: str
    content: bytes
    mime_type: str
    filename: str | None = None
    deleted: bool = False


@dataclass
class FakeTemplate:
    """An approved message template; parameter counts come from ``{{n}}`` in the texts."""

    name: str
    language: str
    body: str
    header: str | None = None
    quick_replies: tuple[str, ...] = ()
    category: str = "UTILITY"
    id: str = ""
    status: str = "APPROVED"  # or PENDING, REJECTED, PAUSED, DISABLED

    @staticmethod
    def count_params(text: str | None) -> int:
        """Number of distinct ``{{n}}`` variables."""
        return len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", text or "")))

    def to_json(self) -> JsonDict:
        """The shape of ``GET /{waba_id}/message_templates`` items."""
        components: list[JsonDict] = []
        if self.header is not None:
            components.append({"type": "HEADER", "format": "TEXT", "text": self.header})
        components.append({"type": "BODY", "text": self.body})
        if self.quick_replies:
            buttons = [{"type": "QUICK_REPLY", "text": t} for t in self.quick_replies]
            components.append({"type": "BUTTONS", "buttons": buttons})
        return {
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "parameter_format": "POSITIONAL",
            "components": components,
            "id": self.id,
        }


@dataclass
class SentMessage:
    """A message the bot sent to a user, as the fake accepted it."""

    wamid: str
    to: str
    type: str
    payload: JsonDict  # the object under the ``type`` key
    time: float
    tracker: str | None = None
    reply_to: str | None = None
    statuses: list[str] = field(default_factory=list)

    @property
    def interactive_type(self) -> str | None:
        """``button``, ``list``, ``cta_url``... for interactive messages."""
        return str(self.payload["type"]) if self.type == "interactive" else None

    @property
    def text(self) -> str:
        """The text the user reads: body of a text or interactive message, or a caption."""
        if self.type == "text":
            return str(self.payload["body"])
        if self.type == "interactive":
            return str(self.payload.get("body", {}).get("text", ""))
        return str(self.payload.get("caption", ""))

    def buttons(self) -> list[str]:
        """Titles of reply buttons, in order."""
        if self.interactive_type != "button":
            return []
        return [b["reply"]["title"] for b in self.payload["action"]["buttons"]]

    def button_id(self, title_prefix: str) -> str:
        """The reply id of the button whose title starts with ``title_prefix``."""
        for button in self.payload["action"]["buttons"]:
            if button["reply"]["title"].startswith(title_prefix):
                return str(button["reply"]["id"])
        msg = f"no button {title_prefix!r} in {self.buttons()}"
        raise AssertionError(msg)

    def rows(self) -> list[JsonDict]:
        """Rows of a list message, all sections together."""
        if self.interactive_type != "list":
            return []
        return [row for s in self.payload["action"]["sections"] for row in s["rows"]]

    def cta(self) -> tuple[str, str] | None:
        """``(display_text, url)`` of a CTA URL message."""
        if self.interactive_type != "cta_url":
            return None
        params = self.payload["action"]["parameters"]
        return str(params["display_text"]), str(params["url"])
