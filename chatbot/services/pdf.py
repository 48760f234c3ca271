"""The PDF base the lembar kendali and the monthly report share: page, fonts, safe text.

Both are A4 portrait and print names in any script with DejaVu when it is installed
(`pdf_fonts.find_fonts`); without it they fall back to fpdf2's core fonts, which know
Latin-1 only, so every string goes through `t` or `clean` before it is drawn.
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

from chatbot.services.pdf_fonts import Fonts, latin1


class PdfDocument(FPDF):
    """An A4 portrait page with the body face in `body` (bold too) and `mono` for hashes."""

    def __init__(
        self,
        fonts: Fonts | None,
        *,
        margin: float,
        bottom: float,
        title: str,
        author: str,
        mono: bool = False,
    ) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.unicode = fonts is not None
        self.body, self.mono = "helvetica", "courier"
        self._cmap: Any = None
        if fonts is not None:
            self.add_font("dejavu", "", str(fonts.regular))
            self.add_font("dejavu", "B", str(fonts.bold))
            self.body = "dejavu"
            if mono:  # only a document that prints hashes embeds the third face
                self.add_font("dejavumono", "", str(fonts.mono))
                self.mono = "dejavumono"
            self._cmap = getattr(self.fonts.get("dejavu"), "cmap", None)
        self.set_margins(margin, margin, margin)
        self.set_auto_page_break(auto=True, margin=bottom)
        self.set_title(title)
        self.set_author(author)

    def t(self, text: str) -> str:
        """`text` as the page's font can take it (Latin-1 made plain for the core fonts)."""
        return text if self.unicode else latin1(text)

    def clean(self, text: object) -> str:
        """Like `t`, and a character DejaVu has no glyph for becomes "?" (never blank)."""
        value = str(text)
        if not self.unicode:
            return latin1(value)
        if not self._cmap:
            return value
        return "".join(c if ord(c) in self._cmap or c in "\n\t" else "?" for c in value)
