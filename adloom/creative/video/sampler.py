"""Flow-matching Euler sampler with timestep shift.

Rectified flow: x_σ = (1 − σ)·x₀ + σ·ε and the model predicts the velocity
v = ε − x₀, so one Euler step from σ to σ' is x ← x + (σ' − σ)·v. The noise
schedule is a grid of σ from 1 down to 0, bent towards high noise by a shift
(``σ ← s·σ / (1 + (s − 1)·σ)``, Wan uses s = 3–5 at 480p) or by a
resolution-dependent exponential shift μ (LTX-Video).

The grid comes from diffusers' own ``FlowMatchEulerDiscreteScheduler``
(``set_timesteps``), configured from this dataclass, so our loop and
diffusers' pipelines walk the same σ values by construction, quirks included
(the static shift is applied to a grid whose end points were already
shifted). Our loop keeps its own Euler update because it steps with explicit
σ pairs (re-anchoring, per-token timesteps) rather than the scheduler's
internal step counter; ``tests/creative/video/test_sampler.py`` checks that
this walk equals stepping the scheduler directly. Schedulers import no models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from diffusers import FlowMatchEulerDiscreteScheduler


@dataclass(frozen=True)
class FlowMatchEuler:
    """The σ grid and the Euler update. ``shift`` is static; ``use_dynamic_shifting`` takes μ per call."""

    num_train_timesteps: int = 1000
    shift: float = 1.0
    use_dynamic_shifting: bool = False
    base_shift: float = 0.5
    max_shift: float = 1.15
    base_image_seq_len: int = 256
    max_image_seq_len: int = 4096
    shift_terminal: float | None = None
    time_shift_type: str = "exponential"

    @classmethod
    def from_scheduler_config(cls, config: dict, *, shift: float | None = None) -> FlowMatchEuler:
        """Read a diffusers scheduler config (FlowMatchEuler or UniPC with flow sigmas); ``shift`` overrides."""
        static = config.get("shift", config.get("flow_shift", 1.0)) or 1.0
        dynamic = bool(config.get("use_dynamic_shifting", False)) and shift is None
        return cls(
            num_train_timesteps=int(config.get("num_train_timesteps", 1000)),
            shift=float(shift if shift is not None else static),
            use_dynamic_shifting=dynamic,
            base_shift=float(config.get("base_shift", 0.5) or 0.5),
            max_shift=float(config.get("max_shift", 1.15) or 1.15),
            base_image_seq_len=int(config.get("base_image_seq_len", 256)),
            max_image_seq_len=int(config.get("max_image_seq_len", 4096)),
            shift_terminal=config.get("shift_terminal") or None,
            time_shift_type=str(config.get("time_shift_type", "exponential")),
        )

    def mu(self, seq_len: int) -> float:
        """Resolution-dependent shift μ for ``seq_len`` latent tokens (linear between the base and max lengths)."""
        m = (self.max_shift - self.base_shift) / (self.max_image_seq_len - self.base_image_seq_len)
        b = self.base_shift - m * self.base_image_seq_len
        return seq_len * m + b

    def scheduler(self) -> FlowMatchEulerDiscreteScheduler:
        """diffusers' ``FlowMatchEulerDiscreteScheduler`` with exactly these settings."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        return FlowMatchEulerDiscreteScheduler(
            num_train_timesteps=self.num_train_timesteps,
            shift=self.shift,
            use_dynamic_shifting=self.use_dynamic_shifting,
            base_shift=self.base_shift,
            max_shift=self.max_shift,
            base_image_seq_len=self.base_image_seq_len,
            max_image_seq_len=self.max_image_seq_len,
            shift_terminal=self.shift_terminal,
            time_shift_type=self.time_shift_type,
        )

    def sigmas(self, steps: int, *, mu: float | None = None, base_sigmas: np.ndarray | None = None) -> torch.Tensor:
        """σ for each of ``steps`` steps plus the final 0, float32, shape (steps + 1,), from diffusers' scheduler.

        ``base_sigmas`` replaces the default linear grid before shifting (LTX-Video passes
        ``linspace(1, 1/steps, steps)``); ``mu`` is required with dynamic shifting (see :meth:`mu`).
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if self.use_dynamic_shifting and mu is None:
            raise ValueError("this sampler uses dynamic shifting: pass mu (see FlowMatchEuler.mu)")
        sched = self.scheduler()
        base = None if base_sigmas is None else [float(v) for v in np.asarray(base_sigmas).reshape(-1)]
        sched.set_timesteps(steps, sigmas=base, mu=mu)
        return sched.sigmas.to(torch.float32)

    def timesteps(self, sigmas: torch.Tensor) -> torch.Tensor:
        """Model timesteps (σ · num_train_timesteps) for every step, without the final σ = 0."""
        return sigmas[:-1] * self.num_train_timesteps

    @staticmethod
    def step(
        sample: torch.Tensor, velocity: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor
    ) -> torch.Tensor:
        """One Euler step x + (σ' − σ)·v, computed in float32 and returned in the velocity's dtype (as diffusers)."""
        dt = sigma_next - sigma
        return (sample.to(torch.float32) + dt * velocity).to(velocity.dtype)
