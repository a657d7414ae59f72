"""Named training recipes for the note GAN (``creative-gan train audio --preset NAME``).

Each preset is a dict of :class:`~creative_gan.options.TrainOptions` overrides; ``model`` holds the
family, network configs, the training clip length and the spectral layout (spectral family only).
"""
from __future__ import annotations

from .constants import NOTE_SAMPLES, SAMPLE_RATE

# tiny networks: a few CPU steps in tests
_TINY_HARMONIC_G = dict(latent_dim=16, num_samples=SAMPLE_RATE // 2, num_harmonics=24, num_noise_bands=12,
                        hidden_dim=48, frame_hidden_dim=32)
_TINY_MEL_D = dict(latent_dim=16, num_mels=40, channels=[8, 16, 32], feature_dim=32)

PRESETS: dict[str, dict] = {
    "tiny": {
        "steps": 20, "batch_size": 8, "loss": "hinge", "lr_g": 2e-4, "lr_d": 2e-4,
        "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9], "loss_weights": {"D/pitch_ce": 1.0, "G/pitch_ce": 1.0},
        "checkpoint_every": 10, "preview_every": 10, "monitor_every": 10, "monitor_samples": 8, "log_every": 5,
        "model": {"family": "harmonic", "clip_samples": SAMPLE_RATE // 2, "generator": _TINY_HARMONIC_G,
                  "discriminator": _TINY_MEL_D, "mode_seeking": True},
    },
    "tiny-living": {   # the `living` recipe's mechanics at test size: modulation, velocity, instrument latents
        "steps": 20, "batch_size": 8, "loss": "hinge", "lr_g": 2e-4, "lr_d": 2e-4,
        "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9],
        "loss_weights": {"D/pitch_ce": 1.0, "G/pitch_ce": 1.0, "G/reconstruct": 0.2, "G/movement": 0.5,
                         "G/envelope": 0.05, "G/brightness": 2.0, "G/velocity_tilt": 0.5},
        "checkpoint_every": 10, "preview_every": 10, "monitor_every": 10, "monitor_samples": 8, "log_every": 5,
        "model": {"family": "harmonic", "clip_samples": SAMPLE_RATE, "reconstruct_share": 0.5,
                  "generator": dict(_TINY_HARMONIC_G, num_samples=SAMPLE_RATE, frame_layers=2, modulation=True,
                                    max_noise_ratio=0.1, attack_noise_ratio=1.0, velocity_mode="split",
                                    velocity_timbre="tilt"),
                  "discriminator": _TINY_MEL_D, "mode_seeking": True, "bank": {"steps": 3, "restarts": 2, "keep": 1}},
    },
    "tiny-spectral": {
        "steps": 20, "batch_size": 8, "loss": "wgan_gp", "regularisers": {"drift": 0.001},
        "lr_g": 8e-4, "lr_d": 8e-4, "betas_g": [0.0, 0.99], "betas_d": [0.0, 0.99],
        "loss_weights": {"D/pitch_ce": 10.0, "G/pitch_ce": 10.0},
        "checkpoint_every": 10, "preview_every": 10, "monitor_every": 10, "monitor_samples": 8, "log_every": 5,
        "model": {"family": "spectral", "clip_samples": 1024,
                  "layout": {"n_fft": 128, "hop": 64, "n_bins": 64, "n_frames": 16, "mel": False,
                             "num_samples": 1024},
                  "generator": dict(latent_dim=32, num_frames=16, num_bins=64, num_upsamples=3,
                                    base_channels=8, max_channels=32),
                  "discriminator": dict(latent_dim=32, num_frames=16, num_bins=64, num_upsamples=3,
                                        base_channels=8, max_channels=32, feature_dim=32)},
    },
    "tiny-wave": {
        "steps": 20, "batch_size": 8, "loss": "wgan_gp", "n_critic": 2, "lr_g": 1e-4, "lr_d": 1e-4,
        "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9], "loss_weights": {"D/pitch_ce": 1.0, "G/pitch_ce": 1.0},
        "checkpoint_every": 10, "preview_every": 10, "monitor_every": 10, "monitor_samples": 8, "log_every": 5,
        "model": {"family": "wave", "clip_samples": 4096,
                  "generator": dict(latent_dim=32, num_layers=4, num_samples=4096, base_channels=8),
                  "discriminator": dict(latent_dim=32, num_layers=4, num_samples=4096, base_channels=8,
                                        feature_dim=32)},
    },
    # the CPU recipe of the shipped model: harmonic G (in tune by construction, ~0.3 M parameters),
    # one-resolution log-mel D sized for a CPU (~1 s per step of 16 four-second notes on one core)
    "small": {
        "steps": 1500, "batch_size": 16, "loss": "hinge", "lr_g": 3e-4, "lr_d": 3e-4,
        "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9], "ema_decay": 0.995,
        "loss_weights": {"D/pitch_ce": 1.0, "G/pitch_ce": 1.0, "G/mode_seeking": 0.1},
        "checkpoint_every": 100, "preview_every": 250, "monitor_every": 100, "monitor_samples": 16,
        "log_every": 10,
        "model": {"family": "harmonic", "clip_samples": NOTE_SAMPLES,
                  "generator": dict(latent_dim=64, num_samples=NOTE_SAMPLES, hidden_dim=256,
                                    frame_hidden_dim=128, num_harmonics=64, num_noise_bands=32),
                  "discriminator": dict(latent_dim=64, fft_sizes=[1024], num_mels=64,
                                        channels=[16, 32, 64, 128], feature_dim=128),
                  "mode_seeking": True, "bank": True},
    },
    # the CPU recipe of the shipped model (living timbres): the `small` networks plus time-varying partials
    # (a second frame layer), LFO/shimmer/jitter modulation, a quiet noise floor with an onset allowance,
    # velocity conditioning (loudness slope + brightness tilt), and instrument latents re-making half of each
    # batch (log-mel L1, sustain movement, envelope, centroid) beside the adversarial loss — 30 GM programs ×
    # MIDI 24–84 × velocities 40/80/120. The shipped model then trained ~540 more steps with the velocity-tilt
    # prior on (G/velocity_tilt 0.5; from the start it silences every instrument's brightening), see
    # examples/train_audio_default.sh
    "living": {
        "steps": 5000, "batch_size": 16, "loss": "hinge", "lr_g": 3e-4, "lr_d": 3e-4,
        "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9], "ema_decay": 0.995, "ema_warmup_steps": 500,
        "loss_weights": {"D/pitch_ce": 1.0, "G/pitch_ce": 1.0, "G/mode_seeking": 0.1,
                         "G/reconstruct": 0.2, "G/movement": 0.5, "G/envelope": 0.05, "G/brightness": 2.0,
                         "G/velocity_tilt": 0.0},
        "checkpoint_every": 100, "preview_every": 500, "monitor_every": 200, "monitor_samples": 16,
        "log_every": 10,
        "model": {"family": "harmonic", "clip_samples": NOTE_SAMPLES, "reconstruct_share": 0.5,
                  "generator": dict(latent_dim=64, num_samples=NOTE_SAMPLES, hidden_dim=256,
                                    frame_hidden_dim=128, frame_layers=2, num_harmonics=64, num_noise_bands=32,
                                    modulation=True, max_noise_ratio=0.1, attack_noise_ratio=1.0,
                                    use_velocity=True, velocity_mode="split", velocity_timbre="tilt"),
                  "discriminator": dict(latent_dim=64, fft_sizes=[1024], num_mels=64,
                                        channels=[16, 32, 64, 128], feature_dim=128),
                  "mode_seeking": True, "bank": True, "default_timbre": "acoustic-grand-piano",
                  "seed_prior": "bank"},
    },
    # GANSynth's recipe: IF-mel 2×128×1024, WGAN-GP + drift + AC pitch loss, Adam 8e-4 β (0, 0.99) — GPU
    "gansynth": {
        "steps": 200_000, "batch_size": 8, "loss": "wgan_gp", "regularisers": {"drift": 0.001},
        "lr_g": 8e-4, "lr_d": 8e-4, "betas_g": [0.0, 0.99], "betas_d": [0.0, 0.99], "ema_decay": 0.999,
        "loss_weights": {"D/pitch_ce": 10.0, "G/pitch_ce": 10.0},
        "checkpoint_every": 2000, "preview_every": 2000, "monitor_every": 1000,
        "model": {"family": "spectral", "clip_samples": NOTE_SAMPLES,
                  "layout": {"n_fft": 2048, "hop": 512, "n_bins": 1024, "n_frames": 128, "mel": True,
                             "num_samples": NOTE_SAMPLES},
                  "generator": dict(latent_dim=256, num_frames=128, num_bins=1024, num_upsamples=6),
                  "discriminator": dict(latent_dim=256, num_frames=128, num_bins=1024, num_upsamples=6)},
    },
    # WaveGAN's recipe, 65,536-sample generator cropped to 4-s notes: WGAN-GP, 5 D steps — GPU
    "wave": {
        "steps": 100_000, "batch_size": 64, "loss": "wgan_gp", "n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4,
        "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9], "loss_weights": {"D/pitch_ce": 1.0, "G/pitch_ce": 1.0},
        "checkpoint_every": 2000, "preview_every": 2000, "monitor_every": 1000,
        "model": {"family": "wave", "clip_samples": NOTE_SAMPLES,
                  "generator": dict(latent_dim=100, num_layers=6, num_samples=NOTE_SAMPLES),
                  "discriminator": dict(latent_dim=100, num_layers=6, num_samples=NOTE_SAMPLES)},
    },
}
