"""The audio tab's velocity slider and "Timbre from a recording" as plain functions (no server)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from creative_gan.demos import audio_callbacks as calls
from creative_gan.demos.audio import fit_timbre_outputs
from creative_gan.demos.common import to_int16, ui
from creative_gan.errors import UsageError
from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig
from creative_gan.pipelines.audio.pipeline import AudioPipeline

SR = 16_000


def tiny_pipe(use_velocity: bool = True) -> AudioPipeline:
    """An untrained tiny harmonic model; with velocity, its timbre shift is made non-zero (it starts at zero), so
    velocity changes the sound and not only the level, as in a trained model."""
    torch.manual_seed(0)
    options = {"use_velocity": True, "velocity_mode": "split"} if use_velocity else {}
    cfg = HarmonicGeneratorConfig.tiny(**options)
    generator = HarmonicGenerator(cfg)
    if use_velocity:
        with torch.no_grad():
            torch.nn.init.normal_(generator.velocity_shift.weight, std=3.0 / cfg.hidden_dim ** 0.5)
    return AudioPipeline("harmonic", vars(cfg), generator)


def tone(midi: int, seconds: float = 2.0, sr: int = 44_100) -> np.ndarray:
    """A decaying harmonic tone (8 partials, 1/k roll-off) at MIDI ``midi``."""
    t = np.arange(int(seconds * sr)) / sr
    k = np.arange(1, 9)[:, None]
    note = (np.sin(2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * k * t) / k).sum(0) * np.exp(-t / 1.5)
    return (0.3 * note / np.abs(note).max() * np.minimum(t / 0.01, 1.0)).astype(np.float32)


def spectrum(x: np.ndarray) -> np.ndarray:
    x = np.abs(np.fft.rfft(x[:8000].astype(np.float64)))
    return x / np.linalg.norm(x)


# ----------------------------------------------------------------------------------------------- velocity
def test_velocity_plays_the_models_own_response():
    pipe = tiny_pipe()
    (rate, soft), info = calls.play_note(pipe, 57, "seed:3", 40)
    (_, loud), _ = calls.play_note(pipe, 57, "seed:3", 127)
    assert rate == SR and len(soft) == len(loud) == 4 * SR and "velocity 40" in info
    # the model's notes at velocities 40 and 127, one gain for both (127 peaks at 0.9)
    z = pipe.latent_for_seed(3)
    raw = pipe.generate([57, 57], z=z, velocities=[40, 127])
    gain = 0.9 / np.abs(raw).max()
    assert np.abs(soft.astype(int) - to_int16(raw[0] * gain).astype(int)).max() <= 1
    assert np.abs(loud.astype(int) - to_int16(raw[1] * gain).astype(int)).max() <= 1
    assert np.sqrt(np.mean(soft.astype(float) ** 2)) < 0.3 * np.sqrt(np.mean(loud.astype(float) ** 2))
    assert spectrum(soft) @ spectrum(loud) < 0.98                   # a different sound, not only quieter
    (_, row_soft), row_info = calls.morph_row(pipe, 57, "seed:1", "seed:2", 3, 40)
    (_, row_loud), _ = calls.morph_row(pipe, 57, "seed:1", "seed:2", 3, 127)
    assert len(row_soft) == len(row_loud) == 3 * SR and "velocity 40" in row_info
    assert np.abs(row_soft).max() < 0.5 * np.abs(row_loud).max()


def test_velocity_without_conditioning_is_the_midi_gain():
    pipe = tiny_pipe(use_velocity=False)
    (_, soft), info = calls.play_note(pipe, 57, "seed:3", 40)
    (_, loud), _ = calls.play_note(pipe, 57, "seed:3", 127)
    assert "no velocity conditioning" in info and "gain only" in calls.velocity_label(pipe)
    assert calls.velocity_label(tiny_pipe()) == "Velocity"
    assert abs(int(np.abs(loud).max()) - round(0.9 * 32767)) <= 1
    np.testing.assert_allclose(soft, loud * (40 / 127) ** 2, atol=1.5)


@pytest.mark.parametrize("bad", [0, 128, 64.5, "loud", None, float("nan")])
def test_bad_velocities_are_one_line_errors(bad):
    with pytest.raises(UsageError, match="velocity"):
        calls.play_note(tiny_pipe(), 57, "seed:3", bad)


# ----------------------------------------------------------------------------------------------- timbre fit
def test_fitted_recording_becomes_a_preset_in_every_dropdown_of_its_session_only(tmp_path):
    pipe = tiny_pipe()
    path = tmp_path / "a-tone.wav"
    sf.write(str(path), tone(57), 44_100)
    out = fit_timbre_outputs(pipe, str(path), "", "my-tone", {}, progress=False)
    (rate, fitted), (_, original), info, explorer, *others, mine = out
    assert rate == SR and len(fitted) == 4 * SR and abs(len(original) - 2 * SR) < 0.02 * SR
    assert "MIDI 57 (detected)" in info and "dB" in info
    assert list(mine) == ["my-tone"] and not pipe.presets          # the shared model is untouched
    expected = ["my-tone", "seed:0", "seed:1"]
    assert explorer["choices"] == expected and explorer["value"] == "my-tone"
    assert len(others) == 5 and all(u["choices"] == expected for u in others[:4])
    assert others[4]["choices"] == [""] + expected                   # the optional SFZ morph target
    # the fitted note is the new preset's note at the recording's pitch, in this session's view
    view = calls.session_pipe(pipe, mine)
    note = view.generate([57], timbre="my-tone")[0]
    assert np.array_equal(fitted, to_int16(note / np.abs(note).max() * 0.9))
    assert calls.play_note(view, 57, "my-tone", 90)[1].startswith("MIDI 57 as my-tone")
    with pytest.raises(UsageError, match="my-tone"):                 # another session does not have it
        calls.play_note(calls.session_pipe(pipe, {}), 57, "my-tone", 90)
    # fitting again under the same name replaces it (a given pitch, by name, skips detection)
    *_, info, _, _, _, _, _, _, again = fit_timbre_outputs(pipe, str(path), "G3", "my-tone", mine)
    assert "MIDI 55 (given)" in info and list(again) == ["my-tone"] and not pipe.presets
    assert not torch.equal(again["my-tone"], mine["my-tone"])


@pytest.mark.parametrize("kind, match", [("silent", "silent.wav: is silent"),
                                         ("text", "text.wav: not an audio file"),
                                         ("name", "preset name 'My Tone'"),
                                         ("protected", "one of the model's own presets"),
                                         ("pitch", "pitch 'high' is not a MIDI note"),
                                         ("range", "pitch 120 is not a MIDI note in this model's range")])
def test_unusable_recordings_are_one_line_and_add_nothing(tmp_path, kind, match):
    pipe = tiny_pipe()
    pipe.add_preset("warm", pipe.latent_for_seed(1))
    silent, text, good = tmp_path / "silent.wav", tmp_path / "text.wav", tmp_path / "good.wav"
    sf.write(str(silent), np.zeros(SR, np.float32), SR)
    text.write_text("not audio at all\n")
    sf.write(str(good), tone(57), 44_100)
    path, pitch, name = {"silent": (silent, "", "x"), "text": (text, "", "x"), "name": (good, "57", "My Tone"),
                         "protected": (good, "57", "warm"), "pitch": (good, "high", "x"),
                         "range": (good, "C9", "x")}[kind]
    with pytest.raises(UsageError, match=match) as caught:
        fit_timbre_outputs(pipe, str(path), pitch, name, {}, protected={"warm"})
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and str(tmp_path) not in message      # the file's name, no server path
    assert list(pipe.presets) == ["warm"] and torch.equal(pipe.presets["warm"], pipe.latent_for_seed(1))
    if kind == "silent":                                              # the page shows that line as an error
        import gradio as gr

        with pytest.raises(gr.Error, match=match):
            ui(fit_timbre_outputs)(pipe, str(path), pitch, name, {})


def test_pitch_box():
    assert calls.parse_pitch("") is None and calls.parse_pitch(None) is None and calls.parse_pitch(" 57 ") == 57
    assert calls.parse_pitch("A3") == 57 and calls.parse_pitch("57.0") == 57
    with pytest.raises(UsageError, match="whole MIDI note"):
        calls.parse_pitch("57.5")
