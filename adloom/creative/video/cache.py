"""Step caching for the denoising loop: diffusers' First Block Cache, plus the two things it lacks.

Across neighbouring sampling steps a diffusion transformer changes its hidden
state very little. diffusers' First Block Cache (``diffusers.hooks.
apply_first_block_cache`` via ``transformer.enable_cache(FirstBlockCacheConfig)``)
hooks the transformer's blocks: each step the first block runs, and if its
residual moved less than ``threshold`` (relative mean absolute change) since the
last step that ran every block, the other blocks are skipped and their residual
from that step is added back. The hooks sit on the blocks themselves, so they
work in our own block loop (:func:`adloom.creative.video.wan.forward`,
:func:`adloom.creative.video.ltx.forward`) exactly as in diffusers' pipelines;
each forward runs inside ``transformer.cache_context(name)`` so batched CFG,
the conditional and the unconditional half keep separate states.

What diffusers 0.42.1's hook lacks, and :class:`StepCache` adds on top of it:

* a cap on consecutive skips (``max_consecutive_hits``, drift control): after
  that many skipped steps in a row the next step runs every block (we lower the
  head hook's threshold for that one step);
* hit and miss counts per generation (the hook keeps no statistics), reported in
  ``VideoResult.cache``.

``threshold = 0`` (or no cache) is the plain loop, bit for bit. Typical
thresholds: 0.05–0.1 (≈1.5–2× fewer block calls at 30–50 steps with a small
PSNR cost; see ``bench/video_gpu.py``). The hooks are installed for one
generation (``with cache:``) and removed afterwards, so seeds and calls never
share state, and a transformer must not run two cached generations at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch

from adloom.core.errors import InputError

#: diffusers' registry name of the head-block hook (``diffusers.hooks.first_block_cache``, pinned 0.42.1).
_HEAD_HOOK = "fbc_leader_block_hook"


class StepCache:
    """diffusers' First Block Cache on ``transformer`` for one generation, with a skip cap and hit counts."""

    def __init__(self, transformer: Any, threshold: float = 0.05, max_consecutive_hits: int | None = 4) -> None:
        if not 0.0 <= threshold < 10.0:
            raise InputError(
                f"cache threshold {threshold} is out of range: use 0 (off) to about 0.2; 0.05–0.1 is typical",
                field="cache_threshold",
            )
        if max_consecutive_hits is not None and max_consecutive_hits < 1:
            raise InputError(
                f"cache_max_consecutive {max_consecutive_hits} must be at least 1, or None for no cap",
                field="cache_max_consecutive",
            )
        self.transformer = transformer
        self.threshold = float(threshold)
        self.max_consecutive_hits = max_consecutive_hits
        self.hits = 0
        self.misses = 0
        self._runs: dict[str, int] = {}  # consecutive skips per cache context
        self._head: Any = None

    def __enter__(self) -> StepCache:
        from diffusers.hooks import FirstBlockCacheConfig, HookRegistry

        self.transformer.enable_cache(FirstBlockCacheConfig(threshold=self.threshold))
        heads = [
            m._diffusers_hook.get_hook(_HEAD_HOOK)
            for m in self.transformer.modules()
            if isinstance(getattr(m, "_diffusers_hook", None), HookRegistry)
        ]
        self._head = next(h for h in heads if h is not None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.transformer.disable_cache()
        self._head = None

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one transformer forward of context ``name`` (``"cond"``, ``"uncond"``, ``"batch"``) under the cache."""
        if self._head is None:
            raise RuntimeError("StepCache.step outside `with cache:`: the hooks are not installed")
        run = self._runs.get(name, 0)
        forced = self.max_consecutive_hits is not None and run >= self.max_consecutive_hits
        if forced:
            self._head.threshold = -1.0  # any change exceeds it: this step runs every block
        try:
            with self.transformer.cache_context(name):
                yield
                computed = bool(self._head.state_manager.get_state().should_compute)
        finally:
            self._head.threshold = self.threshold
        if computed:
            self.misses += 1
            self._runs[name] = 0
        else:
            self.hits += 1
            self._runs[name] = run + 1

    def stats(self) -> dict[str, float]:
        """Forwards that skipped the tail blocks (hits) and that ran them all (misses), and the hit rate."""
        calls = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hits / calls if calls else 0.0}


def make_cache(transformer: Any, threshold: float | None, *, max_consecutive_hits: int | None = 4) -> StepCache | None:
    """A fresh cache for one generation, or None (the plain loop) when ``threshold`` is 0/None.

    Transformers with fewer than two blocks have nothing to skip and get None too.
    """
    if threshold is None or threshold == 0:
        return None
    cache = StepCache(transformer, float(threshold), max_consecutive_hits)
    blocks = [m for m in transformer.children() if isinstance(m, torch.nn.ModuleList)]
    return cache if blocks and max(len(b) for b in blocks) >= 2 else None


def cache_step(cache: StepCache | None, name: str) -> Any:
    """``cache.step(name)``, or a no-op context when caching is off."""
    return nullcontext() if cache is None else cache.step(name)
