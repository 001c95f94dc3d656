"""What the compose renderer takes and gives back, and the frame geometry it renders into.

Frame sizes: ``height`` names the short side of the frame ("720p", "1080p"), as
players and ad platforms label renditions. So 720 gives 720x1280 for 9:16,
1280x720 for 16:9 and 720x720 for 1:1; 1080 gives 1080x1920, 1920x1080 and
1080x1080. Tests pass smaller even sizes (e.g. 180 → 180x320) to stay fast.

Safe areas (:func:`safe_area`) keep text clear of the app chrome that covers
the video in each placement:

* 9:16 feeds (Douyin, TikTok, Reels, Shorts): top 12% (status bar, tabs,
  "Following / For you"), bottom 20% (account name, description, music
  ticker), right 12% (like/comment/share rail), left 6%.
* 16:9 (in-stream, YouTube, Channels landscape): 5% left, right and top
  (TV title-safe), bottom 10% (progress bar and player controls).
* 1:1 (in-feed square): 6% left, right and top, bottom 12% (caption overlay
  and controls in feeds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adloom.core.errors import InputError
from adloom.core.types import Aspect, Language, ShotRole

# (left, top, right, bottom) margins as fractions of the frame, per aspect.
SAFE_MARGINS: dict[Aspect, tuple[float, float, float, float]] = {
    Aspect.portrait: (0.06, 0.12, 0.12, 0.20),
    Aspect.landscape: (0.05, 0.05, 0.05, 0.10),
    Aspect.square: (0.06, 0.06, 0.06, 0.12),
}

LABEL_POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")

ProgressFn = Callable[[float], None]


@dataclass
class Cue:
    """One subtitle cue: a narration line and when it is spoken (seconds from the video start)."""

    start_s: float
    end_s: float
    text: str


@dataclass
class ShotSpec:
    """One shot of the video.

    ``media`` is an image or a video clip; ``None`` (or a near-uniform image) renders a designed, moving
    backdrop in the template's palette with the product card on it. ``caption`` is the on-screen text of the
    shot ("" for none).
    """

    duration_s: float
    role: ShotRole
    media: Path | None
    caption: str
    #: A clip plays ``media_start_s .. media_end_s`` (``None``: to the clip's end) at ``speed`` to fill
    #: ``duration_s``; never frozen (see ``render._clip_span`` for what happens when the span is too short).
    media_start_s: float = 0.0
    media_end_s: float | None = None
    speed: float = 1.0
    #: Normalised ``(x0, y0, x1, y1)`` box of the product/subject in the media (x right, y down, 0..1).
    #: With it a photo whose crop to the frame would cut into the subject is shown whole (``render``).
    subject_box: tuple[float, float, float, float] | None = None
    #: An RGBA cut-out of the product: shown centred and large over the template's designed backdrop when
    #: the photo cannot be cropped to the frame without cutting into the subject.
    cutout: Path | None = None
    #: Normalised boxes in the media (faces, products) that captions and subtitles must not cover.
    avoid_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    #: ``"before"`` / ``"after"`` when the media shows the state before / after using the product; the
    #: ``before_after`` template only splits the screen over media marked so (see ``plan_before_after``).
    contrast: str | None = None


@dataclass(kw_only=True)
class RenderSpec:
    """Everything one render needs. ``height`` is the short side of the frame (see module doc).

    ``music`` is a user file, or ``None`` for the generated quiet default bed;
    set ``use_music=False`` for narration only. ``aigc_label`` ``None`` means
    "AI生成" for Chinese and "AI-generated" for English.
    """

    template: str
    aspect: Aspect
    height: int = 720
    fps: int = 30
    language: Language = Language.zh
    shots: list[ShotSpec]
    cues: list[Cue] = field(default_factory=list)
    narration_wav: Path | None = None
    music: Path | None = None
    use_music: bool = True
    music_volume_db: float = -20.0
    title: str = ""
    product_name: str = ""
    price_text: str = ""
    cta_text: str = ""
    #: The product's key selling point, set under its name on the product card of a shot without a picture.
    tagline: str = ""
    aigc_label: str | None = None
    label_position: str = "top-right"
    seed: int = 0
    crf: int = 23
    preset: str = "veryfast"
    #: Brand colours as ``#rrggbb``: the template's accent becomes the closest legible one
    #: (``templates.brand_accent``). ``None`` keeps the template's own palette.
    brand_colours: list[str] | None = None
    #: Move shot boundaries onto the generated music bed's beat grid (within ``BEAT_SNAP_S``), never
    #: cutting a narration line (``render.cut_times``). Off by default: durations stay as given.
    beat_snap: bool = False
    #: Transitions by pacing instead of the template's one kind: a hard cut next to a shot under
    #: ``render.HARD_CUT_UNDER_S``, a short crossfade otherwise. Off by default: the template decides.
    pacing_transitions: bool = False

    @property
    def label_text(self) -> str:
        """The visible AIGC label drawn on every frame."""
        if self.aigc_label is not None:
            return self.aigc_label
        return "AI生成" if self.language == Language.zh else "AI-generated"

    @property
    def duration_s(self) -> float:
        """Video length: the shots laid end to end (transitions overlap inside this length)."""
        return float(sum(s.duration_s for s in self.shots))


@dataclass
class RenderResult:
    """Files written by one render, plus every text box drawn (for checks and the manifest).

    Each ``caption_boxes`` entry is ``{kind, t0, t1, x, y, w, h}`` in output pixels and seconds.
    """

    video: Path
    cover: Path
    srt: Path
    manifest: Path
    duration_s: float
    caption_boxes: list[dict] = field(default_factory=list)
    width: int = 0
    height: int = 0
    #: Longest stretch the template means to hold still (a card over a static or blurred backdrop),
    #: so a quality gate can tell an intended still from a frozen picture.
    still_s: float = 0.0
    #: Every cut between shots: ``{t, kind, duration_s, snapped_from}`` (seconds; ``kind`` "cut" or the
    #: xfade transition; ``snapped_from`` the unsnapped time when beat snapping moved it, else ``None``).
    cuts: list[dict] = field(default_factory=list)
    #: The palette the template used, as ``#rrggbb`` (index 2 is the accent).
    palette: list[str] = field(default_factory=list)


def frame_size(aspect: Aspect, height: int) -> tuple[int, int]:
    """(width, height) in pixels for ``aspect`` with short side ``height`` (both even, as yuv420p needs)."""
    if height < 96 or height % 2:
        raise InputError(
            f"height={height}: the short side must be an even number of pixels, at least 96 "
            "(use 720 or 1080 for delivery)",
            field="height",
        )
    long_side = int(round(height * 16 / 9 / 2)) * 2
    if aspect == Aspect.portrait:
        return height, long_side
    if aspect == Aspect.landscape:
        return long_side, height
    return height, height


def safe_area(aspect: Aspect, width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the region text must stay inside, for a ``width`` x ``height`` frame.

    Margins per aspect are in :data:`SAFE_MARGINS` and explained in the module docstring.
    """
    left, top, right, bottom = SAFE_MARGINS[Aspect(aspect)]
    x = int(round(width * left))
    y = int(round(height * top))
    x2 = int(round(width * (1.0 - right)))
    y2 = int(round(height * (1.0 - bottom)))
    return x, y, x2 - x, y2 - y
