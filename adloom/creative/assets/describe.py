"""Short descriptions of scenes for retrieval: the advertiser's caption, or words from the file name plus
what analysis found, in English or Chinese. The phrases live in ``adloom/data/assets/vocabulary.yaml``
(validated on load), so wording changes need no code change.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from adloom.core.datafiles import load_package_data
from adloom.creative.assets.model import AssetKind, SceneInfo

__all__ = ["Vocabulary", "describe", "filename_words", "scene_tags", "vocabulary"]

TAG_ORDER = ["photo", "product", "close_up", "face", "people", "demo", "hands", "text", "motion", "static",
             "shaky", "long_take", "blurry", "dark"]  # fmt: skip


class Phrase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class Vocabulary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: dict[str, Phrase]
    separator: Phrase
    filename_stopwords: list[str] = Field(default_factory=list)


def vocabulary() -> Vocabulary:
    vocab = load_package_data(Vocabulary, "assets", "vocabulary.yaml")
    missing = set(TAG_ORDER) - set(vocab.tags)
    if missing:  # pragma: no cover - caught by the tests on the shipped file
        raise ValueError(f"adloom/data/assets/vocabulary.yaml lacks tags {sorted(missing)}")
    return vocab


def filename_words(path: str | Path) -> list[str]:
    """Content words of a file name: split on separators and camelCase, digits and camera/export words dropped."""
    stem = Path(path).stem
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    stop = set(vocabulary().filename_stopwords)
    words = [w.lower() for w in re.split(r"[\s_\-.()\[\]+,]+", stem) if w]
    return [w for w in words if not w.isdigit() and w not in stop and not re.fullmatch(r"\d+[a-z]?|[a-z]\d+", w)]


def scene_tags(scene: SceneInfo) -> list[str]:
    """Language-neutral content tags of a measured scene (see TAG_ORDER)."""
    tags: set[str] = set()
    if scene.kind is AssetKind.photo:
        tags.add("photo")
        if scene.photo is not None and scene.photo.plain_background:
            tags.add("product")
        if scene.photo is not None:
            x0, y0, x1, y1 = scene.photo.saliency_box
            if (x1 - x0) * (y1 - y0) >= 0.35 and scene.photo.plain_background:
                tags.add("close_up")
    else:
        if scene.motion >= 0.35:
            tags.add("motion")
        elif scene.motion < 0.12:
            tags.add("static")
        if scene.shake >= 0.5:
            tags.add("shaky")
        if scene.duration_s >= 8.0:
            tags.add("long_take")
    if scene.faces:
        tags.add("face" if scene.faces == 1 else "people")
    if scene.hands:
        tags.add("hands")
        if not scene.faces:
            tags.add("demo")
    if scene.text:
        tags.add("text")
    if scene.sharpness < 0.25 and not scene.text:
        tags.add("blurry")
    if scene.exposure < 0.4:
        tags.add("dark")
    return [t for t in TAG_ORDER if t in tags]


def describe(scene: SceneInfo, *, path: str | Path, caption: str | None, lang: str = "en") -> str:
    """The caption if given, else the file name's words and the scene's tags as phrases in ``lang`` (en|zh)."""
    if caption and caption.strip():
        return caption.strip()
    vocab = vocabulary()
    key = "zh" if lang.startswith("zh") else "en"
    parts = [" ".join(filename_words(path))] if filename_words(path) else []
    parts += [getattr(vocab.tags[t], key) for t in scene.tags if t in vocab.tags]
    return getattr(vocab.separator, key).join(parts)
