"""Template remix renderer: shots, captions, subtitles, narration and music → MP4, cover, SRT, manifest.

Public API::

    from adloom.creative.compose import Cue, ShotSpec, RenderSpec, RenderResult, TEMPLATES, render, safe_area

Rendering needs the ``render`` extra for its CJK font (``pip install 'adloom[render]'``).
"""

from adloom.creative.compose.render import AIGC_COMMENT, render, srt_text, validate
from adloom.creative.compose.spec import (
    LABEL_POSITIONS,
    SAFE_MARGINS,
    Cue,
    RenderResult,
    RenderSpec,
    ShotSpec,
    frame_size,
    safe_area,
)
from adloom.creative.compose.templates import TEMPLATES, Template

__all__ = [
    "AIGC_COMMENT",
    "LABEL_POSITIONS",
    "SAFE_MARGINS",
    "TEMPLATES",
    "Cue",
    "RenderResult",
    "RenderSpec",
    "ShotSpec",
    "Template",
    "frame_size",
    "render",
    "safe_area",
    "srt_text",
    "validate",
]
