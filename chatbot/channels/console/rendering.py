"""How a message looks in the terminal: its text without HTML, its buttons row by row
(numbered to press them by typing the number), and the hints the console adds."""

from __future__ import annotations

import itertools
import re

from chatbot.conversations import texts as t
from chatbot.conversations.messages import Button, Keyboard, Reply

RULE = "──"
# Where a printed message's buttons go; numbered or not once the batch is printed.
BUTTONS_MARK = re.compile(r"\x00(\d+)\x00")
OLDER_BUTTONS = "  (tombol pesan ini tanpa nomor: angka memilih tombol pesan terbaru di bawah)"

Rows = tuple[tuple[Button, ...], ...]


def header(chat: str, note: str = "") -> str:
    """The line above a message naming the chat it went to: "── ke pemohon ──"."""
    return f"{RULE} ke {chat}{note} {RULE}"


def render(reply: Reply, mark: int | None = None) -> str:
    """A message as printed; with `mark`, its buttons are a placeholder numbered later."""
    lines = [t.plain(reply.text)]
    if mark is not None:
        lines.append(placeholder(mark))
    else:
        lines += button_lines(reply.buttons, numbered=True)
    if reply.keyboard is Keyboard.SHARE_CONTACT:
        lines.append(f"  💡 ketik :kontak untuk membagikan nomor ({t.SHARE_CONTACT})")
    if reply.force_reply:
        lines.append(
            "  ↩️ baris berikutnya yang Anda ketik di grup (:grup) menjadi balasan pesan ini"
        )
    return "\n".join(lines)


def placeholder(mark: int) -> str:
    """Where a message's buttons go until the batch is printed (see BUTTONS_MARK)."""
    return f"\x00{mark}\x00"


def button_lines(rows: Rows, *, numbered: bool) -> list[str]:
    """Buttons row by row: "[1] Lengkap  [2] Tidak lengkap", or with "·" when not numbered."""
    number = itertools.count(1)
    lines = []
    for row in rows:
        cells = []
        for button in row:
            link = f" → {button.url}" if button.url else ""
            cells.append(f"{f'[{next(number)}]' if numbered else '·'} {button.label}{link}")
        lines.append("  " + "  ".join(cells))
    return lines


def first_line(text: str, limit: int = 60) -> str:
    """What a message is, in a few words: its first line (HTML removed)."""
    line = next((part.strip() for part in t.plain(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
