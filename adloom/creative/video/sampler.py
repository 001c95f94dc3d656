"""Flow-matching Euler sampler with timestep shift.

Rectified flow: x_σ = (1 − σ)·x₀ + σ·ε and the model predicts the velocity
v = ε − x₀, so one Euler step from σ to σ' is x ← x + (σ' − σ)·v. The noise
schedule is a grid of σ from 1 down to 0, bent towards high noise by a shift
(``σ ← s·σ / (1 + (s − 1)·σ)``, Wan uses s = 3–5 at 480p) or by a
resolution-dependent exponential shift μ (LTX-Video).

The grid is built exactly as diffusers' ``FlowMatchEulerDiscreteScheduler``
builds it (same float64/float32 steps, including its quirk that the static
shift is applied to a grid whose end points were already shifted), so our loop
and diffusers' pipelines walk the same σ values; ``tests/creative/video/
test_sampler.py`` checks this with ``torch.allclose``. Schedulers import no
models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


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

    def _train_sigma_range(self) -> tuple[float, float]:
        n = self.num_train_timesteps
        t = torch.from_numpy(np.linspace(1, n, n, dtype=np.float32)[::-1].copy()).to(torch.float32)
        s = t / n
        if not self.use_dynamic_shifting:
            s = self.shift * s / (1 + (self.shift - 1) * s)
        return s[0].item(), s[-1].item()

    def sigmas(self, steps: int, *, mu: float | None = None, base_sigmas: np.ndarray | None = None) -> torch.Tensor:
        """σ for each of ``steps`` steps plus the final 0, float32, shape (steps + 1,)."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        n = self.num_train_timesteps
        if base_sigmas is None:
            s_max, s_min = self._train_sigma_range()
            grid = np.linspace(s_max * n, s_min * n, steps) / n  # float64, as diffusers
        else:
            grid = np.asarray(base_sigmas).astype(np.float32)
        if self.use_dynamic_shifting:
            if mu is None:
                raise ValueError("this sampler uses dynamic shifting: pass mu (see FlowMatchEuler.mu)")
            if self.time_shift_type == "linear":
                grid = mu / (mu + (1 / grid - 1) ** 1.0)
            else:
                grid = math.exp(mu) / (math.exp(mu) + (1 / grid - 1) ** 1.0)
        else:
            grid = self.shift * grid / (1 + (self.shift - 1) * grid)
        if self.shift_terminal:
            one_minus = 1 - grid  # stretch so the last σ lands on shift_terminal (LTX-Video 0.9.5+)
            grid = 1 - (one_minus / (one_minus[-1] / (1 - self.shift_terminal)))
        sig = torch.from_numpy(np.asarray(grid)).to(torch.float32)
        return torch.cat([sig, torch.zeros(1)])

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
