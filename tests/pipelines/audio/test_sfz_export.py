"""SFZ instrument export (pipelines/audio/export): mapping, loops, files, playback against the renderer, morph, errors.

The exported instruments are read back and played by tests/pipelines/audio/sfz_player.py, a small SFZ
player written independently of the exporter.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import creative_gan
from creative_gan.cli import main
from creative_gan.errors import UsageError
from creative_gan.pipelines.audio.data.midi_notes import move_into_range
from creative_gan.pipelines.audio.export import instrument as instrument_module
from creative_gan.pipelines.audio.export.instrument import export_instrument
from creative_gan.pipelines.audio.export.loops import build_looped_sample
from creative_gan.pipelines.audio.export.mapping import key_zones, velocity_layers

try:                                    # works whether or not tests/ is a package
    from .fake_source import FakeNoteSource
    from .sfz_player import SfzPlayer, chroma_agreement, crossfade_gain, log_mel_l1, parse_sfz, seam_flux
except ImportError:
    from fake_source import FakeNoteSource
    from sfz_player import SfzPlayer, chroma_agreement, crossfade_gain, log_mel_l1, parse_sfz, seam_flux

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SR = 16_000
# log-mel L1 (dB, 64 mels) between the SFZ playback and `render` of ode_to_joy with violin: measured 1.00 dB
# (render violin vs render flute: 6.4 dB, vs piano: 12.1 dB); the bound leaves room for platform numerics
ODE_LOG_MEL_TOLERANCE_DB = 2.0


@pytest.fixture(scope="module")
def pipe():
    return creative_gan.load("audio-default")


@pytest.fixture(scope="module")
def violin(pipe, tmp_path_factory):
    """The done-when instrument: violin over 21-108, every 3 keys, velocities 40,80,120 (defaults)."""
    out = tmp_path_factory.mktemp("violin")
    result = pipe.export_instrument(out, timbre="violin", pitches="21-108", progress=False)
    return result


@pytest.fixture(scope="module")
def morph(pipe, tmp_path_factory):
    out = tmp_path_factory.mktemp("morph")
    return export_instrument(pipe, out, morph="violin,flute", pitches="48-72", every=6, velocities="100",
                             loop=(0.3, 1.2), progress=False)


def _regions_at(instrument, key, vel):
    return [r for r in instrument.regions
            if int(r["lokey"]) <= key <= int(r["hikey"]) and int(r["lovel"]) <= vel <= int(r["hivel"])]


# ------------------------------------------------------------------ mapping
def test_key_zones_tile_the_span_and_keep_the_renderers_octave_moves():
    for low, high, every in ((21, 108, 3), (0, 127, 6), (60, 60, 3), (30, 40, 12), (21, 108, 1)):
        zones = key_zones(low, high, every, (24, 84))
        keys = [k for z in zones for k in range(z.lokey, z.hikey + 1)]
        assert keys == list(range(low, high + 1))                 # no gap, no overlap, in order
        for z in zones:
            moves = {int(move_into_range([k], 24, 84)[0]) - k for k in range(z.lokey, z.hikey + 1)}
            assert len(moves) == 1                                # one octave move per zone
            assert z.model_pitch == z.center + moves.pop()
            assert z.max_shift <= (every - 1) // 2 + (every - 1) % 2
            assert 24 <= z.model_pitch <= 84
    assert max(z.max_shift for z in key_zones(21, 108, 3, (24, 84))) <= 1.5


def test_velocity_layers_tile_1_to_127():
    for velocities in ([40, 80, 120], [1], [127], [1, 2, 127], [64]):
        layers = velocity_layers(velocities)
        covered = [v for layer in layers for v in range(layer.lovel, layer.hivel + 1)]
        assert covered == list(range(1, 128))
        assert all(layer.lovel <= layer.velocity <= layer.hivel for layer in layers)


# ------------------------------------------------------------------ the violin instrument (done-when)
def test_violin_regions_cover_every_key_and_velocity_once(violin):
    instrument = parse_sfz(violin.sfz)
    assert violin.sfz.name == "violin.sfz" and len(instrument.regions) == violin.regions == 30 * 3
    counts = np.zeros((128, 128), int)
    for r in instrument.regions:
        for op in ("sample", "lokey", "hikey", "pitch_keycenter", "lovel", "hivel", "loop_start", "loop_end",
                   "ampeg_release"):
            assert op in r, op
        assert r["loop_mode"] == "loop_continuous"
        assert abs(int(r["pitch_keycenter"]) - int(r["lokey"])) <= 1.5
        assert abs(int(r["hikey"]) - int(r["pitch_keycenter"])) <= 1.5
        counts[int(r["lokey"]):int(r["hikey"]) + 1, int(r["lovel"]):int(r["hivel"]) + 1] += 1
    assert (counts[21:109, 1:128] == 1).all()                     # every key and velocity exactly once
    assert counts[:21].sum() == 0 and counts[109:].sum() == 0 and counts[:, 0].sum() == 0


def test_violin_samples_exist_open_and_hold_their_loops(pipe, violin):
    instrument = parse_sfz(violin.sfz)
    files = {instrument.sample_path(r) for r in instrument.regions}
    # a velocity-conditioned model makes one sample per key zone and layer; otherwise the layers share one
    assert files == set(violin.samples) and len(files) == 30 * (3 if pipe.has_velocity else 1)
    for r in instrument.regions:
        info = sf.info(str(instrument.sample_path(r)))
        assert info.samplerate == SR and info.channels == 1 and info.subtype == "PCM_24"
        assert 0 < int(r["loop_start"]) < int(r["loop_end"]) == info.frames - 1
    mode = os.stat(violin.sfz).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask and (os.stat(violin.samples[0]).st_mode & 0o777) == 0o666 & ~umask
    assert not [p for p in violin.sfz.parent.rglob("*") if ".tmp" in p.name]     # no staging left


def test_violin_loop_seams_are_click_free(violin):
    """Spectral flux across every seam lies within the flux of the sustain loop itself; moving the loop start
    to an arbitrary point (a third into the loop: a naive loop point) breaks that, so the check can fail."""
    player = SfzPlayer(violin.sfz)
    ratios, broken = [], []
    for r in player.instrument.regions[::3]:
        audio, _ = player.sample(r)
        start, end = int(r["loop_start"]), int(r["loop_end"])
        seam, sustain = seam_flux(audio, start, end)
        ratios.append(seam / sustain)
        period = audio[start:end + 1]
        naive = np.concatenate([audio[:start], period[len(period) // 3:]])    # jumps mid-waveform
        seam_bad, sustain_bad = seam_flux(naive, start, len(naive) - 1)
        broken.append(seam_bad / sustain_bad)
    assert max(ratios) <= 1.0, np.round(ratios, 3)
    assert np.mean(np.array(broken) > 1.0) > 0.8, np.round(broken, 2)


def test_ode_to_joy_through_the_sfz_matches_render(pipe, violin):
    midi = EXAMPLES / "ode_to_joy.mid"
    played = SfzPlayer(violin.sfz).play_midi(midi)
    rendered = pipe.render_midi(midi, timbres="violin", progress=False).audio
    other = pipe.render_midi(midi, timbres="flute", progress=False).audio
    assert abs(len(played) - len(rendered)) <= SR // 10
    assert chroma_agreement(played, rendered, SR) >= 0.9
    l1 = log_mel_l1(played, rendered, SR)
    assert l1 <= ODE_LOG_MEL_TOLERANCE_DB
    assert l1 < 0.5 * log_mel_l1(other, rendered, SR)             # closer than another timbre, by far


def test_keys_outside_the_model_range_sound_as_the_renderer_makes_them(pipe, violin):
    instrument = parse_sfz(violin.sfz)
    for key in (21, 100, 108):
        (region,) = _regions_at(instrument, key, 80)
        center = int(region["pitch_keycenter"])
        model_pitch = int(move_into_range([center], *pipe.pitch_range)[0])
        assert model_pitch != center
        audio, _ = sf.read(str(instrument.sample_path(region)), dtype="float32")
        note = pipe.generate([model_pitch], timbre="violin", velocities=80, num_samples=SR)[0]
        if pipe.has_velocity:      # the layer (velocity 80) is stored at (127/80)², then the one peak gain
            note = note * (127 / 80) ** 2 * 10 ** (violin.summary["peak_gain_db"] / 20)
        # the note itself: the export renders zones in one batch, and a batch's matrix products round the note
        # code a few ulps differently from one note's; the vibrato LFO's phase carries that to ≈ 2e-5 (−94 dB)
        assert np.abs(audio[:SR // 2] - note[:SR // 2]).max() < 1e-4


# ------------------------------------------------------------------ morph
def test_morph_regions_crossfade_on_cc1(morph):
    instrument = parse_sfz(morph.sfz)
    assert morph.sfz.name == "violin-to-flute.sfz"
    assert instrument.cc_defaults == {1: 0} and morph.morph_layers == 2
    assert len(instrument.regions) == 2 * morph.zones
    for key in range(48, 73):
        for cc in (0, 1, 40, 64, 100, 127):
            gains = [crossfade_gain(r, {1: cc}) for r in _regions_at(instrument, key, 100)]
            assert len(gains) == 2 and abs(sum(g * g for g in gains) - 1) < 1e-9      # equal power
    texts = morph.sfz.read_text()
    assert "xfin_locc1=0 xfin_hicc1=127" in texts and "xfout_locc1=0 xfout_hicc1=127" in texts


def test_morph_cc_sweep_moves_from_a_to_b(pipe, morph, tmp_path):
    player = SfzPlayer(morph.sfz)
    hold = SR
    notes = {cc: np.concatenate([player.play_note(key, 100, hold, {1: cc}) for key in (52, 60, 67)])
             for cc in (0, 32, 64, 96, 127)}
    distance = [log_mel_l1(notes[cc], notes[0], SR) for cc in (0, 32, 64, 96, 127)]
    assert distance[0] == 0 and all(b > a for a, b in zip(distance, distance[1:])), np.round(distance, 2)
    flute = export_instrument(pipe, tmp_path, timbre="flute", pitches="48-72", every=6, velocities="100",
                              loop=(0.3, 1.2), progress=False)
    b = np.concatenate([SfzPlayer(flute.sfz).play_note(key, 100, hold) for key in (52, 60, 67)])
    assert log_mel_l1(notes[127], b, SR) < 0.05 * log_mel_l1(notes[0], b, SR)   # CC 127 is B itself


# ------------------------------------------------------------------ velocity-conditioned models
def test_a_velocity_model_gets_one_sample_per_key_zone_and_layer(tmp_path):
    source = FakeNoteSource(has_velocity=True)
    result = export_instrument(source, tmp_path, timbre="bright", pitches="40-60", every=7,
                               velocities=[30, 100], loop=(0.3, 1.0), progress=False)
    assert len(result.samples) == result.zones * 2 == result.regions
    asked = sorted({v for call in source.calls for v in call["velocities"]})
    assert asked == [30, 100]
    instrument = parse_sfz(result.sfz)
    soft, loud = (sf.read(str(instrument.sample_path(_regions_at(instrument, 50, v)[0])))[0] for v in (20, 120))
    assert np.abs(soft[:SR // 4] - loud[:SR // 4]).max() > 1e-3     # different notes, not copies
    # a velocity model makes its own loudness: played at a layer's velocity, the SFZ gives the model's note level
    player = SfzPlayer(result.sfz)
    played = [player.play_note(50, v, hold=SR // 2)[:SR // 2] for v in (30, 100)]
    made = source.synthesize(torch.tensor([50, 50]), torch.stack([source.presets["bright"]] * 2),
                             torch.tensor([30, 100]), num_samples=SR // 2).numpy()
    rms = lambda a: float(np.sqrt(np.mean(np.square(a))))   # noqa: E731
    assert rms(played[1]) / rms(played[0]) == pytest.approx(rms(made[1]) / rms(made[0]), rel=0.05)


# ------------------------------------------------------------------ bad input, nothing half-written
@pytest.mark.parametrize("options, message", [
    ({"timbre": "no-such-timbre"}, "unknown timbre"),
    ({"timbre": "violin", "pitches": "108-21"}, "pitch range"),
    ({"timbre": "violin", "pitches": "0-200"}, "pitch range"),
    ({"timbre": "violin", "pitches": "a-b"}, "pitch range"),
    ({"timbre": "violin", "velocities": "0,80"}, "velocities"),
    ({"timbre": "violin", "velocities": "80,80"}, "named twice"),
    ({"timbre": "violin", "velocities": "loud"}, "velocities"),
    ({"timbre": "violin", "every": 0}, "--every"),
    ({"timbre": "violin", "loop": (2.0, 1.0)}, "loop"),
    ({"timbre": "violin", "name": "../escape"}, "instrument name"),
    ({"morph": "violin"}, "two timbres"),
    ({"morph": "violin,nope"}, "unknown timbre"),
    ({"timbre": "violin", "morph": "violin,flute"}, "not both"),
])
def test_bad_inputs_are_one_line_and_write_nothing(pipe, tmp_path, options, message):
    out = tmp_path / "inst"
    with pytest.raises(UsageError, match=message) as error:
        export_instrument(pipe, out, progress=False, **options)
    assert "\n" not in str(error.value)
    assert not out.exists()


def test_output_folder_problems(pipe, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("keep")
    with pytest.raises(UsageError, match="not a folder"):
        export_instrument(pipe, a_file, timbre="violin", progress=False)
    (tmp_path / "inst" / "violin.sfz").mkdir(parents=True)
    with pytest.raises(UsageError, match="in the way"):
        export_instrument(pipe, tmp_path / "inst", timbre="violin", progress=False)
    assert a_file.read_text() == "keep"


def test_a_failure_while_writing_leaves_nothing_new(pipe, tmp_path, monkeypatch):
    out = tmp_path / "inst"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    written = []
    real_write = sf.write

    def failing_write(path, *args, **kwargs):
        if len(written) == 3:
            raise KeyboardInterrupt                                # Ctrl-C (or the CLI's SIGTERM) mid-export
        written.append(path)
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(sf, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        export_instrument(pipe, out, timbre="violin", pitches="48-72", every=6, velocities="100",
                          loop=(0.3, 1.0), progress=False)
    assert len(written) == 3
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    monkeypatch.setattr(instrument_module.fileio, "write_text", lambda *a, **k: (_ for _ in ()).throw(OSError("full")))
    monkeypatch.setattr(sf, "write", real_write)
    with pytest.raises(OSError):
        export_instrument(pipe, tmp_path / "new", timbre="violin", pitches="48-72", every=6, velocities="100",
                          loop=(0.3, 1.0), progress=False)
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------ loop search on a known signal
def test_loop_points_fall_on_matching_waveform_and_slope():
    t = np.arange(3 * SR) / SR
    rng = np.random.default_rng(0)
    clip = (0.5 * np.sin(2 * np.pi * 220.0 * t) * np.exp(-0.4 * t) + 0.002 * rng.standard_normal(len(t)))
    take = build_looped_sample(clip, SR // 2, int(2.5 * SR), SR)
    s, e = take.source_start, take.source_end
    period = SR / 220.0
    cycles = (e - s) / period
    assert abs(cycles - round(cycles)) < 0.05                      # a whole number of cycles: phase matches
    audio = take.audio
    jump = audio[take.loop_start] - audio[take.loop_end]           # the seam's step ≈ one sample's slope
    assert abs(jump) <= 1.5 * np.abs(np.diff(audio[take.loop_start:take.loop_end])).max()
    level = np.abs(audio[take.loop_start:]).reshape(-1)[: (take.period // 2000) * 2000].reshape(-1, 2000).max(1)
    assert level.max() / level.min() < 1.2                          # the decay is held steady in the loop


# ------------------------------------------------------------------ CLI
def test_cli_export_instrument(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["export", "instrument", "--timbre", "7", "--pitches", "36-60", "--every", "12",
                 "--velocities", "100", "--loop", "0.3,1.0", "--no-progress", "-o", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and (out / "7.sfz").is_file()
    assert len(parse_sfz(out / "7.sfz").regions) == 3
    code = main(["export", "instrument", "--timbre", "nope", "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("creative-gan: error: unknown timbre")
    assert main(["export", "instrument", "--morph", "violin,flute", "--timbre", "violin",
                 "-o", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_sfz_player_reads_inheritance_and_spaces(tmp_path):
    (tmp_path / "s").mkdir()
    sf.write(str(tmp_path / "s" / "my note.wav"), np.zeros(100, np.float32), SR)
    (tmp_path / "x.sfz").write_text("// comment\n<control> default_path=s/\n<global> ampeg_release=0.5\n"
                                    "<group> lovel=10 hivel=20 // tail\n<region> sample=my note.wav key=60\n"
                                    "<group>\n<region> sample=my note.wav lokey=1 hikey=2\n")
    regions = parse_sfz(tmp_path / "x.sfz").regions
    assert regions[0]["sample"] == "my note.wav" and regions[0]["ampeg_release"] == "0.5"
    assert regions[0]["lovel"] == "10" and "lovel" not in regions[1]
    assert re.search("ampeg_release", str(regions[1]))


# ------------------------------------------------------------------ the app's export button (plain callback)
def test_app_export_instrument_zip(pipe, tmp_path):
    import zipfile

    from creative_gan.demos.audio import export_instrument_zip

    path, info = export_instrument_zip(pipe, "violin", "", 12)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert "violin/violin.sfz" in names and all(n.startswith("violin/") for n in names)
    instrument = parse_sfz(tmp_path / "violin" / "violin.sfz")
    assert all(instrument.sample_path(r).is_file() for r in instrument.regions)
    assert f"{len(instrument.regions)} regions" in info
    path, _ = export_instrument_zip(pipe, "violin", "flute", 12)
    with zipfile.ZipFile(path) as archive:
        assert "xfin_locc1" in archive.read("violin-to-flute/violin-to-flute.sfz").decode()
    for timbre, morph_to in (("nope", ""), ("violin", "nope"), ("", "")):
        with pytest.raises(UsageError):
            export_instrument_zip(pipe, timbre, morph_to, 3)


def test_wavs_carry_their_loop_and_root_key_for_samplers_that_import_wavs(violin):
    from creative_gan.pipelines.audio.export.wavloop import read_loop_chunk

    instrument = parse_sfz(violin.sfz)
    for region in instrument.regions[::3]:
        path = instrument.sample_path(region)
        chunk = read_loop_chunk(path)
        assert chunk == {"sample_period_ns": round(1e9 / SR), "unity_note": int(region["pitch_keycenter"]),
                         "loop_start": int(region["loop_start"]), "loop_end": int(region["loop_end"])}
        audio, rate = sf.read(str(path))                       # the extra chunk does not disturb readers
        assert rate == SR and len(audio) == int(region["loop_end"]) + 1
