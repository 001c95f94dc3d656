"""Find the CJK-capable font every caption and product card is set in, at run time, with no download.

The default is Noto Sans CJK (variable weight, SIL OFL 1.1) shipped inside the
PyPI package ``manimgx-fonts-cjk`` (``pip install 'adloom[render]'``). Its
collection holds JP, KR, SC, TC and HK faces; we use the Simplified Chinese
face, which also covers Latin text. Debian's ``fonts-noto-cjk`` is accepted as
a fallback. ``ADLOOM_FONT`` names any other .ttf/.otf/.ttc to use instead.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from adloom.core.errors import BackendUnavailableError

# Debian fonts-noto-cjk paths (index of the SC face in each collection).
_SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
)


@dataclass(frozen=True)
class FontSource:
    """A font file, the face index inside it, and whether it has a weight axis."""

    path: Path
    index: int
    variable: bool
    name: str


def _packaged_font() -> FontSource | None:
    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "NotoSansCJK-VF.otf.ttc"
    if not path.is_file():
        return None
    return FontSource(path=path, index=2, variable=True, name="Noto Sans CJK SC (variable, manimgx-fonts-cjk)")


@lru_cache(maxsize=1)
def resolve_font() -> FontSource:
    """The font to set text in; raises :class:`BackendUnavailableError` saying how to install one."""
    override = os.environ.get("ADLOOM_FONT")
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise BackendUnavailableError(
                f"ADLOOM_FONT={override}: no such font file; point it at a .ttf/.otf/.ttc with CJK glyphs "
                "or unset it to use the packaged Noto Sans CJK"
            )
        return FontSource(path=path, index=0, variable=False, name=path.name)
    packaged = _packaged_font()
    if packaged is not None:
        return packaged
    for p, idx in _SYSTEM_FONTS:
        if Path(p).is_file():
            return FontSource(path=Path(p), index=idx, variable=False, name=f"Noto Sans CJK SC ({Path(p).name})")
    raise BackendUnavailableError(
        "no CJK font found for captions: install the render extra (pip install 'adloom[render]', which ships "
        "Noto Sans CJK in manimgx-fonts-cjk), or `apt-get install -y fonts-noto-cjk`, or set ADLOOM_FONT to a "
        "font file with Chinese glyphs"
    )


@lru_cache(maxsize=256)
def load_font(size: int, weight: str = "Bold") -> ImageFont.FreeTypeFont:
    """The resolved font at ``size`` px; ``weight`` picks a named instance when the font is variable."""
    src = resolve_font()
    font = ImageFont.truetype(str(src.path), max(4, int(size)), index=src.index)
    if src.variable:
        try:
            font.set_variation_by_name(weight)
        except (OSError, ValueError):
            pass  # a font without that instance keeps its default weight
    return font
