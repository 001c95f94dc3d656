"""Avatar presets: a person picks a look, a voice and a background, and gets the Avatar a room renders.

A preset is data (YAML or a dict) validated by a strict schema, so a typo is an error::

    name: evening-show
    avatar: rig:look3            # or photo:avatars/anna (a folder saved by save_photo_avatar)
    voice: zf_xiaoxiao           # a TTS voice name, or "default"
    background: backgrounds/studio.jpg
    size: 720x1280               # or 1080x1920

:func:`make_avatar` turns a preset, or just an avatar spec string ("rig:look2",
"photo:PATH"), into the composed scene. The photo-avatar module is imported only for
"photo:" specs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from adloom.core.errors import InputError
from adloom.core.paths import resolve_inside
from adloom.core.settings import get_settings
from adloom.digital_human.avatar.base import Avatar
from adloom.digital_human.avatar.looks import LOOKS

if TYPE_CHECKING:
    from adloom.digital_human.avatar.scene import ProductCard

__all__ = ["COMPOSITIONS", "AvatarPreset", "default_roots", "load_preset", "make_avatar", "parse_spec"]

#: The compositions a live room streams in: (width, height).
COMPOSITIONS: dict[str, tuple[int, int]] = {"720x1280": (720, 1280), "1080x1920": (1080, 1920)}

_SPEC = re.compile(r"^(rig):([A-Za-z0-9_-]+)$|^(photo):(.+)$")


def default_roots() -> list[Path]:
    """Where user files may live: the current folder, ``ADLOOM_HOME`` and settings ``allowed_roots``."""
    settings = get_settings()
    return [Path.cwd(), settings.home, *settings.allowed_roots]


def parse_spec(spec: str) -> tuple[Literal["rig", "photo"], str]:
    """ "rig:look2" → ("rig", "look2"); "photo:PATH" → ("photo", "PATH"); anything else is an InputError."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise InputError(
            f"avatar spec {spec!r} is not understood; use 'rig:LOOK' (looks: {', '.join(sorted(LOOKS))}) "
            "or 'photo:FOLDER' (a photo avatar saved with its consent record)",
            field="avatar",
        )
    if m.group(1):
        look = m.group(2)
        if look not in LOOKS:
            raise InputError(
                f"avatar spec {spec!r}: unknown look {look!r}; choose one of {', '.join(sorted(LOOKS))}",
                field="avatar",
            )
        return "rig", look
    return "photo", m.group(4).strip()


class AvatarPreset(BaseModel):
    """A presenter as a person picks it: avatar (look or photo), voice, background, frame size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] = "default"
    avatar: str = "rig:look1"
    voice: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] = "default"
    background: str | None = None
    size: Literal["720x1280", "1080x1920"] = "720x1280"
    fps: int = Field(25, ge=10, le=60)
    seed: int = Field(0, ge=0)
    gesture_every_s: float = Field(9.0, ge=0, le=600, description="Slot length of the gesture schedule; 0: none.")

    @field_validator("avatar")
    @classmethod
    def _check_avatar(cls, v: str) -> str:
        parse_spec(v)
        return v.strip()

    @property
    def frame_size(self) -> tuple[int, int]:
        return COMPOSITIONS[self.size]


def load_preset(source: str | os.PathLike[str] | dict, *, roots: Sequence[str | os.PathLike[str]] | None = None):
    """An :class:`AvatarPreset` from a dict or a YAML file (resolved inside ``roots``); errors name the field."""
    if isinstance(source, dict):
        data = source
        where = "preset"
    else:
        path = resolve_inside(source, roots if roots is not None else default_roots(), field="preset")
        if not path.is_file():
            raise InputError(f"preset file {source} does not exist (resolved to {path})", field="preset")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"preset file {path} is not valid YAML: {exc}", field="preset") from exc
        where = str(path)
    if not isinstance(data, dict):
        raise InputError(f"{where}: a preset must be a mapping of fields, got {type(data).__name__}", field="preset")
    try:
        return AvatarPreset.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'preset'}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{where}: {problems}", field="preset") from exc


def make_avatar(
    preset_or_spec: AvatarPreset | str | dict,
    *,
    size: tuple[int, int] | None = None,
    fps: int | None = None,
    cards: Sequence[ProductCard] = (),
    background: str | os.PathLike[str] | None = None,
    roots: Sequence[str | os.PathLike[str]] | None = None,
) -> Avatar:
    """The composed scene a room renders, from a preset (or dict) or a spec ("rig:look2", "photo:FOLDER").

    Keyword arguments override the preset's size, fps and background; ``cards`` are the
    product cards shown. A "photo:" spec names a folder saved by the photo-avatar module
    (portrait, landmarks and consent record); it is resolved inside ``roots``.
    """
    preset = (
        preset_or_spec
        if isinstance(preset_or_spec, AvatarPreset)
        else load_preset(preset_or_spec)
        if isinstance(preset_or_spec, dict)
        else AvatarPreset(avatar=parse_spec(preset_or_spec)[0] + ":" + parse_spec(preset_or_spec)[1])
    )
    from adloom.digital_human.avatar.scene import SceneAvatar, compose_rig_scene  # lazy: cv2, Pillow drawing

    kind, value = parse_spec(preset.avatar)
    frame_size = tuple(size) if size is not None else preset.frame_size
    rate = int(fps or preset.fps)
    bg = background if background is not None else preset.background
    if kind == "rig":
        return compose_rig_scene(
            value,
            frame_size,  # type: ignore[arg-type]
            fps=rate,
            seed=preset.seed,
            background=bg,
            cards=cards,
            roots=roots,
            gesture_every_s=preset.gesture_every_s,
        )
    from adloom.digital_human.avatar.photo import PhotoAvatar  # lazy: landmarks, consent, cv2 warping

    folder = resolve_inside(value, roots if roots is not None else default_roots(), field="avatar")
    if not folder.is_dir():
        raise InputError(
            f"avatar spec photo:{value}: {folder} is not a saved photo-avatar folder; create one with "
            "adloom.digital_human.avatar.photo.save_photo_avatar (portrait + landmarks + consent record)",
            field="avatar",
        )
    kwargs: dict[str, object] = {"size": frame_size, "fps": rate, "seed": preset.seed}
    if bg is not None:
        kwargs["background"] = str(bg) if isinstance(bg, Path) else bg
    if roots is not None:
        kwargs["roots"] = [folder, *roots]
    inner = PhotoAvatar.from_folder(folder, **kwargs)
    return SceneAvatar(inner, cards, roots=roots) if cards else inner
