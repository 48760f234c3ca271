"""Our Reply as WhatsApp Cloud API messages, always within Meta's documented limits.

Text is our HTML (b, i, code; user data escaped by the writer) turned into WhatsApp's markup
(`*bold*`, `_italic_`, `` `code` ``, ```` ```block``` ````); WhatsApp has no escaping, so
entities are simply unescaped. Buttons with data become reply buttons (at most 3, titles
at most 20 characters) or else a list (at most 10 rows, titles at most 24; a longer label
is shortened with an ellipsis and given whole as the row's description); a button with a
URL becomes a CTA URL message, the URL then left out of the text; a request to share the
number (`Keyboard.SHARE_CONTACT`) becomes WhatsApp's `request_contact_info` message. What
WhatsApp cannot do is dropped: content protection, force-reply, edits (the messenger sends
anew). Almost every Reply is one message; a body too long for an interactive message goes
first as text.
`merged` joins a plain text reply onto the next one of the same answer (one tap, one
message: WhatsApp's pair rate is about one message per 6 s to one user).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from html import unescape
from typing import Any

from chatbot.conversations import texts as t
from chatbot.conversations.messages import Button, Keyboard, Reply

# Meta's limits (docs: messages reference; /work/shared/whatsapp/NOTES.md).
TEXT_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
LIST_BODY_MAX = 4096
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
LIST_BUTTON_MAX = 20
SECTION_TITLE_MAX = 24
CTA_TEXT_MAX = 20
CAPTION_MAX = 1024
ELLIPSIS = "…"

LIST_BUTTON = "Pilih"  # the label that opens a list
LIST_SECTION = "Pilihan"
MORE_CHOICES = "Pilihan lainnya:"  # body of a second list, or of buttons after a long text
CHOOSE = "Silakan pilih:"
# A contact request with buttons of its own (no such prompt today) cannot carry WhatsApp's
# contact button as well: the number is then asked as text.
SHARE_CONTACT_HINT = "Di WhatsApp: ketik nomor HP Anda, atau kirim kartu kontak Anda."
# The body of the contact request that follows a question too long to carry it.
SHARE_CONTACT_ASK = "Ketuk tombol di bawah untuk membagikan nomor HP Anda."
CONTACT_REQUEST = "request_contact_info"  # the interactive type and its action's name
# The one-time link is the only URL a requester is sent: it goes onto a CTA button.
LINK_LABEL = t.OPEN_RESULT

_URL = re.compile(r"https?://[^\s<>\"']+")
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r"<a\s[^>]*>(.*?)</a>", re.DOTALL)


@dataclass(frozen=True)
class Outgoing:
    """One Cloud API message: its `type` and the object under that key."""

    kind: str
    payload: dict[str, Any]


# ---- text ----------------------------------------------------------------------------------


def markup(html: str) -> str:
    """Our HTML as WhatsApp's markup: tags to markers, other tags dropped, entities unescaped."""
    text = _LINK.sub(r"\1", html)
    text = re.sub(r"<code>(.*?)</code>", _code, text, flags=re.DOTALL)
    text = re.sub(r"<i>(.*?)</i>", lambda m: _wrap(m.group(1), "_"), text, flags=re.DOTALL)
    text = re.sub(r"<b>(.*?)</b>", lambda m: _wrap(m.group(1), "*"), text, flags=re.DOTALL)
    return unescape(_TAG.sub("", text))


def _code(match: re.Match[str]) -> str:
    inner = match.group(1)
    if not inner.strip():
        return inner
    return f"```{inner}```" if "\n" in inner else _wrap(inner, "`")


def _wrap(inner: str, marker: str) -> str:
    """Markers hug the words (WhatsApp ignores `* x *`) and stay within a line."""
    lines = []
    for line in inner.split("\n"):
        core = line.strip()
        if not core:
            lines.append(line)
            continue
        start = line.index(core)
        lines.append(f"{line[:start]}{marker}{core}{marker}{line[start + len(core) :]}")
    return "\n".join(lines)


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _chunks(text: str, limit: int) -> list[str]:
    """Text split at paragraph, then line, then word boundaries into parts within `limit`."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind(sep, 0, limit) for sep in ("\n\n", "\n", " "))
        cut = cut if cut > 0 else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [part for part in parts if part] or ["."]


def _text(body: str) -> list[Outgoing]:
    return [
        Outgoing("text", {"body": part, "preview_url": False}) for part in _chunks(body, TEXT_MAX)
    ]


# ---- buttons -------------------------------------------------------------------------------


def _interactive(kind: str, body: str, action: dict[str, Any]) -> Outgoing:
    return Outgoing("interactive", {"type": kind, "body": {"text": body}, "action": action})


def _fits_reply_buttons(buttons: list[Button]) -> bool:
    labels = [b.label for b in buttons]
    return (
        len(buttons) <= BUTTONS_MAX
        and all(0 < len(label) <= BUTTON_TITLE_MAX for label in labels)
        and len(set(labels)) == len(labels)
        and all(0 < len(b.data) <= BUTTON_ID_MAX for b in buttons)
    )


def _reply_buttons(body: str, buttons: list[Button]) -> Outgoing:
    action = {
        "buttons": [{"type": "reply", "reply": {"id": b.data, "title": b.label}} for b in buttons]
    }
    return _interactive("button", body, action)


def _row(button: Button) -> dict[str, str]:
    row = {"id": button.data[:ROW_ID_MAX], "title": shorten(button.label, ROW_TITLE_MAX)}
    if len(button.label) > ROW_TITLE_MAX:
        row["description"] = shorten(button.label, ROW_DESCRIPTION_MAX)
    return row


def _list(body: str, buttons: list[Button]) -> Outgoing:
    section = {"title": LIST_SECTION, "rows": [_row(b) for b in buttons]}
    return _interactive("list", body, {"button": LIST_BUTTON, "sections": [section]})


def _choices(body: str, *, buttons: list[Button]) -> list[Outgoing]:
    """Buttons with data: one message of reply buttons, else lists of at most 10 rows."""
    if _fits_reply_buttons(buttons):
        return [_reply_buttons(body, buttons)]
    return [
        _list(body if start == 0 else MORE_CHOICES, buttons[start : start + LIST_ROWS_MAX])
        for start in range(0, len(buttons), LIST_ROWS_MAX)
    ]


def _cta(body: str, button: Button) -> Outgoing:
    label = shorten(button.label or LINK_LABEL, CTA_TEXT_MAX)
    parameters = {"display_text": label, "url": button.url}
    return _interactive("cta_url", body, {"name": "cta_url", "parameters": parameters})


def _without(text: str, url: str) -> str:
    """The text with the URL taken out (a button carries it), blank lines kept single."""
    text = text.replace(url, "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ---- a whole reply -------------------------------------------------------------------------


def render(reply: Reply) -> list[Outgoing]:
    """The WhatsApp messages showing `reply`, in order: almost always exactly one."""
    body = markup(reply.text).strip()
    buttons = [button for row in reply.buttons for button in row]
    if reply.keyboard is Keyboard.SHARE_CONTACT:
        if not buttons:  # WhatsApp's own "share contact info" button
            return _on_body(body, _contact_request, SHARE_CONTACT_ASK)
        body = f"{body}\n\n_{SHARE_CONTACT_HINT}_" if body else f"_{SHARE_CONTACT_HINT}_"
    links = [b for b in buttons if b.url]
    choices = [b for b in buttons if not b.url and b.data]
    if not links and not choices:
        found = _URL.findall(body)
        if len(found) == 1:  # the one-time link: on a button, not in the text
            links = [Button(LINK_LABEL, url=found[0])]
    for link in links:
        body = _without(body, str(link.url))
    messages: list[Outgoing] = []
    for link in links:
        messages += _on_body(body, partial(_ctas, link))
        body = MORE_CHOICES  # a second interactive message after the link's
    if choices:
        messages += _on_body(body, partial(_choices, buttons=choices))
    return messages or _text(body)


def merged(earlier: Reply, later: Reply) -> Reply | None:
    """`earlier`'s text above `later`'s, as one message, when `earlier` is plain text (no
    buttons, no contact request, no link that would take a CTA button) and the joined body
    still renders as `later` alone does (as many messages: within 1024 characters ahead of
    buttons, 4096 for text). None: they stay two messages."""
    if earlier.buttons or earlier.keyboard is Keyboard.SHARE_CONTACT:
        return None
    if _URL.search(markup(earlier.text)):
        return None
    joined = replace(
        later,
        text=f"{earlier.text.rstrip()}\n\n{later.text.lstrip()}",
        protect=earlier.protect or later.protect,
    )
    return joined if len(render(joined)) == len(render(later)) else None


def _ctas(link: Button, body: str) -> list[Outgoing]:
    return [_cta(body, link)]


def _contact_request(body: str) -> list[Outgoing]:
    """The request_contact_info message: WhatsApp's button (its label WhatsApp's own, in
    the user's language) that shares the user's number; the answer is a contact card with
    `origin: contact_request` (parse.py reads it as verified)."""
    return [_interactive(CONTACT_REQUEST, body, {"name": CONTACT_REQUEST})]


def _on_body(
    body: str, build: Callable[[str], list[Outgoing]], short: str = CHOOSE
) -> list[Outgoing]:
    """Interactive messages on `body`; a body too long for one (or none) goes ahead as
    text, the interactive part then on `short`."""
    if 0 < len(body) <= INTERACTIVE_BODY_MAX:
        return build(body)
    ahead = _text(body) if body else []
    return [*ahead, *build(short)]
