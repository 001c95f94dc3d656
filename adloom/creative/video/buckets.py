"""Resolution buckets and the size/frame rules a video model can take.

A bucket names a pixel size per aspect ("480p" 9:16 is 480×832, the size Wan 2.1
1.3B was trained at). Every size must be a multiple of the model's spatial factor
(VAE downsampling × transformer patch: 16 for Wan, 32 for LTX-Video) and every
frame count one more than a multiple of the VAE's temporal factor (4k+1 for Wan,
8k+1 for LTX-Video). Anything else raises :class:`InputError` naming the value and
the nearest valid one, instead of diffusers' silent rounding.
"""

from __future__ import annotations

from adloom.core.errors import InputError

# (width, height) per aspect. "tiny" exists for tests and CPU smoke runs.
BUCKETS: dict[str, dict[str, tuple[int, int]]] = {
    "tiny": {"9:16": (16, 32), "16:9": (32, 16), "1:1": (16, 16)},
    "256p": {"9:16": (256, 448), "16:9": (448, 256), "1:1": (320, 320)},
    "480p": {"9:16": (480, 832), "16:9": (832, 480), "1:1": (640, 640)},
    "720p": {"9:16": (720, 1280), "16:9": (1280, 720), "1:1": (960, 960)},
}
ASPECTS = ("9:16", "16:9", "1:1")


def _nearest_multiple(value: int, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def bucket_size(aspect: str, bucket: str = "480p", *, multiple: int = 16) -> tuple[int, int]:
    """(width, height) of ``bucket`` for ``aspect``, rounded to ``multiple`` (the model's spatial factor)."""
    if aspect not in ASPECTS:
        raise InputError(f"aspect {aspect!r} is not one of {', '.join(ASPECTS)}", field="aspect")
    if bucket not in BUCKETS:
        raise InputError(f"bucket {bucket!r} is not one of {', '.join(BUCKETS)}", field="bucket")
    w, h = BUCKETS[bucket][aspect]
    return _nearest_multiple(w, multiple), _nearest_multiple(h, multiple)


def check_size(width: int, height: int, multiple: int, *, family: str = "model") -> None:
    """Raise InputError unless both sides are positive multiples of ``multiple``."""
    for name, value in (("width", width), ("height", height)):
        if value <= 0 or value % multiple:
            raise InputError(
                f"{name} {value} cannot be taken by this {family} model: it must be a multiple of {multiple} "
                f"(VAE downsampling × patch size); the nearest valid {name} is {_nearest_multiple(value, multiple)}",
                field=name,
            )


def nearest_frames(num_frames: int, temporal: int) -> int:
    """The valid frame count (k·temporal + 1) nearest to ``num_frames``."""
    k = max(0, int(round((num_frames - 1) / temporal)))
    return k * temporal + 1


def check_frames(num_frames: int, temporal: int, *, family: str = "model") -> None:
    """Raise InputError unless ``num_frames`` is k·temporal + 1 (what the causal video VAE encodes)."""
    if num_frames < 1 or (num_frames - 1) % temporal:
        raise InputError(
            f"num_frames {num_frames} cannot be taken by this {family} model: it must be {temporal}k+1 "
            f"(the VAE compresses {temporal} frames per latent frame after the first); the nearest valid "
            f"count is {nearest_frames(num_frames, temporal)}",
            field="num_frames",
        )


def frames_for_seconds(seconds: float, fps: int, temporal: int, *, max_frames: int | None = None) -> int:
    """The valid frame count closest to ``seconds`` at ``fps`` (capped at ``max_frames`` when given)."""
    n = nearest_frames(max(1, round(seconds * fps)), temporal)
    if max_frames is not None and n > max_frames:
        n = (max_frames - 1) // temporal * temporal + 1
    return max(n, temporal + 1)
