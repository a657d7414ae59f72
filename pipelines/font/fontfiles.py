"""Finding font faces on disk and reading what their tables say (names, licence, OS/2, post, PANOSE).

A *face* is one font inside a file: a ``.ttf``/``.otf`` holds one, a ``.ttc``/``.otc`` collection
several (``index`` picks one). Nothing here raises on a bad file: :func:`read_face_info` returns
``None`` with a reason, so a corpus scan counts bad files instead of crashing.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .charset import CHARACTERS

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
#: where the system keeps fonts (Linux, macOS, Windows); missing folders are ignored
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/share/texmf/fonts/opentype", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
                    "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")
#: families kept out of the default corpus: the independent held-out reconstruction check
HELD_OUT_FAMILIES = re.compile(
    r"^(latin modern|lm (roman|sans|mono|math)|computer modern|cmu\b|"
    r"stix(\b|two|general|size|integrals|variants|nonunicode|math))", re.IGNORECASE)


def is_held_out_family(family: str) -> bool:
    """True for the Computer Modern, Latin Modern and STIX families (matched on the family name)."""
    return bool(HELD_OUT_FAMILIES.match(" ".join(family.split())))


def find_font_files(dirs: list[str] | tuple[str, ...] | None = None) -> list[Path]:
    """All font files (by suffix) under ``dirs`` (default: the system font folders), sorted."""
    roots = [Path(os.path.expanduser(d)) for d in (dirs or SYSTEM_FONT_DIRS)]
    found: set[Path] = set()
    for root in roots:
        if root.is_file():
            found.add(root)
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    found.add(path)
    return sorted(found)


@dataclass
class FaceInfo:
    """What the tables of one face say. Units: weight class 1–1000, italic angle in degrees."""

    path: str
    index: int
    family: str
    style: str
    licence: str
    weight_class: int
    width_class: int
    italic_angle: float
    panose_weight: int
    panose_proportion: int
    is_fixed_pitch: bool
    italic_bit: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _name(font, *ids: int) -> str:
    table = font["name"] if "name" in font else None
    if table is None:
        return ""
    for name_id in ids:
        record = table.getDebugName(name_id)
        if record:
            return str(record).strip()
    return ""


def face_count(path: Path) -> int:
    """Number of faces in a font file (0 when it is not a font fontTools can open)."""
    from fontTools.ttLib import TTCollection, TTLibError

    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head == b"ttcf":
            return len(TTCollection(str(path), lazy=True).fonts)
        if head in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
            return 1
    except (OSError, TTLibError, Exception):  # noqa: BLE001 - any failure means "not a usable font"
        return 0
    return 0


def read_face_info(path: Path, index: int = 0) -> tuple[FaceInfo | None, str]:
    """``(FaceInfo, "")`` for a usable face, else ``(None, reason)`` where reason is one of
    ``"corrupt"`` (fontTools cannot read it) or ``"missing letters"`` (cmap lacks part of A–Z a–z 0–9)."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(str(path), fontNumber=index, lazy=True)
        cmap = font.getBestCmap() or {}
        family = _name(font, 16, 1)
        style = _name(font, 17, 2) or "Regular"
        os2 = font["OS/2"] if "OS/2" in font else None
        post = font["post"] if "post" in font else None
        panose = getattr(os2, "panose", None)
        info = FaceInfo(
            path=str(path), index=index, family=family, style=style,
            licence=_name(font, 13, 14, 0)[:300],
            weight_class=int(getattr(os2, "usWeightClass", 400) or 400),
            width_class=int(getattr(os2, "usWidthClass", 5) or 5),
            italic_angle=float(getattr(post, "italicAngle", 0.0) or 0.0),
            panose_weight=int(getattr(panose, "bWeight", 0) or 0),
            panose_proportion=int(getattr(panose, "bProportion", 0) or 0),
            is_fixed_pitch=bool(getattr(post, "isFixedPitch", 0)),
            italic_bit=bool(int(getattr(os2, "fsSelection", 0) or 0) & 1),
        )
        font.close()
    except Exception:  # noqa: BLE001 - fontTools raises many types on damaged files
        return None, "corrupt"
    if not family:
        return None, "corrupt"
    if any(ord(c) not in cmap for c in CHARACTERS):
        return None, "missing letters"
    return info, ""
