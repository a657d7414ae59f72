"""The tiny preset trains; the shipped font-default answers the API and the CLI as documented."""
from __future__ import annotations

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from fontTools.ufoLib import UFOReader
from PIL import Image, ImageDraw, ImageFont

import creative_gan
from creative_gan.cli import main
from creative_gan.errors import UsageError
from creative_gan.pipelines.font.attributes import measure_raw
from creative_gan.pipelines.font.charset import CHARACTERS


@pytest.fixture(scope="module")
def font():
    return creative_gan.load("font-default")


def test_tiny_preset_trains_and_releases(small_corpus, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "font", "--preset", "tiny", "--data", str(small_corpus), "--out", str(out),
                 "--no-progress"]) == 0
    pipe = creative_gan.load(out / "model")
    glyphs = pipe.alphabet(weight=0.5, seed=3)
    assert glyphs.shape == (62, 1, 16, 16) and glyphs.dtype == np.float32
    assert np.abs(glyphs).max() <= 1.0
    assert np.array_equal(glyphs, creative_gan.load(out / "model").alphabet(weight=0.5, seed=3))
    assert len(pipe.reference_faces) == 4
    assert main(["train", "font", "--preset", "tiny", "--out", str(tmp_path / "x")]) == 2  # no --data


def test_weight_thickens_strokes_and_slant_zero_is_upright(font):
    weights = [measure_raw((font.alphabet(weight=w, seed=7)[:, 0] + 1) / 2)["weight"] for w in (0.1, 0.3, 0.5, 0.7, 0.9)]
    assert all(b > a for a, b in zip(weights, weights[1:])), weights
    upright = measure_raw((font.alphabet(slant=0.0, seed=7)[:, 0] + 1) / 2)["slant"]
    leaning = measure_raw((font.alphabet(slant=1.0, seed=7)[:, 0] + 1) / 2)["slant"]
    assert abs(upright) < np.tan(np.radians(2.0)) and leaning > np.tan(np.radians(8.0))


def test_like_interpolate_and_errors(font, real_font_dir):
    assert font.like("DejaVu Serif")["serif"] > font.like("DejaVu Sans")["serif"]
    from_file = font.like(real_font_dir / "DejaVuSans-Bold.ttf")
    assert from_file["weight"] == pytest.approx(font.like("DejaVu Sans Bold")["weight"], abs=0.05)
    steps = font.interpolate({"weight": 0.1}, {"weight": 0.9}, steps=3)
    assert [round(s["weight"], 2) for s in steps] == [0.1, 0.5, 0.9]
    with pytest.raises(UsageError, match="no reference face"):
        font.like("Helvetica Neue Ultra")
    with pytest.raises(UsageError, match="unknown attribute"):
        font.alphabet(boldness=1)
    with pytest.raises(UsageError, match="outside"):
        font.alphabet(weight=float("nan"))


def test_cli_exports_otf_and_ufo(tmp_path, capsys):
    otf = tmp_path / "t.otf"
    assert main(["export", "font", "--model", "font-default", "--attr", "weight=0.9", "--family-name", "Test",
                 "-o", str(otf), "--specimen", str(tmp_path / "sheet.png")]) == 0
    font = TTFont(str(otf))
    assert {ord(c) for c in CHARACTERS} <= set(font.getBestCmap())
    face = ImageFont.truetype(str(otf), 48)
    image = Image.new("L", (900, 90), 0)
    ImageDraw.Draw(image).text((5, 70), "Hamburgefonstiv 0123", font=face, fill=255, anchor="ls")
    assert (np.asarray(image) > 127).sum() > 3000
    assert main(["export", "font", "--model", "font-default", "--attr", "weight=0.9", "--family-name", "Test",
                 "-o", str(tmp_path / "t.ufo")]) == 0
    assert {ord(c) for c in CHARACTERS} <= set(UFOReader(str(tmp_path / "t.ufo")).getCharacterMapping())
    assert main(["export", "font", "--model", "font-default", "--attr", "heft=2", "--family-name", "T",
                 "-o", str(tmp_path / "u.otf")]) == 2
    assert "creative-gan: error: --attr" in capsys.readouterr().err
