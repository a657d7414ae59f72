"""DiffAugment: each policy does what it says, is differentiable, repeatable by seed, and refuses non-images."""
import pytest
import torch

from creative_gan.augment import AugmentedDiscriminator, DiffAugment, check_augmentable
from creative_gan.errors import UsageError


def images(b=6, c=3, s=8, seed=0):
    return torch.rand(b, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_translation_moves_content_and_keeps_it():
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 3:5, 3:5] = 1.0                                    # a 2×2 dot in the middle
    out = DiffAugment("translation")(x, torch.Generator().manual_seed(0))
    assert torch.equal(out.sum(dim=(1, 2, 3)), x.sum(dim=(1, 2, 3)))   # shifts ≤ 1 px: the dot stays whole
    moved = (out != x).flatten(1).any(1)
    assert moved.float().mean() > 0.5                           # most samples moved


def test_cutout_zeroes_a_square_of_half_the_side():
    x = torch.ones(32, 1, 8, 8)
    out = DiffAugment("cutout")(x, torch.Generator().manual_seed(0))
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.max() == 16 and zeros.min() >= 4              # a 4×4 square, clipped at the borders
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_color_is_a_per_sample_affine_change_of_intensity():
    grey = images(c=1)
    out = DiffAugment("color")(grey, torch.Generator().manual_seed(0))
    for a, b in zip(grey, out):
        # brightness and contrast: b = α·a + β exactly, per sample
        design = torch.stack([a.flatten(), torch.ones(a.numel())], 1)
        coef = torch.linalg.lstsq(design, b.flatten().unsqueeze(1)).solution
        assert torch.allclose(design @ coef, b.flatten().unsqueeze(1), atol=1e-5)
        assert 0.5 - 1e-5 <= coef[0].item() <= 1.5 + 1e-5         # contrast factor in [0.5, 1.5]


def test_same_generator_state_gives_the_same_transform_to_real_and_fake():
    """Every policy chain is affine per sample, A(x) = L·x + b; one transform means A(r) − A(f) = A(r − f) − A(0)."""
    aug = DiffAugment("color,translation,cutout")
    real, fake = images(seed=1), images(seed=2)

    def seeded(x):
        return aug(x, torch.Generator().manual_seed(5))

    assert torch.allclose(seeded(real) - seeded(fake), seeded(real - fake) - seeded(torch.zeros_like(real)),
                          atol=1e-5)
    other = aug(fake, torch.Generator().manual_seed(6))
    assert not torch.allclose(seeded(real) - other, seeded(real - fake) - seeded(torch.zeros_like(real)),
                              atol=1e-3)
    assert torch.equal(seeded(real), seeded(real))               # repeatable


def test_gradients_flow_through_every_policy():
    for policy in ("color", "translation", "cutout", "color,translation,cutout"):
        x = images().requires_grad_(True)
        DiffAugment(policy)(x).square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0, policy


def test_probability_zero_is_identity_and_unknown_policy_refused():
    x = images()
    assert torch.equal(DiffAugment("color,translation,cutout", p=0.0)(x), x)
    with pytest.raises(UsageError, match="unknown augmentation"):
        DiffAugment("colour")


def test_non_images_are_refused_with_one_line():
    with pytest.raises(UsageError, match=r"\[B, C, H, W\]"):
        DiffAugment("translation")(torch.randn(4, 16000))       # a waveform batch
    with pytest.raises(UsageError, match="image-like"):
        check_augmentable(False, "audio")
    check_augmentable(True, "digits")


def test_augmented_discriminator_sees_the_augmented_input():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x)
            return x.flatten(1).sum(1)

    x = images()
    AugmentedDiscriminator(Spy(), DiffAugment("cutout"))(x)
    assert not torch.equal(seen[0], x)
