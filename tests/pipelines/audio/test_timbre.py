"""Timbre specs, morph strings, slerp and the per-note timbre curve (pipelines/audio/render/timbre.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from creative_gan.layers import slerp
from creative_gan.pipelines.audio.render.timbre import (
    NoteSource, TimbreCurve, TimbreError, build_curve, parse_morph, resolve_timbre, timbre_from_audio)

try:                                    # works whether or not tests/ is a package
    from .fake_source import FakeNoteSource, NoGradSource
except ImportError:
    from fake_source import FakeNoteSource, NoGradSource


@pytest.fixture(scope="module")
def source():
    return FakeNoteSource()


def test_fake_source_implements_protocol(source):
    assert isinstance(source, NoteSource)


@pytest.mark.parametrize("spec", ["17", "seed:17", " seed: 17 ", "SEED:17", 17, np.int64(17)])
def test_seed_specs_resolve_to_latent_for_seed(source, spec):
    assert torch.equal(resolve_timbre(source, spec), source.latent_for_seed(17))


def test_preset_and_vector_specs(source):
    assert torch.equal(resolve_timbre(source, "warm"), source.presets["warm"])
    z = torch.arange(16.0)
    assert torch.equal(resolve_timbre(source, z), z)
    assert torch.equal(resolve_timbre(source, z.numpy()), z)


def test_unknown_preset_error_is_one_line_listing_presets(source):
    with pytest.raises(TimbreError) as info:
        resolve_timbre(source, "violin")
    message = str(info.value)
    assert "\n" not in message and "'violin'" in message
    for name in ("bright", "hollow", "warm"):
        assert name in message
    assert "seed" in message


@pytest.mark.parametrize("spec, match", [
    (-3, r"between 0 and 2\^63-1"), (10 ** 23, "between 0"),
    ("seed:x", "unknown timbre"), (True, "not a seed"), (1.5, "got float"),
    (torch.zeros(5), "latent_dim is 16"), (torch.full((16,), float("nan")), "NaN")])
def test_bad_specs(source, spec, match):
    with pytest.raises(TimbreError, match=match):
        resolve_timbre(source, spec)


def test_bare_seed_is_a_timbre_not_an_anchor_time(source):
    """'7' is seed 7 (as README documents), exactly like 'seed:7' and 7 — not an anchor at 7 s."""
    seven = source.latent_for_seed(7)
    for spec in ("7", " 7 ", "seed:7", 7):
        curve = build_curve(source, spec, end_s=60.0)
        assert len(curve.times) == 1 and torch.equal(curve.latents[0], seven), spec
    timed = build_curve(source, "0:7,30:seed:9", end_s=60.0)     # times still work around seeds
    assert timed.times.tolist() == [0.0, 30.0] and torch.equal(timed.latents[0], seven)


def test_huge_seed_in_a_morph_is_one_clear_error(source):
    with pytest.raises(TimbreError, match="between 0 and 2\\^63-1"):
        build_curve(source, "0:" + "9" * 23, end_s=10.0)


def test_parse_morph_sorts_and_keeps_seed_colon():
    assert parse_morph("30:warm, 0:seed:4 ,12.5:17") == [(0.0, "seed:4"), (12.5, "17"), (30.0, "warm")]
    assert parse_morph("bright") == [(None, "bright")]
    assert parse_morph("bright,seed:3") == [(None, "bright"), (None, "seed:3")]
    assert parse_morph([(10, "warm"), (0, 3)]) == [(0.0, 3), (10.0, "warm")]
    assert parse_morph(["warm", 3]) == [(None, "warm"), (None, 3)]
    assert parse_morph(["30:warm", "0:bright"]) == [(0.0, "bright"), (30.0, "warm")]   # CLI-style list


@pytest.mark.parametrize("text, match", [
    ("", "empty anchor"), ("0:a,,30:b", "empty anchor"), ("0:a,0:b", "two anchors at 0"),
    ("-1:a", ">= 0"), ("nan:a", "finite"), ("inf:a", "finite"), ("0:a,b", "all have times")])
def test_parse_morph_rejects(text, match):
    with pytest.raises(TimbreError, match=match):
        parse_morph(text)


def test_parse_morph_empty_list():
    with pytest.raises(TimbreError, match="at least one anchor"):
        parse_morph([])


def test_morph_slerp_endpoints_norm_and_constant_angular_speed():
    """The renderer's morphs use the core slerp: between equal-norm timbres it is Shoemake's formula."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, generator=gen), torch.randn(64, generator=gen)
    b = b / b.norm() * a.norm()
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-6) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    ts = torch.linspace(0, 1, 11)
    path = slerp(a, b, ts[:, None])                                 # [11, 64]
    assert path.shape == (11, 64)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(11), rtol=1e-5)
    omega = math.acos(float(torch.dot(a, b) / (a.norm() * b.norm())))
    angles = torch.arccos(torch.clamp((path @ a) / (path.norm(dim=1) * a.norm()), -1, 1))
    assert torch.allclose(angles, ts * omega, atol=1e-3)
    expected = (math.sin(0.7 * omega) * a + math.sin(0.3 * omega) * b) / math.sin(omega)
    assert torch.allclose(slerp(a, b, 0.3), expected, atol=1e-5)


def test_slerp_identical_antiparallel_and_zero():
    a = torch.randn(32, generator=torch.Generator().manual_seed(1))
    for t in (0.0, 0.25, 1.0):
        assert torch.allclose(slerp(a, a.clone(), t), a, atol=1e-6)
    path = slerp(a, -a, torch.linspace(0, 1, 9)[:, None])
    assert torch.isfinite(path).all()
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], -a, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(9), rtol=1e-5)   # never through the origin
    assert abs(float(torch.dot(path[4], a))) < 1e-3 * float(a.norm()) ** 2    # half way: perpendicular
    assert torch.allclose(slerp(torch.zeros(32), a, 0.5), 0.5 * a)


def test_curve_constant_outside_and_slerp_between(source):
    curve = build_curve(source, "0:bright,20:warm,40:hollow")
    bright, warm, hollow = (source.presets[n] for n in ("bright", "warm", "hollow"))
    z = curve.latents_at([-5.0, 0.0, 10.0, 20.0, 30.0, 40.0, 100.0])
    for got, want in zip(z, [bright, bright, slerp(bright, warm, 0.5), warm, slerp(warm, hollow, 0.5),
                             hollow, hollow]):
        assert torch.allclose(got, want, atol=1e-5)
    exact = curve.latents_at([7.3])[0]
    assert torch.allclose(exact, slerp(bright, warm, 7.3 / 20), atol=1e-5)
    quantised = curve.latents_at([7.3], steps=256)[0]
    assert torch.allclose(quantised, slerp(bright, warm, round(7.3 / 20 * 256) / 256), atol=1e-5)


def test_quantised_keys_share_nearby_times_and_hit_anchors_exactly(source):
    curve = build_curve(source, "0:bright,25.6:warm")            # 256 steps of 0.1 s
    segment, step = curve.keys_at(np.array([0.0, 1.0, 1.02, 1.04, 25.59, 25.6, 99.0]))
    assert list(zip(segment, step)) == [(0, 0), (0, 10), (0, 10), (0, 10), (1, 0), (1, 0), (1, 0)]
    assert torch.equal(curve.latent_for_key(1, 0), source.presets["warm"])


def test_single_anchor_and_short_pieces(source):
    for spec in ("bright", "0:bright", "5:bright", ["bright"], [(3, "bright")]):
        curve = build_curve(source, spec, end_s=4.0)
        z = curve.latents_at([0.0, 2.0, 11.0])
        assert torch.allclose(z, source.presets["bright"].expand(3, -1))
    two = build_curve(source, "0:bright,3:warm", end_s=4.0)      # a clip far shorter than 12 s
    assert torch.allclose(two.latents_at([4.0])[0], source.presets["warm"])


def test_untimed_anchors_spread_over_piece(source):
    curve = build_curve(source, "bright,warm,hollow", end_s=10.0)
    assert np.allclose(curve.times, [0, 5, 10])
    assert curve.labels == ("bright", "warm", "hollow")
    only_start = build_curve(source, "bright,warm", end_s=0.0)   # a one-chord piece: first anchor holds
    assert len(only_start.times) == 1


def test_curve_of_seed_and_preset_strings_is_constant(source):
    assert len(build_curve(source, "seed:5").times) == 1
    assert isinstance(build_curve(source, 5), TimbreCurve)
    with pytest.raises(TimbreError, match="unknown timbre 'nope'"):
        build_curve(source, "0:bright,10:nope")


def test_timbre_from_audio_recovers_timbre():
    source = FakeNoteSource(latent_dim=8)
    z_true = source.latent_for_seed(42)
    target = source.synthesize(torch.tensor([57]), z_true[None], num_samples=4096)[0].detach()
    z_fit = timbre_from_audio(source, target, pitch=57, steps=25, lr=0.1, init_seed=0)
    assert z_fit.shape == (8,)

    def harmonic_error(z):
        return float((source.harmonic_amplitudes(z[None]) - source.harmonic_amplitudes(z_true[None])).abs().sum())

    assert harmonic_error(z_fit) < 0.5 * harmonic_error(source.latent_for_seed(0))


def test_timbre_from_audio_needs_differentiable_source():
    source = NoGradSource(latent_dim=8)
    target = np.sin(np.arange(4096) * 0.1).astype(np.float32)
    with pytest.raises(TimbreError, match="differentiable"):
        timbre_from_audio(source, target, pitch=60, steps=3)
    with pytest.raises(TimbreError, match="1024 samples"):
        timbre_from_audio(source, target[:100], pitch=60, steps=3)
