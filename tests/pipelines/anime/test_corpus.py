"""Anime corpora: procedural faces, building from a messy image folder, face cropping, inspection."""
import json
import sys

import numpy as np
import pytest
from PIL import Image

from creative_gan.cli import main as cli_main
from creative_gan.errors import UsageError
from creative_gan.pipelines.anime.data.corpus import AnimeCorpus, read_corpus
from creative_gan.pipelines.anime.data.crop import crop_face, detect_faces, square_around
from creative_gan.pipelines.anime.data.folder import build_folder_corpus, dhash
from creative_gan.pipelines.anime.data.procedural import ATTRIBUTES, HAIR_COLOURS, render_corpus, render_face


# ------------------------------------------------------------------ procedural faces
def test_procedural_faces_are_seeded_varied_and_labelled():
    a, attrs_a = render_face(0, 5)
    b, attrs_b = render_face(0, 5)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and attrs_a == attrs_b
    other, _ = render_face(1, 5)
    assert not np.array_equal(a, other)
    images, labels = render_corpus(120, seed=0, progress=False)
    assert labels.shape == (120, len(ATTRIBUTES))
    for column, values in enumerate(ATTRIBUTES.values()):
        assert labels[:, column].min() >= 0 and labels[:, column].max() < len(values)
    assert set(labels[:, 0]) == set(range(len(HAIR_COLOURS)))  # every hair colour drawn
    # not flat shapes on white: every face has many colours and real contrast
    assert all(len(np.unique(img.reshape(-1, 3), axis=0)) > 200 for img in images[:10])
    assert images.std(axis=(1, 2, 3)).min() > 25
    assert render_face(0, 0, 128)[0].shape == (128, 128, 3)  # the 128-px corpus size


# ------------------------------------------------------------------ folder corpus
def _face(seed, index, size=128):
    return Image.fromarray(render_face(seed, index, size)[0])


@pytest.fixture
def messy_folder(tmp_path):
    root = tmp_path / "images"
    (root / "nested" / "deeper").mkdir(parents=True)
    _face(7, 0).save(root / "good.png")
    _face(7, 1).save(root / "nested" / "good.jpg", quality=95)
    _face(7, 2).save(root / "nested" / "deeper" / "good.webp")
    _face(7, 3).convert("L").save(root / "grey.png")
    rgba = _face(7, 4).convert("RGBA")
    alpha = np.full((128, 128), 255, np.uint8)
    alpha[:, :16] = 0  # a transparent left strip: must come out white
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(root / "rgba.png")
    _face(7, 5).convert("P", palette=Image.ADAPTIVE).save(root / "palette.png")
    _face(7, 0).save(root / "zz_copy_of_good.png")                   # exact duplicate (sorted last)
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "truncated.png").write_bytes((root / "good.png").read_bytes()[:200])
    (root / "readme.txt").write_text("not an image")
    Image.new("RGB", (12, 40), (200, 0, 0)).save(root / "tiny.png")
    (root / ".hidden.png").write_bytes(b"ignored")
    return root


def test_folder_corpus_skips_bad_files_with_counts_and_converts_modes(messy_folder, tmp_path):
    out = tmp_path / "corpus"
    index = build_folder_corpus(messy_folder, out, size=64, progress=False)
    assert index["skipped"] == {"duplicate": 1, "not_image": 1, "too_small": 1, "unreadable": 2}
    sources = [item["source"] for item in index["items"]]
    assert sources == ["good.png", "grey.png", "nested/deeper/good.webp", "nested/good.jpg", "palette.png",
                       "rgba.png"]
    images, meta = read_corpus(out)
    assert images.shape == (6, 64, 64, 3) and images.dtype == np.uint8 and meta["count"] == 6
    grey = images[sources.index("grey.png")].astype(int)
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1  # grey stays grey, now as RGB
    rgba = images[sources.index("rgba.png")]
    assert rgba[:, :6].min() >= 250  # transparency composited over white
    palette = images[sources.index("palette.png")].astype(float)
    original = np.asarray(_face(7, 5).resize((64, 64), Image.LANCZOS), float)
    assert np.abs(palette - original).mean() < 12  # palette image converted to its real colours
    dataset = AnimeCorpus.from_folder(out, 64)
    batch = dataset.get_batch([0, 3])["x"]
    assert batch.shape == (2, 3, 64, 64) and -1 <= batch.min() and batch.max() <= 1
    assert AnimeCorpus.from_folder(out, 32).get_batch([0])["x"].shape == (1, 3, 32, 32)


def test_near_duplicates_are_dropped(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    base = _face(9, 0)
    base.save(root / "a.png")
    shifted = np.asarray(base).astype(int)
    shifted[::7, ::7] += 3  # a few pixels touched: same picture
    Image.fromarray(shifted.clip(0, 255).astype(np.uint8)).save(root / "b.png")
    _face(9, 1).save(root / "c.png")
    index = build_folder_corpus(root, tmp_path / "out", progress=False)
    assert [i["source"] for i in index["items"]] == ["a.png", "c.png"]
    assert index["skipped"] == {"near_duplicate": 1}
    assert dhash(np.asarray(base)) != dhash(np.asarray(_face(9, 1)))


def test_folder_errors_are_one_clear_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.txt").write_text("no images")
    with pytest.raises(UsageError, match="no usable image.*not_image 1"):
        build_folder_corpus(empty, tmp_path / "out", progress=False)
    with pytest.raises(UsageError, match="no such folder"):
        build_folder_corpus(tmp_path / "missing", tmp_path / "out", progress=False)
    with pytest.raises(UsageError, match="not an anime corpus"):
        read_corpus(empty)


def test_cli_builds_inspects_and_refuses_to_overwrite(messy_folder, tmp_path, capsys):
    out = tmp_path / "corpus"
    assert cli_main(["data", "anime", "--images", str(messy_folder), "--out", str(out), "--no-progress"]) == 0
    assert "kept 6 of 11 files" in capsys.readouterr().out
    before = (out / "images.npy").read_bytes()
    assert cli_main(["data", "anime", "--procedural", "5", "--out", str(out), "--no-progress"]) == 2
    assert "already holds a corpus" in capsys.readouterr().err
    assert (out / "images.npy").read_bytes() == before  # nothing lost
    assert cli_main(["data", "anime", "--inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 images of 64×64" in text and "unreadable 2" in text
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.size[0] >= 6 * 64
    proc = tmp_path / "proc"
    assert cli_main(["data", "anime", "--procedural", "30", "--seed", "2", "--out", str(proc), "--no-progress"]) == 0
    meta = json.loads((proc / "index.json").read_text())
    assert meta["source"] == "procedural" and set(meta["attributes"]) == set(ATTRIBUTES)
    capsys.readouterr()
    assert cli_main(["data", "anime", "--inspect", str(proc), "--out", str(tmp_path / "sheet.png")]) == 0
    assert "hair_colour:" in capsys.readouterr().out and (tmp_path / "sheet.png").is_file()


# ------------------------------------------------------------------ face cropping
def _face_on_canvas():
    """A drawn 256-px face pasted at (120, 40) on a 520×360 canvas with a plain backdrop."""
    canvas = Image.new("RGB", (520, 360), (210, 225, 240))
    canvas.paste(_face(0, 1).resize((256, 256), Image.LANCZOS), (120, 40))
    return canvas


def test_face_detection_and_crop_on_a_drawn_face():
    canvas = _face_on_canvas()
    faces = detect_faces(canvas)
    assert faces, "the detector found no face in a drawn anime face"
    (x, y, w, h), likelihood = max(faces, key=lambda f: f[0][2])
    assert likelihood > 0.5
    # the box lies on the pasted face (x 120–376, y 40–296), around its eyes
    assert 120 <= x and x + w <= 376 and 40 <= y and y + h <= 296 and w > 60
    crop = crop_face(canvas, margin=0.3)
    assert crop.size[0] == crop.size[1] and crop.size[0] == round(max(w, h) * 1.6)
    assert detect_faces(Image.new("RGB", (300, 300), (128, 128, 128))) == []
    assert crop_face(Image.new("RGB", (300, 300), (128, 128, 128))) is None


def test_square_around_stays_inside_the_image():
    assert square_around((0, 0, 50, 50), (100, 80), margin=0.3) == (0, 0, 80, 80)
    assert square_around((90, 60, 10, 10), (100, 80), margin=0.0) == (90, 60, 10, 10)
    left, top, side, _ = square_around((80, 10, 30, 30), (100, 200), margin=0.5)
    assert left + side <= 100 and side == 60
    with pytest.raises(UsageError):
        square_around((0, 0, 5, 5), (10, 10), margin=-1)


def test_crop_faces_corpus_counts_images_without_a_face(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    _face_on_canvas().save(root / "face.png")
    Image.new("RGB", (200, 200), (30, 90, 60)).save(root / "wall.png")
    index = build_folder_corpus(root, tmp_path / "out", crop_faces=True, progress=False)
    assert index["skipped"] == {"no_face": 1} and index["items"] == [{"source": "face.png"}]


def test_crop_faces_without_the_package_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "animeface", None)
    monkeypatch.setitem(sys.modules, "animeface._nvxs", None)
    with pytest.raises(UsageError, match="pip install animeface"):
        build_folder_corpus(tmp_path, tmp_path / "out", crop_faces=True, progress=False)
