"""Meta's documented limits on a ``POST /{phone_number_id}/messages`` body, checked strictly.

Every check raises :class:`GraphError` with ``violation=True``: the real API would refuse the
call (mostly 131009 "Parameter value is not valid" or 100 "Invalid parameter"), and a bot
that makes it has a bug.  Lengths count code points, as Python's ``len``; how WhatsApp counts
emoji against the 20-character limits is to be verified on real phones (NOTES.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.fakes.graph_api_models import FakeTemplate, GraphError, JsonDict

TEXT_BODY_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
LIST_BODY_MAX = 4096
HEADER_MAX = FOOTER_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = SECTION_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
CTA_TEXT_MAX = 20
CAPTION_MAX = 1024
TRACKER_MAX = 512
MEDIA_TYPES = frozenset({"document", "image"})
SUPPORTED_TYPES = frozenset({"text", "interactive", "template", "reaction", *MEDIA_TYPES})
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_BAD_TEMPLATE_PARAM = re.compile(r"[\n\t]| {5,}")


def invalid(details: str, code: int = 131009) -> GraphError:
    """A refusal that only a buggy bot can cause."""
    return GraphError(code, details, violation=True)


def check_text_field(value: Any, what: str, maximum: int, *, minimum: int = 1) -> str:
    """A string of ``minimum..maximum`` characters."""
    if not isinstance(value, str):
        raise invalid(f"{what} must be a string", 100)
    if not minimum <= len(value) <= maximum:
        raise invalid(f"{what} length invalid. Min length: {minimum}, Max length: {maximum}")
    return value


def check_envelope(body: Any) -> tuple[str, str, JsonDict]:
    """The common part of a message body: returns ``(recipient, type, typed payload)``."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object", 100)
    if body.get("messaging_product") != "whatsapp":
        raise invalid("messaging_product must be 'whatsapp'", 100)
    if body.get("recipient_type", "individual") != "individual":
        raise invalid("only individual recipients are supported by the fake", 100)
    recipient = body.get("to") or body.get("recipient")
    if not isinstance(recipient, str) or not recipient:
        raise invalid("the parameter 'to' (or 'recipient') is required", 100)
    kind = body.get("type", "text")
    if kind not in SUPPORTED_TYPES:
        raise invalid(f"message type {kind!r} is not supported by the fake", 100)
    payload = body.get(kind)
    if not isinstance(payload, dict):
        raise invalid(f"the parameter {kind!r} is required", 100)
    tracker = body.get("biz_opaque_callback_data")
    if tracker is not None:
        check_text_field(tracker, "biz_opaque_callback_data", TRACKER_MAX)
    context = body.get("context")
    if context is not None and not isinstance((context or {}).get("message_id"), str):
        raise invalid("context.message_id is required", 100)
    return recipient, kind, payload


def check_text(payload: JsonDict) -> None:
    """``type: text``."""
    check_text_field(payload.get("body"), "text.body", TEXT_BODY_MAX)
    if not isinstance(payload.get("preview_url", False), bool):
        raise invalid("text.preview_url must be a boolean", 100)


def check_interactive(payload: JsonDict) -> None:
    """``type: interactive`` (reply buttons, list, CTA URL, contact request)."""
    kind = payload.get("type")
    checks = {
        "button": _check_buttons,
        "list": _check_list,
        "cta_url": _check_cta_url,
        "request_contact_info": _check_contact_request,
    }
    if kind not in checks:
        raise invalid(f"interactive type {kind!r} is not supported by the fake", 100)
    body_max = LIST_BODY_MAX if kind == "list" else INTERACTIVE_BODY_MAX
    check_text_field((payload.get("body") or {}).get("text"), "body.text", body_max)
    header = payload.get("header")
    if header is not None:
        if header.get("type") != "text":
            raise invalid("only text headers are supported by the fake", 100)
        check_text_field(header.get("text"), "header.text", HEADER_MAX)
    footer = payload.get("footer")
    if footer is not None:
        check_text_field(footer.get("text"), "footer.text", FOOTER_MAX)
    action = payload.get("action")
    if not isinstance(action, dict):
        raise invalid("interactive.action is required", 100)
    checks[kind](action)


def _check_buttons(action: JsonDict) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        count = len(buttons) if isinstance(buttons, list) else 0
        raise invalid(f"buttons: {count} elements; 1 to {BUTTONS_MAX} are allowed")
    ids: set[str] = set()
    titles: set[str] = set()
    for button in buttons:
        if button.get("type") != "reply" or not isinstance(button.get("reply"), dict):
            raise invalid("each button must be {'type': 'reply', 'reply': {...}}", 100)
        title = check_text_field(button["reply"].get("title"), "Button title", BUTTON_TITLE_MAX)
        reply_id = check_text_field(button["reply"].get("id"), "Button id", BUTTON_ID_MAX)
        if reply_id in ids:
            raise invalid(f"Button id is not unique: {reply_id!r}")
        if title in titles:
            raise invalid(f"Button title is not unique: {title!r}")
        ids.add(reply_id)
        titles.add(title)


def _check_list(action: JsonDict) -> None:
    check_text_field(action.get("button"), "List button text", LIST_BUTTON_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        raise invalid(f"sections: 1 to {LIST_SECTIONS_MAX} are allowed")
    rows = [row for section in sections for row in section.get("rows") or []]
    if not 1 <= len(rows) <= LIST_ROWS_MAX:
        raise invalid(f"Total row count exceed max allowed count: {LIST_ROWS_MAX} ({len(rows)})")
    for section in sections:
        if len(sections) > 1 or "title" in section:
            check_text_field(section.get("title"), "Section title", SECTION_TITLE_MAX)
        if not section.get("rows"):
            raise invalid("every section needs at least one row")
    ids: set[str] = set()
    for row in rows:
        check_text_field(row.get("title"), "Row title", ROW_TITLE_MAX)
        row_id = check_text_field(row.get("id"), "Row id", ROW_ID_MAX)
        if "description" in row:
            check_text_field(row["description"], "Row description", ROW_DESCRIPTION_MAX)
        if row_id in ids:
            raise invalid(f"Row id is not unique: {row_id!r}")
        ids.add(row_id)


def _check_cta_url(action: JsonDict) -> None:
    if action.get("name") != "cta_url":
        raise invalid("action.name must be 'cta_url'", 100)
    params = action.get("parameters") or {}
    check_text_field(params.get("display_text"), "display_text", CTA_TEXT_MAX)
    url = params.get("url")
    if not isinstance(url, str) or not _URL.match(url):
        raise invalid(f"url must be an http(s) URL, got {url!r}")


def _check_contact_request(action: JsonDict) -> None:
    """WhatsApp draws the button itself (a fixed label): the action is its name only."""
    if action != {"name": "request_contact_info"}:
        raise invalid("action must be {'name': 'request_contact_info'}", 100)


def check_media(kind: str, payload: JsonDict, known_media: Mapping[str, object]) -> None:
    """``type: document`` / ``image``: by uploaded id or https link."""
    media_id, link = payload.get("id"), payload.get("link")
    if (media_id is None) == (link is None):
        raise invalid(f"{kind} needs exactly one of 'id' or 'link'", 100)
    if media_id is not None and str(media_id) not in known_media:
        raise invalid(f"media id {media_id!r} does not exist", 131053)
    if link is not None and not (isinstance(link, str) and link.startswith("https://")):
        raise invalid(f"{kind}.link must be an https URL, got {link!r}", 100)
    if "caption" in payload:
        check_text_field(payload["caption"], "caption", CAPTION_MAX)
    if "filename" in payload and kind != "document":
        raise invalid("filename is only allowed for documents", 100)


def check_reaction(payload: JsonDict) -> None:
    """``type: reaction``: an emoji (or "" to remove) on a message id."""
    if not isinstance(payload.get("message_id"), str):
        raise invalid("reaction.message_id is required", 100)
    if not isinstance(payload.get("emoji"), str):
        raise invalid("reaction.emoji is required", 100)


def check_template(payload: JsonDict, templates: Mapping[tuple[str, str], FakeTemplate]) -> None:
    """``type: template``: an approved template with the right parameters."""
    name = payload.get("name")
    language = (payload.get("language") or {}).get("code")
    template = templates.get((str(name), str(language)))
    if template is None:
        details = f"template name ({name}) does not exist in {language}"
        raise GraphError(132001, details, violation=True)
    given: dict[str, list[JsonDict]] = {}
    buttons: list[JsonDict] = []
    for component in payload.get("components") or []:
        kind = str(component.get("type", "")).lower()
        if kind == "button":
            buttons.append(component)
        else:
            given.setdefault(kind, []).extend(component.get("parameters") or [])
    for kind, text in (("header", template.header), ("body", template.body)):
        expected, params = FakeTemplate.count_params(text), given.get(kind, [])
        if len(params) != expected:
            details = (
                f"{kind}: number of localizable_params ({len(params)}) does not match the "
                f"expected number of params ({expected})"
            )
            raise GraphError(132000, details, violation=True)
        for param in params:
            if param.get("type") == "text" and _BAD_TEMPLATE_PARAM.search(param.get("text", "")):
                raise GraphError(132018, violation=True)
    for button in buttons:
        index = int(button.get("index", -1))
        if str(button.get("sub_type", "")).lower() != "quick_reply" or not 0 <= index < len(
            template.quick_replies
        ):
            raise GraphError(132000, f"button index {index} is not a quick reply", violation=True)
        payloads = [p for p in button.get("parameters") or [] if p.get("type") == "payload"]
        if len(payloads) != 1:
            raise GraphError(132000, "a quick reply needs one payload parameter", violation=True)
