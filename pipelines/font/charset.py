"""The 62 characters every face in the corpus covers and every generated font contains."""
from __future__ import annotations

import string

#: A–Z, a–z, 0–9 in this fixed order: index i of a glyph stack is CHARACTERS[i]
CHARACTERS: str = string.ascii_uppercase + string.ascii_lowercase + string.digits
NUM_CHARS: int = len(CHARACTERS)
INDEX: dict[str, int] = {c: i for i, c in enumerate(CHARACTERS)}


def glyph_name(char: str) -> str:
    """PostScript glyph name of a character of :data:`CHARACTERS` (``A``, ``a``, ``zero`` …)."""
    digits = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return digits[int(char)] if char.isdigit() else char
