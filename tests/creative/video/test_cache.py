"""Step caching (diffusers' First Block Cache in our loop): off is the reference loop bit for bit; on skips the
tail blocks when the first block barely moves, stays close to the uncached output, honours our skip cap and
leaves no hooks behind."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adloom.core.errors import InputError
from adloom.creative.video.cache import make_cache
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


def _count_tail_runs(model) -> dict[str, int]:
    """Count the feed-forward calls of the transformer's last block (they happen only when it really runs)."""
    blocks = next(m for m in model.transformer.children() if isinstance(m, torch.nn.ModuleList))
    ff = getattr(blocks[-1], "ffn", None) or blocks[-1].ff
    calls = {"n": 0}
    ff.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    return calls


@pytest.mark.parametrize("fam", ["wan", "ltx"])
def test_cache_on_skips_blocks_and_stays_close(fam: str) -> None:
    model = build_tiny(fam, seed=0, num_layers=4)
    off = VideoPipeline(model)(_req(steps=10))
    tail = _count_tail_runs(model)
    on = VideoPipeline(model)(_req(steps=10, cache_threshold=0.5, cache_max_consecutive=None))
    assert on.cache["hits"] > 0 and on.cache["hits"] + on.cache["misses"] == 10
    assert tail["n"] == on.cache["misses"]  # the last block ran only on the steps that were not skipped
    assert not torch.equal(on.latents, off.latents)
    mse = float(np.mean((on.frames_float - off.frames_float) ** 2))
    psnr = 10 * np.log10(1.0 / max(mse, 1e-12))
    assert psnr > 20, psnr


def test_skip_cap_forces_a_full_step_and_hooks_are_removed(wan) -> None:
    # A threshold every step meets: without a cap only the first step runs every block ...
    free = VideoPipeline(wan)(_req(steps=7, cache_threshold=9.0, cache_max_consecutive=None))
    assert (free.cache["hits"], free.cache["misses"]) == (6, 1)
    # ... with a cap of 2 the pattern is full, skip, skip, full, skip, skip, full.
    capped = VideoPipeline(wan)(_req(steps=7, cache_threshold=9.0, cache_max_consecutive=2))
    assert (capped.cache["hits"], capped.cache["misses"]) == (4, 3)
    # Unbatched CFG keeps the cond and uncond states apart: each half follows the same pattern.
    halves = VideoPipeline(wan)(_req(steps=7, cache_threshold=9.0, cache_max_consecutive=2, cfg_batched=False))
    assert (halves.cache["hits"], halves.cache["misses"]) == (8, 6)
    # The hooks live for one generation: afterwards the transformer computes the plain loop again.
    assert wan.transformer._cache_config is None
    assert torch.equal(VideoPipeline(wan)(_req(steps=6)).latents, _reference_loop(wan, "a red mug", "blur", 6, 2))


def test_threshold_knob_validation(wan) -> None:
    assert make_cache(wan.transformer, 0) is None and make_cache(wan.transformer, None) is None
    assert make_cache(wan.transformer, 0.1).threshold == 0.1
    with pytest.raises(InputError, match="cache threshold -0.1"):
        make_cache(wan.transformer, -0.1)
    with pytest.raises(InputError, match="cache_max_consecutive 0 must be at least 1"):
        make_cache(wan.transformer, 0.1, max_consecutive_hits=0)


def test_compiled_blocks_keep_the_cache_hooks_eager() -> None:
    """Regional compile with fullgraph (as on GPU) must not trace the cache hooks: dynamo's eager backend runs the
    same tracing on CPU that failed on an H200 when whole block modules were compiled."""
    from adloom.creative.video.models import compile_blocks

    model = build_tiny("wan", seed=0, num_layers=4)
    ref = VideoPipeline(model)(_req(steps=6, cache_threshold=0.5, cache_max_consecutive=None))
    assert compile_blocks(model.transformer, backend="eager", fullgraph=True) == 4
    on = VideoPipeline(model)(_req(steps=6, cache_threshold=0.5, cache_max_consecutive=None))
    assert on.cache == ref.cache
    assert torch.allclose(on.latents, ref.latents, atol=1e-5)
