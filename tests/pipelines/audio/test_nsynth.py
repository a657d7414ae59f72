"""NSynth JSON+WAV reader, writer and Dataset on tiny folders the tests write themselves."""

import json
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from creative_gan.pipelines.audio.constants import FAMILIES, NOTE_SAMPLES, SAMPLE_RATE
from creative_gan.pipelines.audio.data.nsynth import (
    CorpusError, CorpusWriter, NoteDataset, NSynthCorpus, make_note_str, read_corpus,
)

# (family, source, instrument, pitch, velocity) of the hand-written corpus: 2 instruments × 3 pitches × 2 velocities
NOTES = [(fam, src, inst, p, v) for fam, src, inst in (("keyboard", "acoustic", 4), ("string", "synthetic", 40))
         for p in (48, 60, 72) for v in (50, 100)]


def _tone(pitch: int, velocity: int) -> np.ndarray:
    t = np.arange(NOTE_SAMPLES) / SAMPLE_RATE
    return (velocity / 254 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t) * np.exp(-t)).astype(np.float32)


def _entry(fam, src, inst, p, v, note_id):
    """An examples.json entry exactly as the official NSynth release spells it."""
    key = make_note_str(fam, src, inst, p, v)
    return key, {"note": note_id, "note_str": key, "instrument": 100 + inst, "instrument_str": key.rsplit("-", 2)[0],
                 "pitch": p, "velocity": v, "sample_rate": SAMPLE_RATE, "instrument_family": FAMILIES.index(fam),
                 "instrument_family_str": fam, "instrument_source": ("acoustic", "electronic", "synthetic").index(src),
                 "instrument_source_str": src, "qualities": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0], "qualities_str": ["dark"]}


@pytest.fixture
def corpus_dir(tmp_path):
    root = tmp_path / "nsynth-test"
    (root / "audio").mkdir(parents=True)
    entries = {}
    for i, note in enumerate(NOTES):
        key, entry = _entry(*note, note_id=1000 + i)
        entries[key] = entry
        sf.write(root / "audio" / f"{key}.wav", _tone(note[3], note[4]), SAMPLE_RATE, subtype="PCM_16")
    (root / "examples.json").write_text(json.dumps(entries))
    return root


def _expect_error(root, *fragments, **kwargs):
    with pytest.raises(CorpusError) as info:
        read_corpus(root, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_reads_valid_corpus(corpus_dir):
    corpus = read_corpus(corpus_dir)
    assert isinstance(corpus, NSynthCorpus) and len(corpus) == 12
    first = corpus[0]
    assert first.note_str == "keyboard_acoustic_004-048-050" and first.pitch == 48 and first.velocity == 50
    assert first.instrument == 104 and first.qualities_str == ("dark",) and len(first.qualities) == 10
    audio = corpus.load_audio(0)
    assert audio.dtype == np.float32 and audio.shape == (NOTE_SAMPLES,)
    np.testing.assert_allclose(audio, _tone(48, 50), atol=1 / 32768 + 1e-6)   # 16-bit quantisation only
    assert corpus.pitch_histogram() == {48: 4, 60: 4, 72: 4}
    assert corpus.instruments() == {104: "keyboard_acoustic_004", 140: "string_synthetic_040"}
    assert corpus.load_all([1, 3]).shape == (2, NOTE_SAMPLES)
    assert len(read_corpus(corpus_dir / "examples.json")) == 12          # the JSON path works too


def test_filters(corpus_dir):
    assert {r.instrument_family_str for r in read_corpus(corpus_dir, families=["string"])} == {"string"}
    assert len(read_corpus(corpus_dir, sources=["acoustic"])) == 6
    assert {r.pitch for r in read_corpus(corpus_dir, pitch_range=(50, 72))} == {60, 72}
    assert {r.velocity for r in read_corpus(corpus_dir, velocities=[100])} == {100}
    assert len(read_corpus(corpus_dir, families=["keyboard"], pitch_range=(60, 60), velocities=[50])) == 1
    assert len(read_corpus(corpus_dir, instruments=[140])) == 6
    _expect_error(corpus_dir, "unknown family", "'piano'", families=["piano"])
    _expect_error(corpus_dir, "no notes matching", families=["vocal"])


def test_broken_json(corpus_dir):
    (corpus_dir / "examples.json").write_text('{"keyboard_acoustic_004-048-050": {"note": 1,')
    _expect_error(corpus_dir, "examples.json", "broken JSON")


def test_missing_examples_json(tmp_path):
    _expect_error(tmp_path, "examples.json", "missing")
    _expect_error(tmp_path / "nowhere", "does not exist")


def test_missing_key_and_wrong_type(corpus_dir):
    data = json.loads((corpus_dir / "examples.json").read_text())
    key = next(iter(data))
    del data[key]["velocity"]
    (corpus_dir / "examples.json").write_text(json.dumps(data))
    _expect_error(corpus_dir, key, "missing key", "velocity")
    data[key]["velocity"] = "50"
    (corpus_dir / "examples.json").write_text(json.dumps(data))
    _expect_error(corpus_dir, key, "velocity must be an integer")
    data[key]["velocity"] = 50
    data[key]["instrument_family"] = 3    # guitar's index, but the name says keyboard
    (corpus_dir / "examples.json").write_text(json.dumps(data))
    _expect_error(corpus_dir, key, "family")


def test_missing_wav(corpus_dir):
    (corpus_dir / "audio" / "string_synthetic_040-060-100.wav").unlink()
    _expect_error(corpus_dir, "string_synthetic_040-060-100.wav", "missing")


@pytest.mark.parametrize("kind, fragment", [("rate", "sample rate 44100 Hz, expected 16000"),
                                            ("stereo", "2 channels, expected mono"),
                                            ("length", "32000 samples, expected 64000")])
def test_bad_wav_header(corpus_dir, kind, fragment):
    path = corpus_dir / "audio" / "keyboard_acoustic_004-060-100.wav"
    audio = _tone(60, 100)
    if kind == "rate":
        sf.write(path, audio, 44100, subtype="PCM_16")
    elif kind == "stereo":
        sf.write(path, np.stack([audio, audio], 1), SAMPLE_RATE, subtype="PCM_16")
    else:
        sf.write(path, audio[:32000], SAMPLE_RATE, subtype="PCM_16")
    _expect_error(corpus_dir, path.name, fragment)
    assert len(read_corpus(corpus_dir, check_audio=False)) == 12   # header checks can be skipped ...
    with pytest.raises(CorpusError, match=fragment):                # ... but loading still refuses the file
        read_corpus(corpus_dir, check_audio=False, pitch_range=(60, 60), velocities=[100],
                    families=["keyboard"]).load_audio(0)


def test_validate_after_files_change(corpus_dir):
    corpus = read_corpus(corpus_dir)
    corpus.validate(full=True)
    path = corpus_dir / "audio" / "string_synthetic_040-072-050.wav"
    sf.write(path, _tone(72, 50)[:1000], SAMPLE_RATE, subtype="PCM_16")
    corpus.validate(full=False)                       # the file exists: the cheap check passes
    with pytest.raises(CorpusError, match="1000 samples"):
        corpus.validate(full=True)
    path.write_bytes(b"not audio at all")
    with pytest.raises(CorpusError, match="not a readable audio file"):
        corpus.validate(full=True)


def test_split_by_note_and_by_instrument(corpus_dir):
    corpus = read_corpus(corpus_dir)
    train, held = corpus.split(0.34, seed=3)
    keys = lambda c: {r.note_str for r in c}
    assert keys(train) | keys(held) == keys(corpus) and not keys(train) & keys(held)
    assert len(held) == 4 and held.instruments() == train.instruments() == corpus.instruments()   # 2 per instrument
    assert keys(corpus.split(0.34, seed=3)[1]) == keys(held)                                       # deterministic
    assert any(keys(corpus.split(0.34, seed=s)[1]) != keys(held) for s in range(4, 10))
    train_i, held_i = corpus.split(0.5, seed=0, by="instrument")
    assert len(held_i.instruments()) == 1 and not set(train_i.instruments()) & set(held_i.instruments())
    with pytest.raises(ValueError):
        corpus.split(0.1, by="family")


def test_writer_roundtrip_and_resume(tmp_path):
    out = tmp_path / "built"
    with CorpusWriter(out, flush_every=2) as writer:
        for p in (60, 62, 64):
            writer.add(_tone(p, 100), pitch=p, velocity=100, instrument=7, family="keyboard")
        assert "keyboard_synthetic_007-062-100" in writer and len(writer) == 3
    corpus = read_corpus(out)
    assert [r.pitch for r in corpus] == [60, 62, 64] and corpus[0].instrument_str == "keyboard_synthetic_007"
    np.testing.assert_allclose(corpus.load_audio(1), _tone(62, 100), atol=1 / 32768 + 1e-6)
    assert not [f for f in os.listdir(out) + os.listdir(out / "audio") if ".tmp" in f]   # no temp files left

    # resume: reopen, existing notes are known, new notes get fresh ids; a note whose WAV vanished is dropped
    (out / "audio" / "keyboard_synthetic_007-064-100.wav").unlink()
    writer = CorpusWriter(out)
    assert len(writer) == 2 and writer.dropped == 1 and "keyboard_synthetic_007-060-100" in writer
    loud = _tone(65, 100) * 4
    writer.add(loud, pitch=65, velocity=100, instrument=40, family="string", qualities=[1] + [0] * 9)
    writer.close()
    assert writer.clipped_notes == 1
    corpus = read_corpus(out)
    assert len(corpus) == 3 and len({r.note for r in corpus}) == 3
    violin = corpus.subset([i for i, r in enumerate(corpus) if r.instrument == 40])[0]
    assert violin.qualities_str == ("bright",) and corpus.load_audio(corpus.records.index(violin)).max() > 0.99


def test_writer_rejects_bad_audio(tmp_path):
    writer = CorpusWriter(tmp_path / "w")
    with pytest.raises(ValueError, match="shape"):
        writer.add(np.zeros(100, np.float32), pitch=60, velocity=100, instrument=0, family="keyboard")
    with pytest.raises(ValueError, match="NaN"):
        writer.add(np.full(NOTE_SAMPLES, np.nan, np.float32), pitch=60, velocity=100, instrument=0, family="keyboard")
    with pytest.raises(ValueError, match="family"):
        writer.add(np.zeros(NOTE_SAMPLES, np.float32), pitch=60, velocity=100, instrument=0, family="piano")


def test_note_dataset(corpus_dir):
    corpus = read_corpus(corpus_dir)
    ds = NoteDataset(corpus, clip_samples=16000, clip_offset=8000)
    item = ds[7]
    assert set(item) == {"x", "pitch", "velocity", "family", "instrument"}
    assert item["x"].shape == (16000,) and item["x"].dtype == torch.float32
    for key in ("pitch", "velocity", "family", "instrument"):
        assert item[key].dtype == torch.long and item[key].dim() == 0
    rec = corpus[7]
    assert (int(item["pitch"]), int(item["velocity"]), int(item["instrument"])) == (rec.pitch, rec.velocity, rec.instrument)
    assert FAMILIES[int(item["family"])] == rec.instrument_family_str
    np.testing.assert_array_equal(item["x"].numpy(), corpus.load_audio(7)[8000:24000])   # cache is lossless
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=5)))
    assert batch["x"].shape == (5, 16000) and batch["pitch"].shape == (5,)
    assert NoteDataset(corpus)[0]["x"].shape == (NOTE_SAMPLES,)
    with pytest.raises(ValueError, match="outside"):
        NoteDataset(corpus, clip_samples=64000, clip_offset=1)
