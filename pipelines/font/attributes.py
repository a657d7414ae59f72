"""The one attribute-measuring function: a face's glyph images in, its style attributes out.

The corpus labels real faces with it and the evaluator measures generated fonts with it, so
"requested vs measured" compares like with like. Raw measurements are ratios of lengths on the
glyph images (scale-free); :class:`AttributeScale` maps each to [0, 1] over a corpus.

Raw attributes (all ``float``):

- ``weight``: mean stroke thickness ÷ cap height (twice the distance transform on the stroke ridges);
- ``width``: mean ink width of the 52 letters ÷ cap height;
- ``slant``: shear dx/dy of the row centroids of upright-symmetric glyphs (tan of the slant angle);
- ``serif``: ink width at the feet of I, i, l ÷ their stem width, minus 1;
- ``contrast``: thick ÷ thin stroke of O and o (side stroke across the middle row vs top stroke);
- ``x_height``: ink height of x ÷ ink height of H;
- ``monospace``: ink width of i and l ÷ that of m and w.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .charset import CHARACTERS, INDEX

ATTRIBUTES: tuple[str, ...] = ("weight", "width", "slant", "serif", "contrast", "x_height", "monospace")
NUM_ATTRIBUTES = len(ATTRIBUTES)

WEIGHT_CHARS = "HIOlnoubdq"
SLANT_CHARS = "IHOlionNUu0"
SERIF_CHARS = "Iil"
CONTRAST_CHARS = "Oo"
LETTERS = CHARACTERS[:52]
#: attributes whose 0 is the raw value 0 (not the corpus's 2nd percentile)
ANCHORED_AT_ZERO = ("slant",)
#: measurements are taken on glyphs enlarged to this many pixels (sub-pixel stroke widths)
MEASURE_SIZE = 128


def _binary_at(glyphs: np.ndarray, chars: str, size: int) -> np.ndarray:
    """Ink masks ``bool [len(chars), size, size]`` of the named glyphs, bilinear-enlarged."""
    idx = [INDEX[c] for c in chars]
    x = torch.as_tensor(np.ascontiguousarray(glyphs[idx]), dtype=torch.float32)[:, None]
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x[:, 0] > 0.5).numpy()


def _rows_cols(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))


def _extent(mask: np.ndarray, axis: int) -> float:
    """Ink extent in pixels along ``axis`` (0: height, 1: width); 0 for an empty mask."""
    lines = np.flatnonzero(mask.any(axis=1 - axis))
    return float(lines[-1] - lines[0] + 1) if lines.size else 0.0


def _stroke_thickness(mask: np.ndarray) -> float:
    """Twice the mean distance-transform value on the ridge (local maxima) of the strokes, pixels."""
    if not mask.any():
        return 0.0
    dist = ndimage.distance_transform_edt(mask)
    ridge = (dist >= ndimage.maximum_filter(dist, size=3)) & (dist > 0)
    return float(2.0 * dist[ridge].mean() - 1.0)


def _shear(mask: np.ndarray) -> float | None:
    """Slope dx/dy (x right, y up) of the ink's row centroids, or None for a glyph too small to fit."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size < 4:
        return None
    cols = np.arange(mask.shape[1])
    weights = mask[rows].sum(axis=1)
    centroid = (mask[rows] * cols).sum(axis=1) / weights
    height = -rows.astype(np.float64)  # image rows grow downwards
    slope = np.polyfit(height, centroid, 1, w=np.sqrt(weights))[0]
    return float(slope)


def _run_at(line: np.ndarray, from_end: bool = False) -> float:
    """Length of the first run of ink along ``line`` (from its start, or from its end)."""
    line = line[::-1] if from_end else line
    on = np.flatnonzero(line)
    if on.size == 0:
        return 0.0
    start = on[0]
    off = np.flatnonzero(~line[start:])
    return float(off[0] if off.size else line.size - start)


def measure_raw(glyphs: np.ndarray) -> dict[str, float]:
    """Raw attributes of one face from its glyphs ``[62, H, W]`` (ink 1, paper 0; H = W).

    Accepts any float or uint8 stack (uint8 is divided by 255). See the module docstring for units.
    """
    glyphs = np.asarray(glyphs)
    if glyphs.ndim != 3 or glyphs.shape[0] != len(CHARACTERS):
        raise ValueError(f"expected glyphs [{len(CHARACTERS)}, H, W], got {list(glyphs.shape)}")
    glyphs = glyphs.astype(np.float32) / 255.0 if glyphs.dtype == np.uint8 else glyphs.astype(np.float32)
    size = MEASURE_SIZE
    letters = _binary_at(glyphs, LETTERS + "x", size)
    cap = _extent(letters[INDEX["H"]], 0) or size / 2.0
    widths = np.array([_extent(m, 1) for m in letters[:52]])
    weight = np.mean([_stroke_thickness(m) for m in _binary_at(glyphs, WEIGHT_CHARS, size)]) / cap
    shears = [s for s in (_shear(m) for m in _binary_at(glyphs, SLANT_CHARS, size)) if s is not None]
    serifs = []
    for mask in _binary_at(glyphs, SERIF_CHARS, size):
        rows, _ = _rows_cols(mask)
        if rows.size < 8:
            continue
        foot = mask[rows[-max(1, rows.size // 12):]].sum(axis=1).max()
        middle = np.median(mask[rows[rows.size // 3: 2 * rows.size // 3]].sum(axis=1))
        serifs.append(foot / max(middle, 1.0) - 1.0)
    contrasts = []
    for mask in _binary_at(glyphs, CONTRAST_CHARS, size):
        rows, cols = _rows_cols(mask)
        if rows.size < 4 or cols.size < 4:
            continue
        middle_row = mask[(rows[0] + rows[-1]) // 2]
        middle_col = mask[:, (cols[0] + cols[-1]) // 2]
        side = (_run_at(middle_row) + _run_at(middle_row, True)) / 2
        top = (_run_at(middle_col) + _run_at(middle_col, True)) / 2
        if min(side, top) > 0:
            contrasts.append(max(side, top) / min(side, top))
    narrow = widths[[INDEX["i"], INDEX["l"]]].mean()
    wide = widths[[INDEX["m"], INDEX["w"]]].mean()
    return {
        "weight": float(weight),
        "width": float(widths.mean() / cap),
        "slant": float(np.median(shears)) if shears else 0.0,
        "serif": float(np.mean(serifs)) if serifs else 0.0,
        "contrast": float(np.mean(contrasts)) if contrasts else 1.0,
        "x_height": float(_extent(letters[52], 0) / cap),
        "monospace": float(narrow / max(wide, 1.0)),
    }


@dataclass
class AttributeScale:
    """Per-attribute affine map raw → [0, 1]: the corpus's 2nd and 98th percentiles go to 0 and 1,
    except slant, whose 0 is upright (no shear) so that ``slant=0`` means upright glyphs."""

    low: dict[str, float]
    high: dict[str, float]

    @classmethod
    def fit(cls, raws: list[dict[str, float]]) -> "AttributeScale":
        low, high = {}, {}
        for name in ATTRIBUTES:
            values = np.array([r[name] for r in raws], dtype=np.float64)
            lo, hi = np.percentile(values, [2, 98]) if values.size else (0.0, 1.0)
            if name in ANCHORED_AT_ZERO:
                lo = 0.0
            low[name], high[name] = float(lo), float(hi if hi > lo else lo + 1e-6)
        return cls(low, high)

    def normalise(self, raw: dict[str, float], clip: bool = True) -> dict[str, float]:
        out = {}
        for name in ATTRIBUTES:
            value = (raw[name] - self.low[name]) / (self.high[name] - self.low[name])
            out[name] = float(np.clip(value, 0.0, 1.0)) if clip else float(value)
        return out

    def vector(self, raw: dict[str, float], clip: bool = True) -> np.ndarray:
        """``float32 [NUM_ATTRIBUTES]`` in :data:`ATTRIBUTES` order."""
        normed = self.normalise(raw, clip)
        return np.array([normed[n] for n in ATTRIBUTES], dtype=np.float32)

    def to_dict(self) -> dict:
        return {"low": dict(self.low), "high": dict(self.high)}

    @classmethod
    def from_dict(cls, data: dict) -> "AttributeScale":
        return cls({k: float(v) for k, v in data["low"].items()}, {k: float(v) for k, v in data["high"].items()})


def measure(glyphs: np.ndarray, scale: AttributeScale, clip: bool = False) -> dict[str, float]:
    """Attributes of one face in the corpus's [0, 1] scale (unclipped by default: a generated font
    may lie outside the corpus's range)."""
    return scale.normalise(measure_raw(glyphs), clip=clip)
