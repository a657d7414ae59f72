"""Closed-form values of every adversarial loss and regulariser at known logits and gradients."""
import math

import pytest
import torch

from creative_gan.errors import UsageError
from creative_gan.losses import d_loss, drift_penalty, g_loss, gradient_penalty, r1_penalty
from creative_gan.objective import WeightClippedWGAN, adversarial_loss

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 1.0, 0.0])


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def mean(values):
    return sum(values) / len(values)


def test_minimax_and_non_saturating_d_loss_is_binary_cross_entropy():
    # D maximises log D(x) + log(1 - D(G(z))): loss = -mean log σ(r) - mean log(1 - σ(f))
    expected = (mean([-math.log(sigmoid(r)) for r in REAL.tolist()])
                + mean([-math.log(1 - sigmoid(f)) for f in FAKE.tolist()]))
    for name in ("minimax", "non_saturating"):
        assert d_loss(name, REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses_at_known_logits():
    f = FAKE.tolist()
    # minimax: G minimises log(1 - σ(f)); non-saturating: G minimises -log σ(f)
    assert g_loss("minimax", FAKE).item() == pytest.approx(mean([math.log(1 - sigmoid(v)) for v in f]), rel=1e-6)
    assert g_loss("non_saturating", FAKE).item() == pytest.approx(mean([-math.log(sigmoid(v)) for v in f]), rel=1e-6)
    for name in ("hinge", "wgan", "wgan_gp"):
        assert g_loss(name, FAKE).item() == pytest.approx(-mean(f), abs=1e-7)
    assert g_loss("lsgan", FAKE).item() == pytest.approx(mean([0.5 * (v - 1) ** 2 for v in f]), rel=1e-6)


def test_hinge_wgan_lsgan_d_losses_at_known_logits():
    r, f = REAL.tolist(), FAKE.tolist()
    hinge = mean([max(0.0, 1 - v) for v in r]) + mean([max(0.0, 1 + v) for v in f])
    assert d_loss("hinge", REAL, FAKE).item() == pytest.approx(hinge, rel=1e-6)   # (0+2+0.5)/3 + (0+2+1)/3
    for name in ("wgan", "wgan_gp"):
        assert d_loss(name, REAL, FAKE).item() == pytest.approx(mean(f) - mean(r), abs=1e-6)
    lsgan = 0.5 * mean([(v - 1) ** 2 for v in r]) + 0.5 * mean([v ** 2 for v in f])
    assert d_loss("lsgan", REAL, FAKE).item() == pytest.approx(lsgan, rel=1e-6)


def test_d_loss_gradient_pushes_real_up_and_fake_down():
    """The sign of every D loss: descending it raises real logits and lowers fake ones."""
    for name in ("minimax", "non_saturating", "hinge", "wgan", "wgan_gp", "lsgan"):
        real = torch.full((4,), 0.5, requires_grad=True)
        fake = torch.full((4,), 0.5, requires_grad=True)
        d_loss(name, real, fake).backward()
        assert (real.grad < 0).all(), name
        assert (fake.grad > 0).all(), name
        fake = torch.full((4,), 0.5, requires_grad=True)
        g_loss(name, fake).backward()
        assert (fake.grad < 0).all(), name  # G wants its fakes to look real


def test_one_sided_label_smoothing_moves_only_the_real_target():
    s = 0.1
    expected = (mean([-(1 - s) * math.log(sigmoid(v)) - s * math.log(1 - sigmoid(v)) for v in REAL.tolist()])
                + mean([-math.log(1 - sigmoid(v)) for v in FAKE.tolist()]))
    assert d_loss("non_saturating", REAL, FAKE, label_smoothing=s).item() == pytest.approx(expected, rel=1e-6)
    lsgan = 0.5 * mean([(v - (1 - s)) ** 2 for v in REAL.tolist()]) + 0.5 * mean([v ** 2 for v in FAKE.tolist()])
    assert d_loss("lsgan", REAL, FAKE, label_smoothing=s).item() == pytest.approx(lsgan, rel=1e-6)


def test_label_noise_flips_the_stated_share_of_labels():
    torch.manual_seed(0)
    real = torch.full((20000,), 10.0)  # confident "real": loss ≈ 0 unless the label is flipped to 0
    fake = torch.full((20000,), -10.0)
    rng = torch.Generator().manual_seed(0)
    loss = d_loss("non_saturating", real, fake, label_noise=0.2, generator=rng).item()
    # each flipped label costs ≈ 10 nats; 20 % of each half flipped → ≈ 2 + 2
    assert loss == pytest.approx(4.0, rel=0.05)


def test_r1_is_the_squared_gradient_norm_with_weight_applied_directly():
    """R1 of a linear critic D(x) = ⟨a, x⟩ is ‖a‖² for every sample (w multiplies it, no ½)."""
    a = torch.tensor([[[[1.0, 2.0], [3.0, -1.0]]]])           # ‖a‖² = 15
    x = torch.randn(5, 1, 2, 2, requires_grad=True)
    logits = (x * a).sum(dim=(1, 2, 3))
    assert r1_penalty(logits, x).item() == pytest.approx(15.0, rel=1e-6)
    quadratic = (x ** 2).sum(dim=(1, 2, 3))                     # ∇ = 2x → ‖∇‖² = 4‖x‖²
    expected = (4 * (x.detach() ** 2).sum(dim=(1, 2, 3))).mean().item()
    assert r1_penalty(quadratic, x).item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_and_drift_at_known_critics():
    real, fake = torch.randn(6, 1, 3, 3), torch.randn(6, 1, 3, 3)
    a = torch.full((1, 1, 3, 3), 0.5)                           # ‖∇‖ = 0.5·3 = 1.5 everywhere
    gp = gradient_penalty(lambda x: (x * a).sum(dim=(1, 2, 3)), real, fake, torch.Generator().manual_seed(1))
    assert gp.item() == pytest.approx((1.5 - 1.0) ** 2, rel=1e-6)
    unit = torch.zeros(1, 1, 3, 3)
    unit[0, 0, 0, 0] = 1.0                                        # ‖∇‖ = 1: no penalty
    assert gradient_penalty(lambda x: (x * unit).sum(dim=(1, 2, 3)), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert drift_penalty(torch.tensor([1.0, -2.0, 3.0])).item() == pytest.approx(14.0 / 3, rel=1e-6)


def test_adversarial_loss_objects_match_the_named_functions_and_refuse_unknown_names():
    for name in ("minimax", "non_saturating", "hinge", "wgan_gp", "lsgan"):
        loss = adversarial_loss(name)
        assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d_loss(name, REAL, FAKE).item())
        assert loss.g_loss(FAKE).item() == pytest.approx(g_loss(name, FAKE).item())
    assert adversarial_loss("wgan_gp").default_regularisers == {"gp": 10.0}
    clip = adversarial_loss("wgan", type("O", (), {"wgan_clip": 0.05})())
    assert isinstance(clip, WeightClippedWGAN)
    layer = torch.nn.Linear(3, 3)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    clip.after_d_step(layer)
    assert layer.weight.abs().max().item() == pytest.approx(0.05)
    with pytest.raises(UsageError, match="unknown loss"):
        adversarial_loss("vanilla")
