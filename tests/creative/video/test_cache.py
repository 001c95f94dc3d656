"""Step caching: off is the reference loop bit for bit; on skips blocks when the first block barely moves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adloom.core.errors import InputError
from adloom.creative.video.cache import StepCache, make_cache
from adloom.creative.video.models import build_tiny
from adloom.creative.video.pipeline import VideoPipeline, VideoRequest

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def wan():
    return build_tiny("wan", seed=0)


def _reference_loop(model, prompt: str, negative: str, steps: int, seed: int, g: float = 5.0) -> torch.Tensor:
    """The plain loop: diffusers' transformer forward and diffusers' scheduler, CFG batched, no cache."""
    sched = model.diffusers_scheduler()
    sched.set_timesteps(steps)
    x = torch.randn(model.fam.latent_shape(model, 1, 9, 16, 16), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        text, _ = model.fam.encode_prompt(model, [negative, prompt], model.max_sequence_length, torch.device("cpu"))
        for t in sched.timesteps:
            out = model.transformer(
                hidden_states=torch.cat([x, x]), timestep=t.expand(2), encoder_hidden_states=text, return_dict=False
            )[0]
            v_u, v_c = out.chunk(2)
            x = sched.step(v_u + g * (v_c - v_u), t, x, return_dict=False)[0]
    return x


def _req(**kw) -> VideoRequest:
    base = dict(prompt="a red mug", negative_prompt="blur", width=16, height=16, num_frames=9, steps=6, seed=2)
    base.update(kw)
    return VideoRequest(**base, return_latents=True)


def test_cache_off_is_the_reference_loop_exactly(wan) -> None:
    ref = _reference_loop(wan, "a red mug", "blur", steps=6, seed=2)
    off = VideoPipeline(wan)(_req(cache_threshold=0.0))
    assert off.cache is None
    assert torch.equal(off.latents, ref)
    # A threshold no step can meet runs every block: the same numbers as no cache at all.
    never = VideoPipeline(wan)(_req(cache_threshold=1e-12))
    assert never.cache["hits"] == 0 and never.cache["misses"] == 6
    assert torch.equal(never.latents, ref)


@pytest.mark.parametrize("fam", ["wan", "ltx"])
def test_cache_on_skips_blocks_and_stays_close(fam: str) -> None:
    model = build_tiny(fam, seed=0, num_layers=4)
    off = VideoPipeline(model)(_req(steps=10))
    on = VideoPipeline(model)(_req(steps=10, cache_threshold=0.5, cache_max_consecutive=None))
    assert on.cache["hits"] > 0 and on.cache["hits"] + on.cache["misses"] == 10
    assert not torch.equal(on.latents, off.latents)
    mse = float(np.mean((on.frames_float - off.frames_float) ** 2))
    psnr = 10 * np.log10(1.0 / max(mse, 1e-12))
    assert psnr > 20, psnr


def test_step_cache_logic() -> None:
    calls = {"tail": 0}

    def head(h):
        return h + 1.0

    def tail(h):
        calls["tail"] += 1
        return h * 2.0

    cache = StepCache(threshold=0.1, max_consecutive_hits=2)
    x = torch.ones(4)
    first = cache.run(head, tail, x)  # nothing cached yet: computes
    assert torch.equal(first, (x + 1) * 2) and calls["tail"] == 1
    # Same head residual next step: reuse the tail residual (h1 + (tail(h1) − h1) from the last full step).
    y = torch.full((4,), 3.0)
    out = cache.run(head, tail, y)
    assert calls["tail"] == 1 and torch.equal(out, (y + 1) + (first - (x + 1)))
    cache.run(head, tail, y)
    assert calls["tail"] == 1 and cache.hits == 2
    cache.run(head, tail, y)  # two hits in a row is the limit: compute again
    assert calls["tail"] == 2 and cache.stats()["misses"] == 2
    # A big change in the first block's residual forces a full step.
    cache.run(lambda h: h + 100.0, tail, y)
    assert calls["tail"] == 3
    cache.reset()
    assert cache.hits == cache.misses == 0


def test_threshold_knob_validation() -> None:
    assert make_cache(0) is None and make_cache(None) is None
    assert make_cache(0.1).threshold == 0.1
    with pytest.raises(InputError, match="cache threshold -0.1"):
        make_cache(-0.1)
