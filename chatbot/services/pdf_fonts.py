"""TrueType fonts for the PDFs (lembar kendali, monthly report), so names in any script print.

DejaVu Sans is looked for where distributions install it, then in matplotlib's own data
folder (matplotlib is a dependency for the report's chart and ships DejaVu), so every
install finds it; fpdf2's built-in fonts know Latin-1 only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path


def _matplotlib_fonts() -> list[Path]:
    spec = find_spec("matplotlib")  # located, not imported
    if spec is None or spec.origin is None:
        return []
    return [Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"]


# Debian/Ubuntu, Fedora, Alpine/Arch, then matplotlib's copy.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    *_matplotlib_fonts(),
)


@dataclass(frozen=True)
class Fonts:
    """Regular, bold, and a monospace face (for hashes)."""

    regular: Path
    bold: Path
    mono: Path


def find_fonts(dirs: Sequence[Path] = FONT_DIRS) -> Fonts | None:
    for folder in dirs:
        fonts = Fonts(
            folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf", folder / "DejaVuSansMono.ttf"
        )
        if fonts.regular.is_file() and fonts.bold.is_file() and fonts.mono.is_file():
            return fonts
    return None


# Typographic marks that Latin-1 lacks, made plain.
_PLAIN = str.maketrans(
    {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "-"}
)


def latin1(text: str) -> str:
    """Text fpdf2's core fonts can print (when no TrueType font is found): Latin-1 kept,
    other letters without their marks, anything else "?"."""
    out = []
    for char in text.translate(_PLAIN):
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)
