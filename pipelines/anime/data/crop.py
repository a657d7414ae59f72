"""Anime-face detection and square cropping with the ``animeface`` package (nvxs detector, offline).

``animeface`` (PyPI, Apache-2.0) ships its detector inside the wheel; it is optional: without it,
``--crop-faces`` stops with one clear line saying how to install it.

Compatibility note: ``animeface`` 2.0.3's C extension reads Pillow's *internal* image struct in the
Pillow 10 layout. Pillow 11 changed that struct, and ``animeface.detect`` then silently finds no face
in any image. :func:`detect_faces` therefore hands the extension the RGB pixels in a buffer laid out
as it expects (a read-only view of a numpy array we own), whatever Pillow is installed.
"""
from __future__ import annotations

import ctypes

import numpy as np
from PIL import Image

from creative_gan.errors import UsageError

#: (x, y, width, height) in pixels of the source image
Box = tuple[int, int, int, int]


class _ImagingMemory(ctypes.Structure):
    """Pillow 10's ``struct ImagingMemoryInstance`` (the fields the detector reads, in order)."""

    _fields_ = [("mode", ctypes.c_char * 7), ("type", ctypes.c_int), ("depth", ctypes.c_int),
                ("bands", ctypes.c_int), ("xsize", ctypes.c_int), ("ysize", ctypes.c_int),
                ("palette", ctypes.c_void_p), ("image8", ctypes.c_void_p), ("image32", ctypes.c_void_p),
                ("image", ctypes.c_void_p), ("block", ctypes.c_void_p), ("blocks", ctypes.c_void_p),
                ("pixelsize", ctypes.c_int), ("linesize", ctypes.c_int), ("destroy", ctypes.c_void_p)]


class _ImagingObject(ctypes.Structure):
    """Pillow's ``ImagingObject``: the Python object header, then the image pointer."""

    _fields_ = [("ob_refcnt", ctypes.c_ssize_t), ("ob_type", ctypes.c_void_p), ("image", ctypes.c_void_p),
                ("access", ctypes.c_void_p)]


def _native_detector():
    try:
        from animeface import _nvxs
    except ImportError:
        raise UsageError("face cropping needs the optional `animeface` package: pip install animeface "
                         "(or leave out --crop-faces)") from None
    if not hasattr(_nvxs, "__file__") or not str(_nvxs.__file__).endswith((".so", ".pyd")):
        raise UsageError("the installed `animeface` lacks its compiled detector; reinstall it from a wheel "
                         "(pip install --force-reinstall animeface)")
    return _nvxs.detect


def detect_faces(image: Image.Image) -> list[tuple[Box, float]]:
    """Anime faces in ``image`` as ``[((x, y, w, h), likelihood), …]`` (any Pillow mode; RGB is used)."""
    detect = _native_detector()
    rgbx = np.array(image.convert("RGBA"), dtype=np.uint8, order="C")  # 4 bytes per pixel, as Pillow stores RGB
    rgbx[..., 3] = 255
    height, width = rgbx.shape[:2]
    rows = (ctypes.c_void_p * height)(*[rgbx.ctypes.data + y * width * 4 for y in range(height)])
    memory = _ImagingMemory(mode=b"RGB", type=0, depth=8, bands=3, xsize=width, ysize=height,
                            image32=ctypes.addressof(rows), image=ctypes.addressof(rows),
                            pixelsize=4, linesize=width * 4)
    core_type = type(Image.new("RGB", (1, 1)).im)  # ImagingCore: the type the extension expects
    # a permanent reference count: Python never tries to free this stand-in object
    header = _ImagingObject(ob_refcnt=1 << 40, ob_type=id(core_type), image=ctypes.addressof(memory))
    stand_in = ctypes.cast(ctypes.addressof(header), ctypes.py_object).value
    try:
        results = detect(stand_in)
    finally:
        del stand_in
    del rows, memory, header, rgbx  # kept alive until the detector returned
    return [(tuple(int(v) for v in r["face_box"]), float(r["likelihood"])) for r in results]


def largest_face(image: Image.Image) -> Box | None:
    """The largest detected face's box, or None when there is none."""
    faces = detect_faces(image)
    if not faces:
        return None
    return max(faces, key=lambda face: face[0][2] * face[0][3])[0]


def square_around(box: Box, image_size: tuple[int, int], margin: float = 0.3) -> Box:
    """A square ``(x, y, side, side)`` centred on ``box``, grown by ``margin`` × the box side on each
    side, and moved (then shrunk, if it must) to lie inside an image of ``image_size = (W, H)``."""
    if margin < 0:
        raise UsageError(f"margin must be >= 0 (got {margin})")
    x, y, w, h = box
    width, height = image_size
    side = int(round(max(w, h) * (1 + 2 * margin)))
    side = max(1, min(side, width, height))
    cx, cy = x + w / 2, y + h / 2
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return left, top, side, side


def crop_face(image: Image.Image, margin: float = 0.3) -> Image.Image | None:
    """The square crop around the largest anime face (with ``margin``), or None when no face is found."""
    box = largest_face(image)
    if box is None:
        return None
    left, top, side, _ = square_around(box, image.size, margin)
    return image.crop((left, top, left + side, top + side))
