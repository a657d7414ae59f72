"""Build a compact corpus from a folder of images (JPG, PNG, WebP, searched recursively).

Each file is opened with Pillow; what cannot be used is skipped and counted by reason:

- ``not_image``: a file whose suffix is not .jpg/.jpeg/.png/.webp;
- ``unreadable``: an image suffix but Pillow cannot decode it (corrupt, truncated, renamed text…);
- ``too_small``: shorter side below ``min_size`` pixels (before cropping);
- ``no_face``: with ``crop_faces``, no anime face was detected;
- ``duplicate`` / ``near_duplicate``: identical pixels after resizing / nearly the same picture as an
  image already kept (a dHash within 4 bits and a 16×16 colour thumbnail within ``near_duplicate_tolerance``
  RMS; see :class:`NearDuplicateIndex`); the first one in path order wins.

Grey, grey+alpha, palette, RGBA, CMYK and 16-bit images become RGB (transparency over white); EXIF
orientation is applied. Images are cropped to their central square (or the face square) and resized
with Lanczos to ``size``.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from creative_gan.errors import UsageError

from .corpus import write_corpus

SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
SIZES = (64, 128)
#: the dHash is 64 bits; split into this many bands, a pair within `bands - 1` bits shares one band exactly
HASH_BANDS = 5


def find_files(root: str | os.PathLike) -> list[Path]:
    """Every regular file under ``root`` (recursively), sorted by relative path; hidden files skipped."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder of images")
    files = [p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".")
                                                                    for part in p.relative_to(root).parts)]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency (RGBA, LA, palette with transparency) is composited on white."""
    image = ImageOps.exif_transpose(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray((array / peak * 255).clip(0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def centre_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def dhash(pixels: np.ndarray) -> int:
    """64-bit difference hash of ``uint8 [H, W, 3]``: 9×8 grey thumbnail, one bit per horizontal step."""
    grey = Image.fromarray(pixels).convert("L").resize((9, 8), Image.BILINEAR)
    a = np.asarray(grey, dtype=np.int16)
    bits = (a[:, 1:] > a[:, :-1]).reshape(-1)
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def thumbnail(pixels: np.ndarray) -> np.ndarray:
    """``float32 [16·16·3]`` in [0, 1]: the colour thumbnail near-duplicates are compared by."""
    return np.asarray(Image.fromarray(pixels).resize((16, 16), Image.BILINEAR), np.float32).reshape(-1) / 255.0


class NearDuplicateIndex:
    """Kept images' dHashes (banded lookup) and thumbnails.

    An image is a near duplicate of a kept one when their dHashes differ in at most ``HASH_BANDS - 1``
    bits (the banded lookup finds every such pair: one band must match exactly) *and* their colour
    thumbnails differ by at most ``tolerance`` RMS. The hash alone is too coarse for drawn faces, which
    share a layout (distinct procedural faces collide within 3 bits ~1.5% of the time).
    """

    def __init__(self, tolerance: float):
        if not 0.0 <= tolerance < 1.0:
            raise UsageError(f"near-duplicate tolerance must be in [0, 1) (got {tolerance})")
        self.tolerance = tolerance
        self.bands: list[dict[int, list[int]]] = [{} for _ in range(HASH_BANDS)]
        self.widths = [64 // HASH_BANDS + (1 if i < 64 % HASH_BANDS else 0) for i in range(HASH_BANDS)]
        self.hashes: list[int] = []
        self.thumbs: list[np.ndarray] = []

    def _keys(self, value: int) -> list[int]:
        keys, shift = [], 0
        for width in self.widths:
            keys.append((value >> shift) & ((1 << width) - 1))
            shift += width
        return keys

    def has_near(self, value: int, thumb: np.ndarray) -> bool:
        if self.tolerance <= 0:
            return False
        candidates = {k for band, key in zip(self.bands, self._keys(value)) for k in band.get(key, ())}
        for k in candidates:
            if bin(value ^ self.hashes[k]).count("1") < HASH_BANDS:
                if float(np.sqrt(np.mean((thumb - self.thumbs[k]) ** 2))) <= self.tolerance:
                    return True
        return False

    def add(self, value: int, thumb: np.ndarray) -> None:
        position = len(self.hashes)
        self.hashes.append(value)
        self.thumbs.append(thumb)
        for band, key in zip(self.bands, self._keys(value)):
            band.setdefault(key, []).append(position)


def build_folder_corpus(images_dir: str | os.PathLike, out_dir: str | os.PathLike, size: int = 64,
                        crop_faces: bool = False, margin: float = 0.3, min_size: int = 32,
                        near_duplicate_tolerance: float = 0.03, progress: bool = True) -> dict:
    """Read ``images_dir``, write ``out_dir`` (``images.npy`` + ``index.json``); returns the index dict."""
    from tqdm.auto import tqdm

    if size not in SIZES:
        raise UsageError(f"--size must be one of {SIZES} (got {size})")
    if min_size < 1:
        raise UsageError(f"min_size must be at least 1 (got {min_size})")
    root = Path(images_dir)
    out = Path(out_dir)
    if out.resolve() == root.resolve():
        raise UsageError("--out must differ from the image folder")
    if crop_faces:
        from .crop import crop_face, _native_detector
        _native_detector()  # fail before reading anything when the detector is missing
    skipped: Counter = Counter()
    seen_exact: set[bytes] = set()
    near = NearDuplicateIndex(near_duplicate_tolerance)
    kept, items = [], []
    files = find_files(root)
    for path in tqdm(files, desc="reading images", unit="file", disable=not progress):
        if path.suffix.lower() not in SUFFIXES:
            skipped["not_image"] += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # DecompressionBomb/EXIF warnings: the image is judged below
                with Image.open(path) as opened:
                    opened.load()
                    image = to_rgb(opened)
        except Exception:  # Pillow raises many kinds of error for a bad file: each is "unreadable"
            skipped["unreadable"] += 1
            continue
        if min(image.size) < min_size:
            skipped["too_small"] += 1
            continue
        if crop_faces:
            face = crop_face(image, margin)
            if face is None:
                skipped["no_face"] += 1
                continue
            image = face
        else:
            image = centre_square(image)
        pixels = np.asarray(image.resize((size, size), Image.LANCZOS), dtype=np.uint8)
        digest = hashlib.sha1(pixels.tobytes()).digest()
        if digest in seen_exact:
            skipped["duplicate"] += 1
            continue
        value, thumb = dhash(pixels), thumbnail(pixels)
        if near.has_near(value, thumb):
            skipped["near_duplicate"] += 1
            continue
        seen_exact.add(digest)
        near.add(value, thumb)
        kept.append(pixels)
        items.append({"source": path.relative_to(root).as_posix()})
    if not kept:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())) or "the folder is empty"
        raise UsageError(f"{root}: no usable image ({reasons})")
    index = {"source": "folder", "attributes": {}, "items": items, "files_seen": len(files),
             "skipped": dict(sorted(skipped.items())), "crop_faces": bool(crop_faces),
             "margin": margin if crop_faces else None, "near_duplicate_tolerance": near_duplicate_tolerance}
    write_corpus(out, np.stack(kept), index)
    return index
