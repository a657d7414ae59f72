"""The audio tab's callbacks as plain functions (no server): render, note, morph row, bad input."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

import creative_gan
from creative_gan.demos import audio_callbacks as calls
from creative_gan.demos.common import check_midi_upload, example_midis, to_int16
from creative_gan.errors import UsageError


@pytest.fixture(scope="module")
def pipe():
    return creative_gan.load("audio-default")


def test_examples_are_packaged_midi_files():
    examples = example_midis()
    assert {"ode_to_joy.mid", "twinkle_chords.mid"} <= set(examples)
    for path in examples.values():
        assert check_midi_upload(path) == path


def test_render_returns_int16_audio_pictures_and_a_download(pipe):
    audio, roll, spectrum, download, summary = calls.render_piece(
        pipe, "ode_to_joy.mid", None, "violin", False, [], [], "FLAC")
    rate, samples = audio
    expected = pretty_midi.PrettyMIDI(str(example_midis()["ode_to_joy.mid"])).get_end_time() + 0.3
    assert rate == 16000 and samples.dtype == np.int16
    assert abs(len(samples) / rate - expected) < 0.05
    assert np.abs(samples).max() > 10000
    written, written_rate = sf.read(download, dtype="int16")
    assert download.endswith("ode_to_joy.flac") and written_rate == rate
    assert np.array_equal(written, samples)
    for picture in (roll, spectrum):
        assert open(picture, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "notes" in summary


def test_morph_and_track_timbres_change_the_sound(pipe):
    plain = calls.render_piece(pipe, "twinkle_chords.mid", None, "violin", False, [], [])[0][1]
    morphed = calls.render_piece(pipe, "twinkle_chords.mid", None, "violin", True,
                                 [[0, "violin"], [10, "flute"], ["", ""]], [])[0][1]
    per_track = calls.render_piece(pipe, "twinkle_chords.mid", None, "violin", False, [],
                                   [[0, "melody", 42, ""], [1, "chords", 72, "0:trumpet,10:seed:4"]])[0][1]
    assert len(plain) == len(morphed) == len(per_track)
    assert not np.array_equal(plain, morphed) and not np.array_equal(plain, per_track)
    # the first note takes the first anchor's timbre: the same sound, only the peak normalisation differs
    opening = np.corrcoef(plain[:4000].astype(np.float64), morphed[:4000].astype(np.float64))[0, 1]
    assert opening > 0.999


def test_bad_inputs_raise_one_line_usage_errors(pipe, tmp_path):
    fake = tmp_path / "fake.mid"
    fake.write_bytes(b"RIFF not midi")
    with pytest.raises(UsageError, match="not a MIDI file"):
        calls.render_piece(pipe, None, str(fake), "violin", False, [], [])
    with pytest.raises(UsageError, match="choose an example"):
        calls.render_piece(pipe, None, None, "violin", False, [], [])
    with pytest.raises(UsageError, match="unknown timbre"):
        calls.render_piece(pipe, "ode_to_joy.mid", None, "kazoo", False, [], [])
    with pytest.raises(UsageError, match="same time"):
        calls.render_piece(pipe, "ode_to_joy.mid", None, "violin", True, [[0, "violin"], [0, "flute"]], [])
    with pytest.raises(UsageError, match="format"):
        calls.render_piece(pipe, "ode_to_joy.mid", None, "violin", False, [], [], "MP3")
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + b"\0" * (6 * 1024 * 1024))
    with pytest.raises(UsageError, match="limit"):
        calls.track_rows(None, str(big))
    with pytest.raises(UsageError, match="outside this model's range"):
        calls.play_note(pipe, 10, "violin")
    with pytest.raises(UsageError, match="between 2 and 32"):
        calls.morph_row(pipe, 60, "violin", "flute", 1)


def test_track_rows_list_tracks_and_mark_drums():
    rows = calls.track_rows("groove_with_drums.mid", None)
    assert [r[0] for r in rows] == [0, 1, 2, 3]
    assert any("drums" in r[1] for r in rows) and all(r[3] == "" for r in rows)


def test_note_is_seeded_and_morph_row_moves_between_timbres(pipe):
    (rate, note), info = calls.play_note(pipe, 60, "seed:5")
    again = calls.play_note(pipe, 60, "seed:5")[0][1]
    assert rate == 16000 and len(note) == 4 * rate and np.array_equal(note, again)
    assert "generated in" in info
    (rate, row), _ = calls.morph_row(pipe, 60, "violin", "flute", 4)
    assert len(row) == 4 * rate
    first, last = row[:rate].astype(np.float32), row[-rate:].astype(np.float32)
    violin, flute = (np.abs(np.fft.rfft(calls.play_note(pipe, 60, t)[0][1][:8000].astype(np.float64)))
                     for t in ("violin", "flute"))

    def near(x, spectrum):                       # cosine similarity of magnitude spectra
        x = np.abs(np.fft.rfft(x[:8000].astype(np.float64)))
        return float(x @ spectrum / np.linalg.norm(x) / np.linalg.norm(spectrum))

    assert near(first, violin) > 0.99 and near(first, violin) > near(first, flute)   # starts at A …
    assert near(last, flute) > 0.99 and near(last, flute) > near(last, violin)       # … ends at B


def test_to_int16_clips_and_scales():
    assert to_int16(np.array([0.0, 1.0, -1.0, 2.0, np.nan])).tolist() == [0, 32767, -32767, 32767, 0]


def test_random_timbre_is_a_seed_spec(pipe):
    spec = calls.random_timbre()
    assert spec.startswith("seed:") and calls.check_timbre(pipe, spec) == spec
