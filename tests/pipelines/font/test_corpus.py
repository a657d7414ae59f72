"""Corpus building: real faces, a font built here, bad files skipped with counts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from creative_gan.errors import UsageError
from creative_gan.pipelines.font.attributes import ATTRIBUTES
from creative_gan.pipelines.font.corpus import GlyphCorpus, build_corpus
from creative_gan.pipelines.font.fontfiles import is_held_out_family

from .fontmaker import make_font


def test_real_faces_rendered_on_one_baseline_and_measured(small_corpus):
    corpus = GlyphCorpus(small_corpus)
    assert len(corpus) == 4 and corpus.glyphs.shape == (4, 62, 32, 32)
    assert set(corpus.names()) == {"DejaVu Sans Book", "DejaVu Sans Bold", "DejaVu Serif Book", "DejaVu Sans Mono Book"}
    by_name = dict(zip(corpus.names(), corpus.faces))
    weight = {n: f["raw"]["weight"] for n, f in by_name.items()}
    assert weight["DejaVu Sans Bold"] > weight["DejaVu Sans Book"]
    mono = {n: f["raw"]["monospace"] for n, f in by_name.items()}
    assert mono["DejaVu Sans Mono Book"] == max(mono.values())
    serif = {n: f["raw"]["serif"] for n, f in by_name.items()}
    assert serif["DejaVu Serif Book"] > serif["DejaVu Sans Book"]
    assert all(0.0 <= f["attributes"][a] <= 1.0 for f in corpus.faces for a in ATTRIBUTES)
    assert all("Bitstream" in f["licence"] or "DejaVu" in f["licence"] or f["licence"] for f in corpus.faces)
    # common baseline: the bottom ink row of H is the same in every face; descenders go below it
    H, p = 7, 26 + 15
    bottoms = [np.flatnonzero(g[H].max(axis=1) > 127)[-1] for g in corpus.glyphs]
    assert max(bottoms) - min(bottoms) <= 1
    assert all(np.flatnonzero(g[p].max(axis=1) > 127)[-1] > b + 3 for g, b in zip(corpus.glyphs, bottoms))


def test_built_font_and_bad_files_are_counted(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    make_font(fonts / "box.ttf")
    make_font(fonts / "box-bold.ttf", style="Bold", stem=160)
    make_font(fonts / "nokay.ttf", family="Missing Q", skip="Qz")
    make_font(fonts / "stix.ttf", family="STIX Two Text")
    make_font(fonts / "dup.ttf")  # same family + style as box.ttf
    (fonts / "corrupt.ttf").write_bytes(b"\x00\x01\x00\x00" + bytes(range(256)) * 4)
    (fonts / "truncated.otf").write_bytes((fonts / "box.ttf").read_bytes()[:300])
    (fonts / "readme.txt").write_text("not a font")
    (fonts / "fake.ttf").write_text("plain text named like a font")
    summary = build_corpus(tmp_path / "out", [str(fonts)], size=32, progress=False)
    assert summary["num_faces"] == 2
    skipped = summary["skipped"]
    assert skipped["missing letters"] == 1
    assert skipped["held-out family"] == 1
    assert skipped["duplicate family+style"] == 1
    assert skipped["corrupt"] == 3
    assert skipped["not a font file"] == 1
    rows = json.loads((tmp_path / "out" / "faces.json").read_text())
    bold, regular = sorted(rows, key=lambda r: r["style"])
    assert bold["style"] == "Bold" and bold["raw"]["weight"] > regular["raw"]["weight"]
    glyphs = GlyphCorpus(tmp_path / "out").glyphs
    # the regular box's counter survives rendering: the centre of every glyph's ink box is paper
    for glyph in glyphs[[r["style"] for r in rows].index("Regular")]:
        rows, cols = np.flatnonzero(glyph.max(axis=1) > 127), np.flatnonzero(glyph.max(axis=0) > 127)
        assert glyph[(rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2] < 64


def test_held_out_corpus_and_errors(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    make_font(fonts / "lm.ttf", family="Latin Modern Roman")
    summary = build_corpus(tmp_path / "held", [str(fonts)], size=32, held_out=True, progress=False)
    assert summary["num_faces"] == 1 and summary["held_out"]
    with pytest.raises(UsageError, match="no usable font faces"):
        build_corpus(tmp_path / "none", [str(fonts)], size=32, progress=False)
    with pytest.raises(UsageError, match="--size"):
        build_corpus(tmp_path / "x", [str(fonts)], size=33)
    with pytest.raises(UsageError, match="no such"):
        build_corpus(tmp_path / "x", [str(tmp_path / "nowhere")], size=32)
    with pytest.raises(UsageError, match="not a font corpus"):
        GlyphCorpus(fonts)
    assert is_held_out_family("CMU Serif") and is_held_out_family("LM Roman 10")
    assert not is_held_out_family("DejaVu Sans") and not is_held_out_family("Stixish Grotesk")
