"""The toy world that proves the video stack learns: procedural captioned clips (:mod:`.dataset`), a pixel detector
and prompt-match accuracy (:mod:`.detector.evaluate`), training configs (``configs/``) and the small trained model
(``checkpoint/``, a diffusers pipeline folder)."""

from pathlib import Path
from typing import Any

import yaml

TOY_GATE_FILE = Path(__file__).with_name("gate_toy.yaml")


def toy_gate_limits() -> dict[str, Any]:
    """The clip-gate limits loosened for the toy model's clips (``gate_toy.yaml``), checked against
    :class:`~adloom.creative.quality.clips.ClipGateConfig` (an unknown or bad limit raises)."""
    from adloom.creative.quality.clips import ClipGateConfig

    limits: dict[str, Any] = yaml.safe_load(TOY_GATE_FILE.read_text(encoding="utf-8"))
    ClipGateConfig(**limits)
    return limits
