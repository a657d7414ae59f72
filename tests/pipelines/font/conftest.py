"""Shared fixtures: a few real system faces (fonts-dejavu-core) as a small corpus."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
REAL_FACES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")


@pytest.fixture(scope="session")
def real_font_dir(tmp_path_factory) -> Path:
    """A folder holding four DejaVu faces (from the Debian package fonts-dejavu-core)."""
    missing = [name for name in REAL_FACES if not (DEJAVU / name).is_file()]
    assert not missing, f"install fonts-dejavu-core (missing {missing})"
    folder = tmp_path_factory.mktemp("real-fonts")
    for name in REAL_FACES:
        shutil.copy(DEJAVU / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def small_corpus(real_font_dir, tmp_path_factory) -> Path:
    from creative_gan.pipelines.font.corpus import build_corpus

    out = tmp_path_factory.mktemp("font-corpus")
    build_corpus(out, [str(real_font_dir)], size=32, progress=False)
    return out
