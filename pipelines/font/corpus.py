"""Build a glyph corpus from font files: render A–Z a–z 0–9 of every face, measure its attributes.

Folder layout written by :func:`build_corpus` (and read by :class:`GlyphCorpus`)::

    glyphs.npz     "glyphs": uint8 [F, 62, S, S], ink 255 on paper 0
    faces.json     one row per face: file, index, family, style, licence, table values, raw and
                   normalised attributes
    corpus.json    size, attribute names and scale, skip counts, table agreement
    sheet.png      the first glyphs of a sample of faces, for looking at

Every glyph of every face is drawn at the same pixels-per-em on the same baseline (so x-height,
cap height, descenders and relative widths survive) and centred horizontally on its ink.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from creative_gan.errors import UsageError

from .attributes import ATTRIBUTES, AttributeScale, measure_raw
from .charset import CHARACTERS, NUM_CHARS
from .fontfiles import FONT_SUFFIXES, FaceInfo, face_count, find_font_files, is_held_out_family, read_face_info

#: pixels per em and baseline height as fractions of the square glyph image
EM_FRACTION = 0.72
BASELINE_FRACTION = 0.78
SIZES = (32, 48, 64, 96, 128)
#: faces are rendered at 64 px, 4× supersampled, and FreeType takes whole pixels for the size and the
#: baseline: these are the fractions the corpus images (and so the generated glyphs) really have
RENDER_SIZE = 64
FRAME_EM_FRACTION = round(EM_FRACTION * 4 * RENDER_SIZE) / (4 * RENDER_SIZE)
FRAME_BASELINE_FRACTION = round(BASELINE_FRACTION * 4 * RENDER_SIZE) / (4 * RENDER_SIZE)


def check_size(size: int) -> int:
    if int(size) not in SIZES:
        raise UsageError(f"--size must be one of {', '.join(map(str, SIZES))} (got {size})")
    return int(size)


def render_face(path: str | os.PathLike, index: int, size: int) -> tuple[np.ndarray, int]:
    """Glyphs ``uint8 [62, size, size]`` (ink 255) of one face and how many were clipped at the border.

    Rendered by FreeType (Pillow) 4× larger and box-filtered down, for smooth anti-aliased edges.
    """
    scale = 4
    big, clipped = render_face_large(path, index, size, scale)
    small = big.reshape(NUM_CHARS, size, scale, size, scale).astype(np.float32).mean(axis=(2, 4))
    return np.round(small).astype(np.uint8), clipped


def render_face_large(path: str | os.PathLike, index: int, size: int, scale: int = 4,
                      em_fraction: float = EM_FRACTION,
                      baseline_fraction: float = BASELINE_FRACTION) -> tuple[np.ndarray, int]:
    """The ``scale``× larger FreeType renderings behind :func:`render_face`: ``uint8 [62, scale·size,
    scale·size]`` (ink 255, same layout), and how many glyphs were clipped at the border.

    ``em_fraction`` / ``baseline_fraction``: pixels per em and baseline row as fractions of the image
    (rounded to whole pixels of the large image)."""
    big = size * scale
    font = ImageFont.truetype(str(path), size=max(1, round(em_fraction * big)), index=index)
    baseline = round(baseline_fraction * big)
    out = np.zeros((NUM_CHARS, big, big), np.uint8)
    clipped = 0
    for i, char in enumerate(CHARACTERS):
        canvas = Image.new("L", (3 * big, big), 0)
        ImageDraw.Draw(canvas).text((big, baseline), char, fill=255, font=font, anchor="ls")
        ink = np.asarray(canvas)
        cols = np.flatnonzero(ink.max(axis=0) > 0)
        if cols.size == 0:
            raise ValueError(f"glyph {char!r} renders empty")
        centre = (cols[0] + cols[-1] + 1) / 2
        left = int(round(centre - big / 2))
        crop = np.zeros((big, big), np.uint8)
        src_lo, src_hi = max(left, 0), min(left + big, ink.shape[1])
        crop[:, src_lo - left:src_hi - left] = ink[:, src_lo:src_hi]
        if cols[0] < left or cols[-1] >= left + big or ink[0].any() or ink[-1].any():
            clipped += 1
        out[i] = crop
    return out, clipped


def spearman(a, b) -> float:
    """Spearman rank correlation (average ranks for ties); nan when either side is constant."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def table_agreement(faces: list[dict]) -> dict[str, float]:
    """Spearman of measured attributes against what the font tables claim (see fontfiles.FaceInfo)."""
    raw = {n: [f["raw"][n] for f in faces] for n in ATTRIBUTES}
    panose = [(f["raw"]["weight"], f["panose_weight"]) for f in faces if f["panose_weight"] > 1]
    return {
        "weight_vs_usWeightClass": spearman(raw["weight"], [f["weight_class"] for f in faces]),
        "weight_vs_panose_weight": spearman(*zip(*panose)) if len(panose) > 2 else float("nan"),
        "slant_vs_italicAngle": spearman(raw["slant"], [-f["italic_angle"] for f in faces]),
        "width_vs_usWidthClass": spearman(raw["width"], [f["width_class"] for f in faces]),
        "monospace_vs_isFixedPitch": spearman(raw["monospace"], [int(f["is_fixed_pitch"]) for f in faces]),
    }


def _iter_faces(paths: list[Path], counts: Counter):
    for path in paths:
        if path.suffix.lower() not in FONT_SUFFIXES:
            counts["not a font file"] += 1
            continue
        n = face_count(path)
        if n == 0:
            counts["corrupt"] += 1
            continue
        for index in range(n):
            info, reason = read_face_info(path, index)
            if info is None:
                counts[reason] += 1
                continue
            yield info


def collect_faces(font_dirs: list[str] | None, held_out: bool = False,
                  progress: bool = True) -> tuple[list[tuple[FaceInfo, np.ndarray]], Counter, int]:
    """Render every usable face under ``font_dirs`` at 64 px.

    ``held_out=False`` keeps all faces except the Computer/Latin Modern and STIX families;
    ``held_out=True`` keeps only those. Returns (faces with glyphs, skip counts, clipped-glyph count).
    """
    from tqdm.auto import tqdm

    paths = find_font_files(font_dirs)
    counts: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    faces, clipped = [], 0
    for info in tqdm(list(_iter_faces(paths, counts)), desc="rendering faces", disable=not progress):
        if is_held_out_family(info.family) != held_out:
            counts["held-out family" if not held_out else "not held out"] += 1
            continue
        key = (info.family.lower(), info.style.lower())
        if key in seen:
            counts["duplicate family+style"] += 1
            continue
        try:
            glyphs, clip = render_face(info.path, info.index, RENDER_SIZE)
        except Exception:  # noqa: BLE001 - FreeType rejects some files fontTools accepted
            counts["corrupt"] += 1
            continue
        seen.add(key)
        faces.append((info, glyphs))
        clipped += clip
    return faces, counts, clipped


def resize_glyphs(glyphs: np.ndarray, size: int) -> np.ndarray:
    """``uint8 [..., S, S]`` → ``uint8 [..., size, size]`` (box filter down, bilinear up)."""
    if glyphs.shape[-1] == size:
        return glyphs
    import torch
    import torch.nn.functional as F

    lead = glyphs.shape[:-2]
    x = torch.as_tensor(glyphs.reshape(-1, 1, *glyphs.shape[-2:]), dtype=torch.float32)
    mode = "area" if size < glyphs.shape[-1] else "bilinear"
    y = F.interpolate(x, size=(size, size), mode=mode)
    return y.round().clamp(0, 255).to(torch.uint8).numpy().reshape(*lead, size, size)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def build_corpus(out: str | os.PathLike, font_dirs: list[str] | None = None, size: int = 64,
                 held_out: bool = False, scale: AttributeScale | None = None, progress: bool = True) -> dict:
    """Scan, render, measure and write a corpus folder; returns the ``corpus.json`` summary.

    ``scale`` fixes the attribute normalisation (e.g. a training corpus's, for a held-out set);
    by default it is fitted on the faces found.
    """
    import io

    size = check_size(size)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    for d in font_dirs or []:
        if not Path(os.path.expanduser(d)).exists():
            raise UsageError(f"--fonts {d}: no such file or folder")
    faces, counts, clipped = collect_faces(font_dirs, held_out=held_out, progress=progress)
    if not faces:
        raise UsageError("no usable font faces found (need files covering A–Z a–z 0–9)"
                         + (f"; skipped: {dict(counts)}" if counts else ""))
    faces.sort(key=lambda item: (item[0].family.lower(), item[0].style.lower()))
    raws = [measure_raw(glyphs) for _, glyphs in faces]
    scale = scale or AttributeScale.fit(raws)
    rows = []
    for (info, _), raw in zip(faces, raws):
        rows.append({**info.to_dict(), "raw": raw, "attributes": scale.normalise(raw)})
    stack = resize_glyphs(np.stack([g for _, g in faces]), size)
    summary = {
        "size": size, "num_faces": len(rows), "characters": CHARACTERS, "attributes": list(ATTRIBUTES),
        "scale": scale.to_dict(), "skipped": dict(sorted(counts.items())), "clipped_glyphs": clipped,
        "held_out": held_out, "table_agreement": table_agreement(rows),
    }
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, glyphs=stack)
    _atomic_write(out / "glyphs.npz", buffer.getvalue())
    _atomic_write(out / "faces.json", (json.dumps(rows, indent=1) + "\n").encode())
    _atomic_write(out / "corpus.json", (json.dumps(summary, indent=2) + "\n").encode())
    _write_sheet(stack, out / "sheet.png")
    return summary


def _write_sheet(stack: np.ndarray, path: Path, faces: int = 24, chars: str = "AaBbgQRSexz019") -> None:
    """Rows of faces (evenly spaced through the corpus) × a few characters, black on white."""
    from .charset import INDEX

    pick = np.linspace(0, len(stack) - 1, min(faces, len(stack))).round().astype(int)
    rows = [np.concatenate([255 - stack[f, INDEX[c]] for c in chars], axis=1) for f in pick]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


class GlyphCorpus:
    """A corpus folder in memory: ``glyphs uint8 [F, 62, S, S]``, ``faces`` rows, ``attributes [F, A]``."""

    def __init__(self, folder: str | os.PathLike):
        folder = Path(folder)
        for name in ("glyphs.npz", "faces.json", "corpus.json"):
            if not (folder / name).is_file():
                raise UsageError(f"{folder}: not a font corpus (no {name}; build one with "
                                 "`creative-gan data font --out DIR`)")
        try:
            with np.load(folder / "glyphs.npz", allow_pickle=False) as data:
                self.glyphs = data["glyphs"]
            self.faces = json.loads((folder / "faces.json").read_text())
            self.summary = json.loads((folder / "corpus.json").read_text())
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"{folder}: damaged font corpus ({exc})") from None
        if self.glyphs.ndim != 4 or self.glyphs.shape[0] != len(self.faces) or self.glyphs.shape[1] != NUM_CHARS:
            raise UsageError(f"{folder}: glyphs.npz does not match faces.json")
        self.folder = folder
        self.scale = AttributeScale.from_dict(self.summary["scale"])
        self.attributes = np.array([[f["attributes"][n] for n in ATTRIBUTES] for f in self.faces], np.float32)

    @property
    def size(self) -> int:
        return int(self.glyphs.shape[-1])

    def __len__(self) -> int:
        return len(self.faces)

    def names(self) -> list[str]:
        return [f"{f['family']} {f['style']}" for f in self.faces]
