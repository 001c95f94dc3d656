"""Our flow-matching Euler sampler walks the same σ grid and takes the same steps as diffusers' scheduler.

The σ grid itself comes from diffusers' scheduler (``FlowMatchEuler.scheduler``); these tests guard that our
config mapping and our explicit-σ Euler loop match stepping a scheduler built independently, here, directly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

from adloom.creative.video.sampler import FlowMatchEuler


@pytest.mark.parametrize("shift", [1.0, 3.0, 5.0])
@pytest.mark.parametrize("steps", [2, 7, 50])
def test_static_shift_grid_matches_diffusers(shift: float, steps: int) -> None:
    ref = FlowMatchEulerDiscreteScheduler(shift=shift)
    ref.set_timesteps(steps)
    ours = FlowMatchEuler(shift=shift)
    sig = ours.sigmas(steps)
    assert sig.shape == (steps + 1,) and sig.dtype == torch.float32
    assert torch.allclose(sig, ref.sigmas, atol=1e-7, rtol=0)
    assert torch.allclose(ours.timesteps(sig), ref.timesteps, atol=1e-4, rtol=0)
    assert sig[0] == 1.0 and sig[-1] == 0.0 and bool((sig[1:] < sig[:-1]).all())


@pytest.mark.parametrize("seq_len", [64, 1024, 8000])
def test_dynamic_shift_grid_matches_diffusers_ltx_style(seq_len: int) -> None:
    steps = 8
    ref = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
    ours = FlowMatchEuler(use_dynamic_shifting=True)
    mu = ours.mu(seq_len)
    base = np.linspace(1.0, 1 / steps, steps)
    ref.set_timesteps(steps, sigmas=base, mu=mu)
    assert torch.allclose(ours.sigmas(steps, mu=mu, base_sigmas=base), ref.sigmas, atol=1e-7, rtol=0)
    with pytest.raises(ValueError, match="mu"):
        ours.sigmas(steps)


def test_shift_terminal_matches_diffusers() -> None:
    ref = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, shift_terminal=0.1)
    ours = FlowMatchEuler(use_dynamic_shifting=True, shift_terminal=0.1)
    base = np.linspace(1.0, 1 / 10, 10)
    ref.set_timesteps(10, sigmas=base, mu=1.3)
    sig = ours.sigmas(10, mu=1.3, base_sigmas=base)
    assert torch.allclose(sig, ref.sigmas, atol=1e-6, rtol=0)
    assert abs(float(sig[-2]) - 0.1) < 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("style", ["wan", "ltx"])
def test_euler_steps_match_scheduler_step(dtype: torch.dtype, style: str) -> None:
    steps = 6
    if style == "wan":  # static shift, default grid
        ref, ours, kw = FlowMatchEulerDiscreteScheduler(shift=3.0), FlowMatchEuler(shift=3.0), {}
        ref.set_timesteps(steps)
    else:  # dynamic shift on LTX-Video's linear base grid, stretched to a terminal σ
        ref = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, shift_terminal=0.1)
        ours = FlowMatchEuler(use_dynamic_shifting=True, shift_terminal=0.1)
        kw = {"mu": ours.mu(2048), "base_sigmas": np.linspace(1.0, 1 / steps, steps)}
        ref.set_timesteps(steps, sigmas=kw["base_sigmas"], mu=kw["mu"])
    sig = ours.sigmas(steps, **kw)
    assert torch.equal(ours.timesteps(sig), ref.timesteps)
    g = torch.Generator().manual_seed(0)
    x_ref = x_ours = torch.randn(2, 4, 3, 5, 5, generator=g)
    for i, t in enumerate(ref.timesteps):
        v = torch.randn(x_ref.shape, generator=g).to(dtype)
        x_ref = ref.step(v, t, x_ref, return_dict=False)[0]
        x_ours = ours.step(x_ours, v, sig[i], sig[i + 1])
        assert x_ours.dtype == x_ref.dtype == dtype
        assert torch.allclose(x_ours.float(), x_ref.float(), atol=1e-6, rtol=0)


def test_euler_recovers_straight_path_exactly() -> None:
    """With the true velocity of a straight path (ε − x₀) the sampler lands on x₀ for any grid."""
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(3, 8, generator=g), torch.randn(3, 8, generator=g)
    s = FlowMatchEuler(shift=5.0)
    sig = s.sigmas(5)
    x = eps.clone()
    for i in range(5):
        x = s.step(x, eps - x0, sig[i], sig[i + 1])
    assert torch.allclose(x, x0, atol=1e-5)


def test_reads_unipc_flow_shift_config() -> None:
    cfg = dict(UniPCMultistepScheduler(use_flow_sigmas=True, flow_shift=5.0, prediction_type="flow_prediction").config)
    s = FlowMatchEuler.from_scheduler_config(cfg)
    assert s.shift == 5.0 and not s.use_dynamic_shifting
    assert FlowMatchEuler.from_scheduler_config(cfg, shift=2.0).shift == 2.0
    dyn = FlowMatchEuler.from_scheduler_config(dict(FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True).config))
    assert dyn.use_dynamic_shifting
    # An explicit shift overrides dynamic shifting with a static one.
    assert not FlowMatchEuler.from_scheduler_config(dict(dyn.__dict__), shift=3.0).use_dynamic_shifting
