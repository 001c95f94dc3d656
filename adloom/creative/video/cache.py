"""Step caching for the denoising loop (First-Block-Cache / TeaCache style).

Across neighbouring sampling steps a diffusion transformer changes its hidden
state very little. Each step we run the first block and measure how much its
residual (output − input) moved since the last step that ran every block:

    change = mean|r₁(step) − r₁(last full)| / mean|r₁(last full)|

If the change is below ``threshold`` the remaining blocks are skipped and their
residual from the last full step is added back; otherwise all blocks run and
that residual is stored. ``threshold = 0`` (or no cache) is the plain loop,
bit for bit. ``max_consecutive_hits`` bounds how many steps in a row may be
skipped (drift control). Typical thresholds: 0.05–0.1 (≈1.5–2× fewer block
calls at 30–50 steps with a small PSNR cost; see ``bench/video_gpu.py``).

The cache lives for one generation (one call of the pipeline); the pipeline
builds a fresh one per call, so batched prompts, CFG halves and seeds never
share state across calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from adloom.core.errors import InputError

BlockRun = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class StepCache:
    """State of First-Block caching for one generation."""

    threshold: float = 0.05
    max_consecutive_hits: int | None = 4
    hits: int = 0
    misses: int = 0
    changes: list[float] = field(default_factory=list)
    _head_residual: torch.Tensor | None = None
    _tail_residual: torch.Tensor | None = None
    _run_of_hits: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold < 10.0:
            raise InputError(
                f"cache threshold {self.threshold} is out of range: use 0 (off) to about 0.2; 0.05–0.1 is typical",
                field="cache_threshold",
            )

    def reset(self) -> None:
        self._head_residual = self._tail_residual = None
        self.hits = self.misses = self._run_of_hits = 0
        self.changes.clear()

    @torch.compiler.disable
    def _relative_change(self, residual: torch.Tensor) -> float | None:
        prev = self._head_residual
        if prev is None or prev.shape != residual.shape:
            return None
        num = (residual.float() - prev.float()).abs().mean()
        den = prev.float().abs().mean().clamp_min(1e-12)
        return float((num / den).item())

    def run(self, head: BlockRun, tail: BlockRun, hidden: torch.Tensor) -> torch.Tensor:
        """Run ``head`` (first block) then either ``tail`` (the other blocks) or the cached tail residual."""
        first = head(hidden)
        residual = first - hidden
        change = self._relative_change(residual)
        if change is not None:
            self.changes.append(change)
        may_skip = self.max_consecutive_hits is None or self._run_of_hits < self.max_consecutive_hits
        if change is not None and change < self.threshold and may_skip and self._tail_residual is not None:
            self.hits += 1
            self._run_of_hits += 1
            return first + self._tail_residual
        out = tail(first)
        self._tail_residual = out - first
        self._head_residual = residual
        self.misses += 1
        self._run_of_hits = 0
        return out

    def stats(self) -> dict[str, float]:
        calls = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hits / calls if calls else 0.0}


def make_cache(threshold: float | None, *, max_consecutive_hits: int | None = 4) -> StepCache | None:
    """A fresh cache for one generation, or None (the plain loop) when ``threshold`` is 0/None."""
    if threshold is None or threshold == 0:
        return None
    return StepCache(threshold=float(threshold), max_consecutive_hits=max_consecutive_hits)
