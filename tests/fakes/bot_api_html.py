"""Telegram's formatting parsers (HTML, MarkdownV2, legacy Markdown) for the fake Bot API.

Each parser turns the text a bot sends with ``parse_mode`` into the plain text Telegram
stores plus a list of MessageEntity dicts (UTF-16 offsets), or raises :class:`ParseError`
with the text Telegram puts after ``Bad Request: can't parse entities:``.
"""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

# Characters Telegram trims from both ends of a message after parsing entities.
TRIM_CHARS = " \t\n\r\v\f"

_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]+));")
_TAG_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_RE = re.compile(
    r"""\s*([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""",
)
MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


class ParseError(Exception):
    """Text after ``Bad Request: can't parse entities: ``."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of MessageEntity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Parse ``text`` for ``parse_mode`` and trim it like Telegram; return (plain, entities)."""
    mode = (parse_mode or "").lower()
    if mode == "":
        return trim(text, [])
    if mode == "html":
        return trim(*parse_html(text))
    if mode == "markdownv2":
        return trim(*parse_markdown_v2(text))
    if mode == "markdown":
        return trim(*parse_markdown(text))
    raise ValueError(parse_mode)


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace and shift/clip entities accordingly."""
    left = len(text) - len(text.lstrip(TRIM_CHARS))
    stripped = text.strip(TRIM_CHARS)
    shift = utf16_len(text[:left])
    total = utf16_len(stripped)
    out: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            out.append({**entity, "offset": start, "length": end - start})
    out.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, out


class _Builder:
    """Accumulates plain text and tracks the UTF-16 position."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[Entity] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.pos - start, **extra}
            )

    @property
    def text(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------------- HTML


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram's HTML subset."""
    out = _Builder()
    # stack items: (tag name, entity type, start position, attributes)
    stack: list[tuple[str, str, int, dict[str, str]]] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _ENTITY_RE.match(text, i)
            decoded = _decode_entity(match) if match else None
            if match and decoded is not None:
                out.add(decoded)
                i = match.end()
            else:
                out.add("&")
                i += 1
            continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise ParseError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {offset}")
            open_name, kind, start, open_attrs = stack.pop()
            if name and name != open_name:
                raise ParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            _close_html_entity(out, stack, open_name, kind, start, open_attrs)
            i = end + 1
            continue
        match = _TAG_NAME_RE.match(text, i + 1)
        name = match.group(0).lower() if match else ""
        if name not in _HTML_TAGS:
            raise ParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        assert match is not None
        j = match.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise ParseError(f'Unclosed start tag "{name}" at byte offset {offset}')
            if text[j] == ">":
                break
            attr = _ATTR_RE.match(text, j)
            if attr is None or attr.end() == j:
                raise ParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}"'
                )
            value = attr.group(2) if attr.group(2) is not None else attr.group(3)
            if value is None:
                value = attr.group(4) or ""
            attrs[attr.group(1).lower()] = _unescape(value)
            j = attr.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise ParseError('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and "emoji-id" not in attrs:
            raise ParseError('Tag "tg-emoji" must have attribute "emoji-id"')
        stack.append((name, _HTML_TAGS[name], out.pos, attrs))
        i = j + 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text, out.entities


def _close_html_entity(
    out: _Builder,
    stack: list[tuple[str, str, int, dict[str, str]]],
    name: str,
    kind: str,
    start: int,
    attrs: dict[str, str],
) -> None:
    if kind == "text_link":
        href = attrs.get("href", "")
        if href:
            out.entity("text_link", start, url=href)
        return
    if kind == "code" and stack and stack[-1][1] == "pre":
        language = attrs.get("class", "").removeprefix("language-")
        if language:
            stack[-1][3]["language"] = language
        return  # <pre><code> is a single pre entity
    if kind == "pre" and attrs.get("language"):
        out.entity("pre", start, language=attrs["language"])
        return
    if kind == "blockquote" and "expandable" in attrs:
        out.entity("expandable_blockquote", start)
        return
    if kind == "custom_emoji":
        out.entity("custom_emoji", start, custom_emoji_id=attrs["emoji-id"])
        return
    if kind == "date_time":
        extra: dict[str, Any] = {}
        if attrs.get("unix", "").isdigit():
            extra["unix_time"] = int(attrs["unix"])
        if attrs.get("format"):
            extra["date_time_format"] = attrs["format"]
        out.entity("date_time", start, **extra)
        return
    del name
    out.entity(kind, start)


def _decode_entity(match: re.Match[str]) -> str | None:
    hex_code, dec_code, named = match.groups()
    if named is not None:
        return _NAMED_ENTITIES.get(named)
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _unescape(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        decoded = _decode_entity(match)
        return decoded if decoded is not None else match.group(0)

    return _ENTITY_RE.sub(repl, value)


# ---------------------------------------------------------------------- MarkdownV2

_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2, including the "reserved character must be escaped" rule."""
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (entity type, start position, byte offset)
    i = 0
    n = len(text)
    line_start = True
    quote_start: int | None = None
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            line_start = False
            continue
        if char == "\n":
            if quote_start is not None and not text.startswith(">", i + 1):
                out.entity("blockquote", quote_start)
                quote_start = None
            out.add(char)
            i += 1
            line_start = True
            continue
        if line_start and char == ">":
            if quote_start is None:
                quote_start = out.pos
            i += 1
            line_start = False
            continue
        line_start = False
        if char not in MARKDOWN_V2_RESERVED:
            out.add(char)
            i += 1
            continue
        offset = _byte_offset(text, i)
        top = stack[-1][0] if stack else None
        # closing markers
        if top == "underline" and text.startswith("__", i):
            _, start, _ = stack.pop()
            out.entity("underline", start)
            i += 2
            continue
        if (
            (top == "bold" and char == "*")
            or (top == "italic" and char == "_")
            or (top == "strikethrough" and char == "~")
        ):
            _, start, _ = stack.pop()
            out.entity(top, start)
            i += 1
            continue
        if top == "spoiler" and text.startswith("||", i):
            _, start, _ = stack.pop()
            out.entity("spoiler", start)
            i += 2
            continue
        if top in {"text_link", "custom_emoji"} and char == "]":
            if not text.startswith("(", i + 1):
                raise ParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            url, i = _md2_read_until(text, i + 2, ")", offset)
            kind, start, _ = stack.pop()
            if kind == "custom_emoji":
                out.entity(kind, start, custom_emoji_id=url.rsplit("id=", 1)[-1])
            else:
                out.entity(kind, start, url=url)
            continue
        # opening markers
        if char == "*":
            stack.append(("bold", out.pos, offset))
            i += 1
        elif char == "_":
            if text.startswith("__", i):
                stack.append(("underline", out.pos, offset))
                i += 2
            else:
                stack.append(("italic", out.pos, offset))
                i += 1
        elif char == "~":
            stack.append(("strikethrough", out.pos, offset))
            i += 1
        elif char == "|" and text.startswith("||", i):
            stack.append(("spoiler", out.pos, offset))
            i += 2
        elif char == "[":
            stack.append(("text_link", out.pos, offset))
            i += 1
        elif char == "!" and text.startswith("![", i):
            stack.append(("custom_emoji", out.pos, offset))
            i += 2
        elif char == "`":
            i = _md2_code(text, i, out, offset)
        else:
            raise ParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    if stack:
        kind, _, offset = stack[-1]
        raise ParseError(f"Can't find end of {_MD2_NAMES[kind]} entity at byte offset {offset}")
    return out.text, out.entities


def _md2_read_until(text: str, i: int, closing: str, offset: int) -> tuple[str, int]:
    chunk: list[str] = []
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            chunk.append(text[i + 1])
            i += 2
            continue
        if text[i] == closing:
            return "".join(chunk), i + 1
        chunk.append(text[i])
        i += 1
    raise ParseError(f"Can't find end of a URL at byte offset {offset}")


def _md2_code(text: str, i: int, out: _Builder, offset: int) -> int:
    is_pre = text.startswith("```", i)
    i += 3 if is_pre else 1
    language = ""
    if is_pre:
        newline = text.find("\n", i)
        fence = text.find("```", i)
        if 0 <= newline < (fence if fence >= 0 else len(text)):
            language = text[i:newline]
            i = newline + 1
    start = out.pos
    chunk: list[str] = []
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            chunk.append(text[i + 1])
            i += 2
            continue
        if is_pre and text.startswith("```", i):
            out.add("".join(chunk))
            out.entity("pre", start, **({"language": language} if language else {}))
            return i + 3
        if not is_pre and text[i] == "`":
            out.add("".join(chunk))
            out.entity("code", start)
            return i + 1
        chunk.append(text[i])
        i += 1
    kind = "Pre" if is_pre else "Code"
    raise ParseError(f"Can't find end of {kind} entity at byte offset {offset}")


# ---------------------------------------------------------------------- legacy Markdown

_MD1_ENTITIES = {"*": "bold", "_": "italic", "`": "code"}


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (*bold*, _italic_, `code`, ```pre```, [text](url))."""
    out = _Builder()
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        offset = _byte_offset(text, i)
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise ParseError(f"Can't find end of the entity starting at byte offset {offset}")
            body = text[i + 3 : end]
            start = out.pos
            out.add(body)
            out.entity("pre", start)
            i = end + 3
            continue
        if char in _MD1_ENTITIES:
            end = text.find(char, i + 1)
            if end < 0:
                raise ParseError(f"Can't find end of the entity starting at byte offset {offset}")
            start = out.pos
            out.add(text[i + 1 : end])
            out.entity(_MD1_ENTITIES[char], start)
            i = end + 1
            continue
        if char == "[":
            close = text.find("](", i + 1)
            end = text.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                raise ParseError(f"Can't find end of the entity starting at byte offset {offset}")
            start = out.pos
            out.add(text[i + 1 : close])
            out.entity("text_link", start, url=text[close + 2 : end])
            i = end + 1
            continue
        out.add(char)
        i += 1
    return out.text, out.entities
