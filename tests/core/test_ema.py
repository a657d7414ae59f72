"""EMA of G: exact values of the update, the warmup ramp reaching the stated decay, buffers copied."""
import pytest
import torch
from torch import nn

from creative_gan.ema import EMA


def test_update_is_the_stated_blend():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = EMA(model, decay=0.9, warmup=False)
    with torch.no_grad():
        model.weight.fill_(3.0)
    assert ema.update(model, 0) == pytest.approx(0.9)
    assert torch.allclose(ema.shadow.weight, torch.full((1, 2), 0.9 * 1 + 0.1 * 3))   # 1.2
    ema.update(model, 1)
    assert torch.allclose(ema.shadow.weight, torch.full((1, 2), 0.9 * 1.2 + 0.1 * 3))  # 1.38


@pytest.mark.parametrize("decay,warmup_steps", [(0.999, 1000), (0.99, 100), (0.9999, 5000), (0.5, 10)])
def test_warmup_reaches_the_stated_decay_at_the_stated_step(decay, warmup_steps):
    ema = EMA(nn.Linear(1, 1), decay=decay, warmup_steps=warmup_steps)
    ramp = [ema.decay_at(s) for s in range(warmup_steps + 50)]
    assert ramp[warmup_steps] == pytest.approx(decay, abs=1e-12)
    assert all(a <= b for a, b in zip(ramp, ramp[1:]))                # non-decreasing
    assert all(d < decay for d in ramp[:warmup_steps])                  # still ramping before
    assert all(d == decay for d in ramp[warmup_steps:])
    assert ramp[0] < 0.7                                                 # starts far from the init-heavy average


def test_warmup_values_for_the_defaults():
    ema = EMA(nn.Linear(1, 1))                                           # 0.999 over 1000 steps
    assert ema.decay_at(0) == pytest.approx(0.4995, abs=1e-3)
    assert ema.decay_at(100) == pytest.approx(0.9901, abs=1e-3)
    assert ema.decay_at(999) == pytest.approx(0.999, abs=2e-6)


def test_buffers_are_copied_not_averaged():
    model = nn.BatchNorm1d(3)
    ema = EMA(model, decay=0.9, warmup=False)
    with torch.no_grad():
        model.running_mean.fill_(5.0)
    ema.update(model, 0)
    assert torch.equal(ema.shadow.running_mean, torch.full((3,), 5.0))


def test_bad_decay_is_refused():
    with pytest.raises(ValueError):
        EMA(nn.Linear(1, 1), decay=1.0)
