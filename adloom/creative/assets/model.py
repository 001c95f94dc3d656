"""What adloom knows about one advertiser asset (a clip or a photo) after analysis: the contract
between asset understanding (:mod:`adloom.creative.assets.analyze`) and everything that picks
footage per shot (retrieval, remix, the render manifest).

Everything here is plain pydantic, JSON-serialisable (``model_dump(mode="json")`` /
``model_validate_json``), and is what the analysis cache stores on disk, so a change of meaning
bumps :data:`ANALYZER_VERSION` (the cache key includes it).

Conventions:

* Times are seconds from the start of the asset's *presentation* timeline (the first shown frame
  is 0.0), so they are what ffmpeg's ``-ss``/``-t`` trim to.
* Scores are floats in 0..1, higher = more of the named property. ``motion`` and ``shake`` are
  "how much", not "how good"; ``sharpness`` and ``exposure`` are quality (1 = good).
* Sizes are *display* sizes: after the rotation metadata is applied (a phone's portrait clip stored
  1920x1080 with ``rotation=90`` has ``width=1080, height=1920``); keyframes are stored upright.
* ``faces``/``hands`` are ``None`` when they could not be measured (mediapipe's venv absent or its
  worker failed: the asset's ``warnings`` say which) and an ``int`` (possibly 0) when measured.
* Boxes are normalised ``(x0, y0, x1, y1)`` in 0..1 of the display frame, x right, y down.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.types import ShotRole

__all__ = [
    "ANALYZER_VERSION",
    "AnalysisLimits",
    "AssetAnalysis",
    "AssetFailure",
    "AssetKind",
    "PhotoInfo",
    "SceneInfo",
    "scene_id",
]

#: Bumped whenever analysis output changes meaning or gains a field; part of the cache key, so a new
#: version re-analyses instead of reading a stale JSON.
ANALYZER_VERSION = "assets/1"

Score = Annotated[float, Field(ge=0.0, le=1.0)]
HexColour = Annotated[str, Field(pattern=r"^#[0-9a-f]{6}$")]


class AssetKind(StrEnum):
    """What an analysed asset is: a moving clip (with scenes) or a still photo (one scene)."""

    clip = "clip"
    photo = "photo"


def scene_id(asset_sha256: str, index: int) -> str:
    """The stable id of scene ``index`` (0-based) of the asset with this content hash: the same bytes always
    give the same ids, whatever the file is called or where it lies."""
    return f"{asset_sha256[:12]}#s{index:02d}"


class PhotoInfo(BaseModel):
    """What only a still has: where the subject is, whether it can be cut out, and its colours."""

    model_config = ConfigDict(extra="forbid")

    saliency_box: tuple[float, float, float, float] = Field(
        description="Normalised (x0, y0, x1, y1) box of the main subject (spectral-residual saliency)."
    )
    plain_background: bool = Field(
        description="The border is one near-uniform colour (a studio/packshot background), so a cut-out is possible."
    )
    cutout: str | None = Field(
        None,
        description="Path of an RGBA PNG of the subject on a transparent background (in the analysis cache) when the "
        "background is plain, else None.",
    )
    background_colour: HexColour | None = Field(None, description="The plain background's colour, when plain.")
    colours: list[HexColour] = Field(
        default_factory=list,
        max_length=5,
        description="3-5 dominant colours as #rrggbb, largest share first; the plain background is excluded.",
    )
    colour_shares: list[Score] = Field(default_factory=list, max_length=5, description="Share of each colour.")

    @model_validator(mode="after")
    def _box_ordered(self) -> PhotoInfo:
        x0, y0, x1, y1 = self.saliency_box
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            raise ValueError(f"saliency_box must be 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, got {self.saliency_box}")
        return self


class SceneInfo(BaseModel):
    """One continuous shot of a clip (between two cuts), or the whole of a photo.

    This is the unit a shot is matched to: retrieval ranks ``SceneInfo`` objects, the remix trims a clip to
    ``start_s .. end_s`` (or a sub-range of it), and the manifest records ``id``.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description='Stable id: f"{asset_sha256[:12]}#s{index:02d}" (see scene_id).')
    asset_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    index: int = Field(ge=0, description="0-based position of the scene in its asset.")
    kind: AssetKind
    start_s: float = Field(ge=0.0)
    end_s: float = Field(ge=0.0)
    duration_s: float = Field(ge=0.0, description="end_s - start_s (0 for a photo).")
    keyframes: list[str] = Field(
        default_factory=list,
        max_length=3,
        description="Paths of 1-3 upright JPEG keyframes in the analysis cache (first, middle, last of the scene).",
    )
    motion: Score = Field(0.0, description="Mean frame-to-frame change (camera or subject motion); 0 for a photo.")
    sharpness: Score = Field(description="Variance of the Laplacian, normalised: 0 = blurred, 1 = crisp.")
    exposure: Score = Field(description="1 = well exposed; clipped highlights, crushed shadows or a dark/washed "
                            "frame lower it.")  # fmt: skip
    shake: Score = Field(0.0, description="High-frequency global motion (hand-held jitter); 0 for a photo.")
    faces: int | None = Field(None, ge=0, description="Most faces seen in one sampled frame; None = not measured.")
    hands: int | None = Field(None, ge=0, description="Most hands seen in one sampled frame; None = not measured.")
    face_boxes: list[tuple[float, float, float, float]] = Field(
        default_factory=list, description="Normalised boxes of the faces in the keyframe that showed the most faces."
    )
    text: bool = Field(False, description="On-screen text (captions, a text card, a label) is likely visible.")
    description: str = Field("", description="The caption if given, else words from the file name and the content.")
    tags: list[str] = Field(
        default_factory=list,
        description="Content words the description was made from (language-neutral keys: close_up, hands, face, "
        "motion, static, text, product, ...), for retrieval's role priors.",
    )
    photo: PhotoInfo | None = Field(None, description="Set on a photo's one scene, None on a clip's scenes.")

    @model_validator(mode="after")
    def _times_ordered(self) -> SceneInfo:
        if self.end_s < self.start_s:
            raise ValueError(f"scene {self.id}: end_s {self.end_s} < start_s {self.start_s}")
        return self


class AssetAnalysis(BaseModel):
    """Everything known about one asset file: its stream facts, its scenes and what went wrong on the way.

    A photo has exactly one scene covering it (``start_s = end_s = 0``) carrying :class:`PhotoInfo`;
    a clip has one scene or more, contiguous and covering ``0 .. duration_s``.
    """

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hash of the file's bytes: the cache key.")
    path: str = Field(description="Where the file was when analysed (informative; the hash identifies it).")
    kind: AssetKind
    caption: str | None = Field(None, description="The advertiser's caption for the asset, if any.")
    role_hint: ShotRole | None = Field(None, description="The advertiser's hint of which shot role it suits.")
    width: int = Field(gt=0, description="Display width (after rotation).")
    height: int = Field(gt=0, description="Display height (after rotation).")
    rotation: int = Field(0, description="Degrees the stored frames are turned clockwise for display (0/90/180/270).")
    duration_s: float = Field(0.0, ge=0.0, description="0 for a photo.")
    fps: float = Field(0.0, ge=0.0, description="Average frame rate (0 for a photo).")
    vfr: bool = Field(False, description="Variable frame rate (frame intervals differ by more than ~10 %).")
    scenes: list[SceneInfo] = Field(min_length=1)
    warnings: list[str] = Field(default_factory=list, description="Readable notes on what could not be measured.")
    analyzer: str = Field(ANALYZER_VERSION, description="The analyzer version that produced this.")

    @property
    def photo(self) -> PhotoInfo | None:
        """The photo facts of a photo (its one scene's), else None."""
        return self.scenes[0].photo if self.kind is AssetKind.photo else None

    @property
    def aspect(self) -> float:
        """Display width / height."""
        return self.width / self.height


class AssetFailure(BaseModel):
    """One asset that could not be analysed, in a batch that goes on (``analyze_assets(..., keep_going=True)``)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    error: str = Field(description="The error class (InputError, UnsupportedContentError, ...).")
    message: str = Field(description="What was wrong with the file and what to do, for people.")


class AnalysisLimits(BaseModel):
    """Bounds of one analysis, so a huge or hostile file is refused with a clear message or analysed
    in bounded time and memory. Defaults suit advertiser uploads on a small CPU machine."""

    model_config = ConfigDict(extra="forbid")

    max_duration_s: float = Field(
        3 * 3600.0,
        gt=0,
        description="Longer clips are refused (InputError naming the limit). A 2-hour clip is analysed: frames are "
        "streamed, never held, so memory does not grow with length; only time does.",
    )
    max_file_bytes: int = Field(8 * 1024**3, gt=0, description="Bigger files are refused before decoding.")
    max_pixels: int = Field(
        8192 * 8192, gt=0, description="Images or video frames with more pixels are refused (decompression bombs)."
    )
    min_side: int = Field(16, ge=1, description="Smaller images/videos are refused (1x1 pixels).")
    analysis_width: int = Field(256, ge=64, le=1920, description="Frames are scaled to this width for scoring.")
    sample_fps: float = Field(
        4.0, gt=0, le=60, description="Frames per second scored for sharpness/exposure/text (cuts use every frame)."
    )
    max_samples: int = Field(
        2000, ge=10, description="At most this many frames are scored per clip (the rate drops for long clips)."
    )
    detect_fps: float = Field(
        30.0, gt=0, le=240, description="Cut detection sees at most this many frames per second (long clips decode "
        "faster at lower values; cut times are then accurate to 1/detect_fps)."
    )  # fmt: skip
    cut_threshold: float = Field(27.0, gt=0, description="PySceneDetect ContentDetector threshold.")
    min_scene_s: float = Field(0.4, ge=0, description="Shorter scenes are merged into their neighbour.")
    max_scenes: int = Field(500, ge=1, description="More cuts than this are merged (a strobe or a slideshow).")
    face_frames_per_scene: int = Field(3, ge=0, le=10, description="Frames per scene sent to the face/hand worker.")
    keyframe_width: int = Field(480, ge=64, le=1920, description="Width of the stored keyframes (JPEG).")
    timeout_s: float | None = Field(None, gt=0, description="Deadline of the mediapipe worker (default from media).")
