"""The `harmonic` note GAN: a control generator driving a harmonic-plus-noise synth, judged on log-mel spectrograms.

G maps (z, pitch, velocity) to frame-rate controls — loudness envelope, a distribution over K harmonics, noise
band magnitudes, a per-note inharmonicity — and renders them with `synth.HarmonicNoiseSynth` at the exact MIDI
pitch frequency, so every note is in tune by construction. Two bounds keep the pitch audible whatever G learns:
the fundamental is never weaker than `fundamental_floor` × the strongest partial, and the noise power never
exceeds `max_noise_ratio` × the harmonic power. z drives the timbre from both ends: a static per-note harmonic
profile and FiLM modulation of the envelope network, so different z give clearly different instruments.
A `vibrato` model also bends each note's pitch with its modulation LFO (`vibrato_warp`, a modulated
fractional delay); the depth head is fitted to real notes after training (`training.vibrato`), since a
log-mel discriminator cannot see a few cents of pitch movement.

Its discriminator, `MelDiscriminator`, lives in :mod:`.mel_discriminator` (re-exported here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from creative_gan.layers import PixelNorm, check_label_range

from ..constants import NOTE_OFF_SECONDS, NOTE_SAMPLES, PITCH_MAX, PITCH_MIN, SAMPLE_RATE
from ..dsp.synth import HarmonicNoiseSynth, midi_to_hz, num_frames_for
from ..dsp.vibrato import max_delay_samples, vibrato_warp
from .mel_discriminator import MelDiscriminator, MelDiscriminatorConfig

__all__ = ["HarmonicGeneratorConfig", "HarmonicGenerator", "MelDiscriminatorConfig", "MelDiscriminator",
           "pitch_features", "time_features", "vibrato_warp"]

_DECAY_SECONDS = (0.01, 0.04, 0.15, 0.5, 1.5, 4.0)     # time constants of the envelope basis (onset decays)
_RELEASE_SECONDS = (0.02, 0.08, 0.3, 1.0)              # time constants after note-off
NUM_TIME_FEATURES = len(_DECAY_SECONDS) + 1 + len(_RELEASE_SECONDS)
_ONSET_FEATURE = _DECAY_SECONDS.index(0.01)                                     # exp(−t / 10 ms)
_RELEASE_FEATURE = len(_DECAY_SECONDS) + 1 + _RELEASE_SECONDS.index(0.3)        # 1 − exp(−(t − off) / 0.3 s)
_ATTACK_NOISE_FEATURE = _DECAY_SECONDS.index(0.04)                              # exp(−t / 40 ms)
_JITTER_HZ = (1.7, 4.3, 9.1)                                                    # level-jitter sines
_VELOCITY_CENTRE = 80.0                                                         # "split" velocity: no gain here
_LFO_MIN_HZ, _LFO_SPAN_HZ = 3.5, 4.0                                            # modulation LFO: 3.5–7.5 Hz
_MODULATION_FADE_SECONDS = 0.25                                                 # LFO and jitter fade in


@dataclass
class HarmonicGeneratorConfig:
    """Sizes and bounds of `HarmonicGenerator`; times in samples unless named `_seconds`."""

    latent_dim: int = 64
    pitch_min: int = PITCH_MIN
    pitch_max: int = PITCH_MAX
    use_velocity: bool = False
    sample_rate: int = SAMPLE_RATE
    num_samples: int = NOTE_SAMPLES        # default render length (any length works: controls are analytic in t)
    hop_size: int = 256                    # samples per control frame (62.5 frames/s at 16 kHz)
    num_harmonics: int = 64
    num_noise_bands: int = 40              # mel-spaced, 0 Hz..Nyquist
    hidden_dim: int = 256                  # per-note trunk width
    frame_hidden_dim: int = 192            # per-frame envelope network width
    note_off_seconds: float = NOTE_OFF_SECONDS
    fundamental_floor: float = 0.35        # fundamental amplitude ≥ this × strongest partial (≈ −9 dB)
    max_noise_ratio: float = 0.3           # noise power ≤ this × harmonic power (≈ −5 dB)
    max_inharmonicity: float = 5e-4        # stiff-string B; partial k sharpened by √((1+Bk²)/(1+B))
    pitch_feature_spacing: float = 6.0     # semitones between the smooth pitch-code bumps
    frame_layers: int = 1                  # hidden layers of the per-frame network after the FiLM'd time basis
    modulation: bool = False               # per-note tremolo/vibrato-like LFO, partial shimmer and level jitter
    # frequency vibrato (needs `modulation`): the modulation LFO also bends the pitch by ±depth cents, depth
    # = max_vibrato_cents · sigmoid(vibrato_head(code)) per note (starts ≈ 0); rendered as a modulated
    # fractional delay of the whole note (harmonics and noise alike), see `vibrato_warp`
    vibrato: bool = False
    max_vibrato_cents: float = 25.0
    attack_noise_ratio: float = 0.0        # extra noise allowance at the onset (× harmonic power, 40-ms decay)
    # "input": velocity/127 is one more trunk input (it may change everything); "split": the note code comes
    # from (z, pitch) alone and velocity acts through a learned per-note gain slope plus a timbre shift of the
    # code that starts at zero — an instrument whose velocity only changes loudness stays exactly that way
    velocity_mode: str = "input"
    # "split" mode's timbre path. "shift": the code shift above (it may change anything: envelope, noise,
    # spectrum). "tilt": one per-note brightness slope b ≥ 0 (softplus, starting at ≈0.0025) tilts the partials
    # by k^(b·(v − 80)/127) — louder only ever brightens, and an instrument whose code keeps b ≈ 0 keeps exactly
    # its spectrum at every velocity, as most sampled instruments do
    velocity_timbre: str = "shift"

    @property
    def num_pitches(self) -> int:
        return self.pitch_max - self.pitch_min + 1

    @classmethod
    def tiny(cls, **overrides) -> "HarmonicGeneratorConfig":
        """A CPU-test preset: 1-s notes, narrow networks, 32 harmonics, 16 noise bands."""
        values = dict(num_samples=SAMPLE_RATE, num_harmonics=32, num_noise_bands=16, hidden_dim=64,
                      frame_hidden_dim=48)
        values.update(overrides)
        return cls(**values)


def pitch_features(pitch: torch.Tensor, pitch_min: int, pitch_max: int, spacing: float) -> torch.Tensor:
    """Smooth pitch code [B, n]: Gaussian bumps every `spacing` semitones + a linear term; MIDI pitch [B] → float.

    Unlike a one-hot, neighbouring pitches share features, so pitches missing from the training set (a corpus of
    36–84 rendering a bass line at 28) still get a sensible timbre.
    """
    centres = torch.arange(pitch_min, pitch_max + spacing, spacing, dtype=torch.float32, device=pitch.device)
    p = pitch.float()[:, None]
    bumps = torch.exp(-0.5 * ((p - centres) / spacing) ** 2)
    linear = (p - 0.5 * (pitch_min + pitch_max)) / max(pitch_max - pitch_min, 1) * 2
    return torch.cat([bumps, linear], dim=1)


def time_features(num_frames: int, hop_size: int, sample_rate: int, note_off: torch.Tensor) -> torch.Tensor:
    """Envelope basis [B, F, NUM_TIME_FEATURES] at frame times t = n·hop/sr: onset decays exp(−t/τ), t/4 s, and
    post-note-off ramps 1 − exp(−(t − off)/τ); note_off [B] seconds."""
    t = torch.arange(num_frames, dtype=torch.float32, device=note_off.device) * (hop_size / sample_rate)
    decays = torch.exp(-t[:, None] / torch.tensor(_DECAY_SECONDS, device=t.device))         # [F, 6]
    onset = torch.cat([decays, t[:, None] / 4.0], dim=1).expand(note_off.shape[0], -1, -1)
    released = (t[None, :] - note_off[:, None]).clamp_min(0.0)[..., None]                    # [B, F, 1]
    release = 1 - torch.exp(-released / torch.tensor(_RELEASE_SECONDS, device=t.device))
    return torch.cat([onset, release], dim=-1)


class HarmonicGenerator(nn.Module):
    """(z [B, latent_dim], MIDI pitch [B], velocity [B] | None) → audio [B, num_samples] in about [−1, 1].

    forward(..., num_samples=N) renders only the first N samples (identical to the start of a longer render in
    eval mode); note_off (seconds, float or [B]) moves the release, default `note_off_seconds`. In training mode
    the noise is fresh random noise; in eval mode it comes from the synth's fixed table, so G is a deterministic
    function of its inputs.
    """

    def __init__(self, config: HarmonicGeneratorConfig | None = None):
        super().__init__()
        self.config = config = config or HarmonicGeneratorConfig()
        hidden, frame_hidden, harmonics, bands = (config.hidden_dim, config.frame_hidden_dim,
                                                  config.num_harmonics, config.num_noise_bands)
        num_pitch_features = pitch_features(torch.tensor([config.pitch_min]), config.pitch_min, config.pitch_max,
                                            config.pitch_feature_spacing).shape[1]
        if config.velocity_mode not in ("input", "split"):
            raise ValueError(f"velocity_mode must be 'input' or 'split', got {config.velocity_mode!r}")
        if config.velocity_timbre not in ("shift", "tilt"):
            raise ValueError(f"velocity_timbre must be 'shift' or 'tilt', got {config.velocity_timbre!r}")
        self.split_velocity = bool(config.use_velocity and config.velocity_mode == "split")
        self.velocity_tilts = self.split_velocity and config.velocity_timbre == "tilt"
        if config.vibrato and not config.modulation:
            raise ValueError("vibrato needs modulation=True (the vibrato rides the modulation LFO)")
        in_features = config.latent_dim + num_pitch_features + int(config.use_velocity and not self.split_velocity)
        self.latent_norm = PixelNorm()
        self.trunk = nn.Sequential(nn.Linear(in_features, hidden), nn.LeakyReLU(0.2),
                                   nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))
        # per-note (static) heads: the timbre's harmonic profile, noise colour, string stiffness
        self.static_harmonics = nn.Linear(hidden, harmonics)
        self.static_noise = nn.Linear(hidden, bands)
        self.inharmonicity_head = nn.Linear(hidden, 1)
        # per-frame envelope network: time basis, FiLM-modulated by the note code
        self.time_projection = nn.Linear(NUM_TIME_FEATURES, frame_hidden)
        self.film = nn.Linear(hidden, 2 * frame_hidden)
        self.frame_layer = nn.Linear(frame_hidden, frame_hidden)
        self.extra_frame_layers = nn.ModuleList(nn.Linear(frame_hidden, frame_hidden)
                                                for _ in range(max(0, config.frame_layers - 1)))
        if config.modulation:
            # per note: LFO rate, tremolo depth, partial-shimmer depth, level-jitter depth
            self.modulation_head = nn.Linear(hidden, 4)
            pattern = torch.randn(harmonics, generator=torch.Generator().manual_seed(7))
            self.register_buffer("shimmer_pattern", pattern / pattern.std(), persistent=False)
        if config.vibrato:
            self.vibrato_head = nn.Linear(hidden, 1)           # sigmoid → share of max_vibrato_cents
        self.frame_head = nn.Linear(frame_hidden, 1 + harmonics + bands)
        if self.split_velocity:
            self.velocity_gain = nn.Linear(hidden, 1)          # softplus → ln-amplitude per unit of velocity/127
            if self.velocity_tilts:
                self.velocity_tilt = nn.Linear(hidden, 1)      # softplus → brightness slope per unit of velocity
                self.register_buffer("log_harmonic_number", torch.log(torch.arange(1.0, harmonics + 1)),
                                     persistent=False)
            else:
                self.velocity_shift = nn.Linear(hidden, hidden)    # code += (v − v₀) · shift(code); starts at 0
        self.synth = HarmonicNoiseSynth(config.sample_rate, config.hop_size, harmonics, bands)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        """He init (so the note code has unit scale), then heads sized so that z already changes the timbre
        clearly at step 0: harmonic-profile logits and envelope FiLM vary by ≈1 and ≈0.5 across z. Biases start
        from a natural falling spectrum, faint noise and almost no stiffness."""
        for layer in (*self.trunk, self.time_projection, self.frame_layer, *self.extra_frame_layers):
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, a=0.2)
                nn.init.zeros_(layer.bias)
        hidden = self.config.hidden_dim
        nn.init.normal_(self.static_harmonics.weight, std=1.0 / math.sqrt(hidden))
        nn.init.normal_(self.static_noise.weight, std=1.0 / math.sqrt(hidden))
        nn.init.normal_(self.film.weight, std=0.5 / math.sqrt(hidden))
        nn.init.zeros_(self.film.bias)
        harmonic_number = torch.arange(1, self.config.num_harmonics + 1, dtype=torch.float32)
        self.static_harmonics.bias.copy_(-1.5 * torch.log(harmonic_number))     # a_k ∝ k^-1.5, −9 dB/octave
        self.frame_head.weight.mul_(0.3)      # time variation starts gentle; the per-note profile carries timbre
        self.static_noise.bias.fill_(-2.0)
        self.inharmonicity_head.bias.fill_(-3.0)
        if self.split_velocity:     # ≈ +19 dB from velocity 40 to 120 at start (FluidR3's and MIDI's usual)
            nn.init.normal_(self.velocity_gain.weight, std=0.1 / math.sqrt(hidden))
            self.velocity_gain.bias.fill_(3.45)
            if self.velocity_tilts:   # ≈ flat at start: softplus(−6) ≈ 0.0025 moves partial 64 by < 1 % at most
                nn.init.normal_(self.velocity_tilt.weight, std=0.1 / math.sqrt(hidden))
                self.velocity_tilt.bias.fill_(-6.0)
            else:
                nn.init.zeros_(self.velocity_shift.weight)
                nn.init.zeros_(self.velocity_shift.bias)
        if self.config.modulation:
            nn.init.normal_(self.modulation_head.weight, std=0.5 / math.sqrt(hidden))
            self.modulation_head.bias.copy_(torch.tensor([0.0, -2.0, -2.0, -2.0]))
        if self.config.vibrato:     # ≈ 0.06 cents at start: a model gains vibrato only where it learns it
            nn.init.normal_(self.vibrato_head.weight, std=0.1 / math.sqrt(hidden))
            self.vibrato_head.bias.fill_(-6.0)

    def _note_code(self, z: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None):
        """(per-note code [B, hidden_dim], ln-amplitude gain [B] or None, partial tilt exponent [B] or None) from
        unit-RMS z, the smooth pitch code and velocity (velocity/127 as an input, or — "split" mode — a gain
        slope and a code shift or a brightness tilt)."""
        cfg = self.config
        parts = [self.latent_norm(z), pitch_features(pitch, cfg.pitch_min, cfg.pitch_max, cfg.pitch_feature_spacing)]
        if cfg.use_velocity:
            if velocity is None:
                velocity = torch.full_like(pitch, 100)
            check_label_range(velocity, 0, 127, "velocity")
            if not self.split_velocity:
                parts.append(velocity.float()[:, None] / 127.0)
        code = self.trunk(torch.cat(parts, dim=1))
        if not self.split_velocity:
            return code, None, None
        offset = (velocity.float() - _VELOCITY_CENTRE)[:, None] / 127.0                    # [B, 1]
        slope = F.softplus(self.velocity_gain(code))                                         # [B, 1]
        if self.velocity_tilts:
            return code, (offset * slope)[:, 0], offset[:, 0] * self._brightness_slope(code)
        code = code + offset * self.velocity_shift(code)
        return code, (offset * slope)[:, 0], None

    def velocity_brightening(self, z: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor | None:
        """Per-note brightness slope b ≥ 0 [B] of a "tilt" model (partial k gains k^(b·Δv/127)); None otherwise."""
        if not self.velocity_tilts:
            return None
        code = self._note_code(z, torch.as_tensor(pitch, device=z.device), None)[0]   # the code has no velocity
        return self._brightness_slope(code)

    def _brightness_slope(self, code: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.velocity_tilt(code))[:, 0]

    def controls(self, z: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None,
                 num_samples: int | None = None, note_off: torch.Tensor | float | None = None) -> dict:
        """Synth controls for the first `num_samples` samples (F = ceil(N/hop) + 1 frames).

        Returns f0 [B] Hz, amplitude [B, F] (linear, ≤ 1), harmonic_distribution [B, F, K] (sums to 1 over
        partials below Nyquist), harmonic_amplitudes [B, F, K], noise_magnitudes [B, F, bands] (RMS),
        inharmonicity [B].
        """
        cfg = self.config
        pitch = torch.as_tensor(pitch, device=z.device)
        check_label_range(pitch, cfg.pitch_min, cfg.pitch_max, "pitch")
        if z.dim() != 2 or z.shape[1] != cfg.latent_dim or pitch.shape != z.shape[:1]:
            raise ValueError(f"expected z [B, {cfg.latent_dim}] and pitch [B], got {tuple(z.shape)} and "
                             f"{tuple(pitch.shape)}")
        num_samples = cfg.num_samples if num_samples is None else int(num_samples)
        num_frames = num_frames_for(num_samples, cfg.hop_size)
        note_off = cfg.note_off_seconds if note_off is None else note_off
        note_off = torch.as_tensor(note_off, dtype=torch.float32, device=z.device).expand(z.shape[0])

        code, log_gain, tilt = self._note_code(z, pitch, velocity)                          # [B, H], [B], [B]
        scale, shift = self.film(code)[:, None].chunk(2, dim=-1)
        times = time_features(num_frames, cfg.hop_size, cfg.sample_rate, note_off)           # [B, F, P]
        hidden = F.leaky_relu(self.time_projection(times) * (1 + scale) + shift, 0.2)
        hidden = F.leaky_relu(self.frame_layer(hidden), 0.2)
        for layer in self.extra_frame_layers:
            hidden = hidden + F.leaky_relu(layer(hidden), 0.2)
        amp_logit, harmonic_logits, noise_logits = self.frame_head(hidden).split(
            [1, cfg.num_harmonics, cfg.num_noise_bands], dim=-1)

        f0 = midi_to_hz(pitch)
        inharmonicity = cfg.max_inharmonicity * torch.sigmoid(self.inharmonicity_head(code)[:, 0])
        audible = self.synth.harmonic_mask(f0, inharmonicity)[:, None]                     # [B, 1, K]
        harmonic_logits = harmonic_logits + self.static_harmonics(code)[:, None]
        if tilt is not None:                                   # a_k · k^tilt (before the fundamental floor)
            harmonic_logits = harmonic_logits + tilt[:, None, None] * self.log_harmonic_number
        level_modulation, vibrato = None, {}
        if cfg.modulation:
            level_modulation, shimmer, lfo = self._modulation(code, pitch, times.shape[1])
            if cfg.vibrato:
                vibrato = {"vibrato_cents": self.vibrato_depth(code), "vibrato_rate": lfo[0],
                           "vibrato_phase": lfo[1]}
            harmonic_logits = harmonic_logits + shimmer[..., None] * self.shimmer_pattern
        distribution = torch.softmax(harmonic_logits.masked_fill(~audible, -math.inf), dim=-1)
        # the fundamental never falls more than `fundamental_floor` below the strongest partial (no octave jumps)
        floor = cfg.fundamental_floor * distribution.amax(dim=-1, keepdim=True)
        fundamental = torch.maximum(distribution[..., :1], floor)
        distribution = torch.cat([fundamental, distribution[..., 1:]], dim=-1)
        distribution = distribution / distribution.sum(dim=-1, keepdim=True)

        # prior: a ≈10 ms fade-in from silence (no onset click) and a ≈0.3 s fade after note-off; G may override
        envelope_prior = -8.0 * (times[..., _ONSET_FEATURE] + times[..., _RELEASE_FEATURE])
        amplitude = torch.sigmoid(amp_logit[..., 0] + envelope_prior)                       # [B, F]
        if level_modulation is not None:
            amplitude = amplitude * torch.exp(level_modulation)
        if log_gain is not None:
            amplitude = amplitude * torch.exp(log_gain)[:, None]
        harmonic_amplitudes = amplitude[..., None] * distribution
        # noise RMS ≤ √(ratio · harmonic power); harmonic power = Σ a_k² / 2
        harmonic_power = harmonic_amplitudes.pow(2).sum(dim=-1, keepdim=True) / 2
        noise_ratio = cfg.max_noise_ratio + cfg.attack_noise_ratio * times[..., _ATTACK_NOISE_FEATURE, None]
        noise_ceiling = torch.sqrt(noise_ratio * harmonic_power + 1e-12)
        noise_shape = torch.sigmoid(noise_logits + self.static_noise(code)[:, None])
        return {"f0": f0, "amplitude": amplitude, "harmonic_distribution": distribution,
                "harmonic_amplitudes": harmonic_amplitudes, "noise_magnitudes": noise_ceiling * noise_shape,
                "inharmonicity": inharmonicity, **vibrato}

    def vibrato_depth(self, code: torch.Tensor) -> torch.Tensor:
        """Vibrato depth [B] in cents (peak pitch deviation) of per-note codes [B, hidden_dim]."""
        return self.config.max_vibrato_cents * torch.sigmoid(self.vibrato_head(code)[:, 0])

    def _modulation(self, code: torch.Tensor, pitch: torch.Tensor, num_frames: int):
        """Level modulation [B, F] (natural-log amplitude), shimmer depth [B, F] (harmonic-logit units) and the
        LFO itself (rate [B] Hz, starting phase [B] rad), which a vibrato model also bends the pitch with.

        An LFO of 3.5–7.5 Hz (tremolo ≤ ±3 dB; shimmer moves energy between partials as vibrato through a
        body's resonances does) plus a jitter of three incommensurate slower/faster sines (bow, breath), both
        fading in over ≈0.25 s after the attack. Phases are random in training mode and fixed by the pitch in
        eval mode (deterministic renders; a prefix render equals the start of a longer one).
        """
        cfg = self.config
        mod = torch.sigmoid(self.modulation_head(code))                                   # [B, 4]
        rate = _LFO_MIN_HZ + _LFO_SPAN_HZ * mod[:, 0]
        tremolo, shimmer, jitter = 0.35 * mod[:, 1], 1.0 * mod[:, 2], 0.25 * mod[:, 3]
        t = torch.arange(num_frames, dtype=torch.float32, device=code.device) * (cfg.hop_size / cfg.sample_rate)
        if self.training:
            phases = torch.rand(code.shape[0], 4, device=code.device)
        else:
            golden = torch.tensor([0.381966, 0.618034, 0.207107, 0.732051], device=code.device)
            phases = torch.frac(pitch.double()[:, None] * golden.double()).float()
        phases = 2 * math.pi * phases
        lfo = torch.sin(2 * math.pi * rate[:, None] * t + phases[:, :1])                    # [B, F]
        jitter_rates = torch.tensor(_JITTER_HZ, device=code.device)
        wobble = torch.sin(2 * math.pi * jitter_rates[:, None] * t + phases[:, 1:, None]).sum(1) / math.sqrt(3)
        fade = 1 - torch.exp(-t / _MODULATION_FADE_SECONDS)
        level = fade * (tremolo[:, None] * lfo + jitter[:, None] * wobble)
        return level, fade * shimmer[:, None] * lfo, (rate, phases[:, 0])

    def forward(self, z: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor | None = None,
                num_samples: int | None = None, note_off: torch.Tensor | float | None = None) -> torch.Tensor:
        num_samples = self.config.num_samples if num_samples is None else int(num_samples)
        pitch = torch.as_tensor(pitch, device=z.device)
        velocity = None if velocity is None else torch.as_tensor(velocity, device=z.device)
        if not torch.is_tensor(note_off) or note_off.dim() == 0:
            note_off = torch.as_tensor(self.config.note_off_seconds if note_off is None else note_off,
                                       dtype=torch.float32, device=z.device).expand(z.shape[0])
        # a few notes at a time keep every [notes, frames, …] temporary cache-sized (≈1.5× faster on CPU)
        chunk = max(1, self.synth.frames_per_chunk // num_frames_for(num_samples, self.config.hop_size))
        # a vibrato warp reads up to `lead` samples ahead of the one it writes: those are rendered, then cut
        rendered = num_samples + (_vibrato_lead(self.config) if self.config.vibrato else 0)
        pieces, vibrato = [], []
        for start in range(0, z.shape[0], chunk):
            part = slice(start, start + chunk)
            c = self.controls(z[part], pitch[part], None if velocity is None else velocity[part], rendered,
                              note_off[part])
            if self.training:   # fresh noise each step: D cannot learn a fixed noise pattern
                noise_offset = None
            else:               # deterministic, varies by pitch and z so simultaneous notes do not share noise
                noise_offset = pitch[part].long() * 37 + (z[part, 0].detach().abs() * 1000).long()
            pieces.append(self.synth(c["f0"], c["harmonic_amplitudes"], c["noise_magnitudes"], c["inharmonicity"],
                                     rendered, noise_offset))
            if "vibrato_cents" in c:
                vibrato.append(torch.stack([c["vibrato_cents"], c["vibrato_rate"], c["vibrato_phase"]]))
        audio = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
        if vibrato:             # once for the whole batch: per-call overhead would cost more than the warp
            cents, rate, phase = torch.cat(vibrato, dim=1)
            audio = vibrato_warp(audio, cents, rate, phase, self.config.sample_rate,
                                 _MODULATION_FADE_SECONDS)[:, :num_samples]
        return audio


def _vibrato_lead(config: HarmonicGeneratorConfig) -> int:
    """Samples a vibrato warp may read ahead of the one it writes (its largest delay swing, plus the cubic's)."""
    return max_delay_samples(config.max_vibrato_cents, _LFO_MIN_HZ, config.sample_rate) + 3
