"""A seeded test footage set, built in seconds from the bundled sample photos and drawn scenes, with labels.

No real footage can be downloaded here, so tests and benches compose "advertiser footage" that has what
real uploads have: hard cuts, camera pans and zooms, hand-held shake, a blurred shot, a face from the
bundled portrait, drawn hands using the product, text cards and factory b-roll, plus phone quirks
(rotation metadata, variable frame rate) and broken files. ``labels.yaml`` says which scene of which file
shows what, so retrieval can be scored against it.

Drawn hands are a skin-coloured palm and five rounded fingers; they read as hands to people, and
mediapipe's palm detector finds them in some frames but not reliably (it was trained on photos): tests
must not require ``hands > 0`` on them. The portrait is a real photograph, so faces are found.

Usage::

    footage = build_footage_set(out_dir, portrait=Path(".../astronaut.jpg"))
    footage.long_clip, footage.labels  # the 12-scene clip and its ground truth
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from adloom.core.proc import deadline, run_tool, tool_timeout

__all__ = ["FootageSet", "LabelledScene", "build_footage_set", "encode_frames", "make_phone_clips", "sample_photos"]

SAMPLE_IMAGES = Path(__file__).resolve().parents[2] / "serving" / "samples" / "images"
SIZE = (640, 360)
FPS = 25

Frame = np.ndarray
Renderer = Callable[[float, float], Frame]  # (t in scene, scene duration) -> BGR frame

SKIN = (120, 160, 215)
SKIN_DARK = (90, 125, 180)


def sample_photos() -> dict[str, Path]:
    """The bundled product photos by stem (robot_vacuum, serum, serum_lilac)."""
    return {p.stem: p for p in sorted(SAMPLE_IMAGES.glob("*.png"))}


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def encode_frames(frames: Iterator[Frame], out: Path, *, size: tuple[int, int] = SIZE, fps: float = FPS,
                  n_frames: int = 0, extra: list[str] | None = None) -> Path:  # fmt: skip
    """Encode BGR frames to an H.264 MP4 through ffmpeg's stdin (streamed: never all in memory)."""
    w, h = size
    cmd = [_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps),
           "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-pix_fmt", "yuv420p",
           *(extra or []), str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    with deadline(proc, purpose="ffmpeg encoding synthetic footage", subject=out.name,
                  timeout_s=tool_timeout(frames=n_frames)):  # fmt: skip
        for f in frames:
            proc.stdin.write(np.ascontiguousarray(f).tobytes())
        proc.stdin.close()
        err = proc.stderr.read() if proc.stderr else b""
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed encoding {out.name}: {err.decode(errors='replace')[-400:]}")
    return out


def _load(path: Path) -> Frame:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return img


def _cover(img: Frame, size: tuple[int, int], zoom: float = 1.0, cx: float = 0.5, cy: float = 0.5) -> Frame:
    """``img`` scaled to cover ``size`` times ``zoom``, cropped around (cx, cy) (fractions of the scaled image)."""
    w, h = size
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih) * zoom
    m = np.float32([[s, 0, w / 2 - cx * iw * s], [0, s, h / 2 - cy * ih * s]])
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _hand(frame: Frame, cx: float, cy: float, scale: float, angle: float) -> None:
    """A drawn open hand (palm + five rounded fingers) centred at (cx, cy) px."""

    def rot(dx: float, dy: float) -> tuple[int, int]:
        ca, sa = math.cos(angle), math.sin(angle)
        return int(cx + (dx * ca - dy * sa) * scale), int(cy + (dx * sa + dy * ca) * scale)

    fingers = [(-34, -40, -48, -105, 13), (-12, -48, -16, -125, 12), (10, -48, 14, -128, 12), (30, -42, 40, -112, 11),
               (-44, 5, -88, -30, 13)]  # fmt: skip
    for x0, y0, x1, y1, t in fingers:
        cv2.line(frame, rot(x0, y0), rot(x1, y1), SKIN_DARK, int((t + 3) * 2 * scale), cv2.LINE_AA)
        cv2.line(frame, rot(x0, y0), rot(x1, y1), SKIN, int(t * 2 * scale), cv2.LINE_AA)
    cv2.ellipse(frame, rot(0, 0), (int(48 * scale), int(58 * scale)), math.degrees(angle), 0, 360, SKIN_DARK, -1,
                cv2.LINE_AA)  # fmt: skip
    cv2.ellipse(frame, rot(0, 0), (int(45 * scale), int(55 * scale)), math.degrees(angle), 0, 360, SKIN, -1,
                cv2.LINE_AA)  # fmt: skip
    # wrist
    cv2.line(frame, rot(0, 50), rot(0, 140), SKIN, int(60 * scale), cv2.LINE_AA)


@dataclass
class LabelledScene:
    """Ground truth for one scene of a built clip (or a photo)."""

    file: str
    index: int
    start_s: float
    end_s: float
    label: str  # product_still | demo_hands | face_testimonial | text_card | factory_broll
    description: str
    roles: list[str]
    camera: str = "static"  # static | pan | zoom | shaky | blurred


@dataclass
class FootageSet:
    root: Path
    long_clip: Path
    product_pan: Path
    photos: list[Path]
    labels: list[LabelledScene] = field(default_factory=list)
    labels_file: Path | None = None

    def cut_times(self, clip: Path) -> list[float]:
        return [s.start_s for s in self.labels if s.file == clip.name and s.index > 0]


ROLES = {
    "product_still": ["feature", "offer"],
    "demo_hands": ["demo"],
    "face_testimonial": ["proof", "hook"],
    "text_card": ["offer", "cta"],
    "factory_broll": ["problem", "proof"],
}


def _renderers(portrait: Path | None, rng: np.random.Generator) -> dict[str, Callable[..., Renderer]]:
    photos = {k: _load(p) for k, p in sample_photos().items()}
    face = _load(portrait) if portrait else None

    def product(name: str, camera: str) -> Renderer:
        img = photos[name]

        def f(t: float, d: float) -> Frame:
            u = t / max(d, 1e-6)
            if camera == "pan":
                return _cover(img, SIZE, 1.6, 0.3 + 0.4 * u, 0.55)
            if camera == "zoom":
                return _cover(img, SIZE, 1.0 + 0.5 * u, 0.5, 0.55)
            out = _cover(img, SIZE, 1.05, 0.5, 0.55)
            return cv2.GaussianBlur(out, (0, 0), 6) if camera == "blurred" else out

        return f

    def demo(name: str, camera: str = "static") -> Renderer:
        img = photos[name]
        base = _cover(img, SIZE, 1.3, 0.5, 0.6)

        def f(t: float, d: float) -> Frame:
            out = base.copy()
            _hand(out, 240 + 90 * math.sin(2.4 * t), 250 + 25 * math.cos(3.1 * t), 0.9, -0.3 + 0.2 * math.sin(2 * t))
            _hand(out, 420 - 70 * math.sin(2.0 * t), 260, 0.85, 0.35)
            return out

        return f

    def testimonial(zoom_from: float, camera: str = "zoom") -> Renderer:
        def f(t: float, d: float) -> Frame:
            out = np.full((SIZE[1], SIZE[0], 3), (200, 190, 180), np.uint8)
            if face is None:
                cv2.circle(out, (320, 170), 90, SKIN, -1)
                return out
            u = t / max(d, 1e-6)
            s = 300 * (zoom_from + 0.15 * u)
            ph = cv2.resize(face, (int(s), int(s)), interpolation=cv2.INTER_AREA)
            y0, x0 = max(0, 180 - ph.shape[0] // 2), 320 - ph.shape[1] // 2
            crop = ph[max(0, -(180 - ph.shape[0] // 2)) :][: SIZE[1] - y0]
            out[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop[:, : SIZE[0] - x0]
            return out

        return f

    def card(lines: list[str], bg: tuple[int, int, int]) -> Renderer:
        def f(t: float, d: float) -> Frame:
            out = np.full((SIZE[1], SIZE[0], 3), bg, np.uint8)
            for i, line in enumerate(lines):
                (tw, _th), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_DUPLEX, 1.4, 3)
                cv2.putText(out, line, ((SIZE[0] - tw) // 2, 140 + 70 * i), cv2.FONT_HERSHEY_DUPLEX, 1.4,
                            (255, 255, 255), 3, cv2.LINE_AA)  # fmt: skip
            return out

        return f

    def factory(camera: str) -> Renderer:
        jitter = rng.normal(0, 3.0, size=(400, 2))

        def f(t: float, d: float) -> Frame:
            W = SIZE[0] + 200
            out = np.full((SIZE[1], W, 3), (70, 75, 80), np.uint8)
            for x in range(0, W, 120):  # machines
                cv2.rectangle(out, (x + 10, 40), (x + 90, 200), (110, 120, 135), -1)
                cv2.rectangle(out, (x + 25, 60), (x + 75, 110), (40, 160, 220), -1)
            cv2.rectangle(out, (0, 240), (W, 290), (35, 35, 35), -1)  # belt
            for k in range(12):  # boxes riding the belt
                bx = int((k * 90 + 120 * t) % W)
                cv2.rectangle(out, (bx, 205), (bx + 50, 240), (60, 130, 190), -1)
            ox = 100 + (80 * math.sin(t) if camera == "pan" else 0)
            if camera == "shaky":
                j = jitter[int(t * FPS) % len(jitter)]
                ox += j[0]
                oy = 12 + j[1]
            else:
                oy = 12
            m = np.float32([[1, 0, -ox], [0, 1, -oy + 12]])
            return cv2.warpAffine(out, m, SIZE, borderMode=cv2.BORDER_REPLICATE)

        return f

    return {"product": product, "demo": demo, "testimonial": testimonial, "card": card, "factory": factory}


#: The long clip: (label, renderer name, args, camera, duration_s, description).
LONG_CLIP = [
    ("text_card", "card", (["SPRING SALE", "50% OFF TODAY"], (60, 40, 170)), "static", 1.6,
     "text card: spring sale, 50% off today"),
    ("product_still", "product", ("serum", "static"), "static", 1.8, "serum bottle product still"),
    ("factory_broll", "factory", ("shaky",), "shaky", 2.0, "factory floor, conveyor belt, hand-held"),
    ("face_testimonial", "testimonial", (1.0,), "zoom", 2.0, "a customer's face, testimonial"),
    ("demo_hands", "demo", ("serum",), "static", 2.0, "hands applying the serum, demo"),
    ("product_still", "product", ("robot_vacuum", "pan"), "pan", 2.0, "robot vacuum in a living room, pan"),
    ("product_still", "product", ("serum_lilac", "blurred"), "blurred", 1.4, "lilac serum, out of focus"),
    ("factory_broll", "factory", ("pan",), "pan", 1.8, "factory machines, smooth pan"),
    ("text_card", "card", (["FREE SHIPPING", "ORDER NOW"], (30, 120, 40)), "static", 1.4,
     "text card: free shipping, order now"),
    ("face_testimonial", "testimonial", (1.2,), "zoom", 1.6, "close-up of a face, testimonial"),
    ("demo_hands", "demo", ("robot_vacuum",), "static", 1.8, "hands pressing the robot vacuum, demo"),
    ("product_still", "product", ("serum", "zoom"), "zoom", 1.6, "serum bottle, zoom in"),
]  # fmt: skip


def _render_clip(plan: list[tuple[Renderer, float]], out: Path) -> tuple[Path, list[tuple[float, float]]]:
    spans: list[tuple[float, float]] = []
    n_total = 0
    for _r, d in plan:
        n = round(d * FPS)
        spans.append((n_total / FPS, (n_total + n) / FPS))
        n_total += n

    def frames() -> Iterator[Frame]:
        for r, d in plan:
            n = round(d * FPS)
            for i in range(n):
                yield r(i / FPS, n / FPS)

    encode_frames(frames(), out, n_frames=n_total)
    return out, spans


def build_footage_set(root: Path, *, portrait: Path | None = None, seed: int = 0) -> FootageSet:
    """Write the footage set under ``root`` (about 25 s of 360p video and three photos, a few seconds on two
    cores) and its ``labels.yaml``; returns where everything is."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    make = _renderers(portrait, rng)
    labels: list[LabelledScene] = []
    plan = [(make[name](*args), dur) for _l, name, args, _c, dur, _d in LONG_CLIP]
    long_clip, spans = _render_clip(plan, root / "factory_tour_and_demos.mp4")
    for i, ((label, _n, _a, camera, _d, desc), (a, b)) in enumerate(zip(LONG_CLIP, spans, strict=True)):
        labels.append(LabelledScene(long_clip.name, i, a, b, label, desc, ROLES[label], camera))
    pan, pan_spans = _render_clip([(make["product"]("robot_vacuum", "pan"), 3.0)], root / "vacuum_pan.mp4")
    labels.append(LabelledScene(pan.name, 0, *pan_spans[0], "product_still", "robot vacuum, pan",
                                ROLES["product_still"], "pan"))  # fmt: skip
    photos = []
    for stem, src in sample_photos().items():
        dest = root / f"{stem}.png"
        dest.write_bytes(src.read_bytes())
        photos.append(dest)
        labels.append(LabelledScene(dest.name, 0, 0.0, 0.0, "product_still", f"{stem.replace('_', ' ')} photo",
                                    ROLES["product_still"]))  # fmt: skip
    labels_file = root / "labels.yaml"
    labels_file.write_text(yaml.safe_dump({"scenes": [vars(s) for s in labels]}, sort_keys=False, allow_unicode=True))
    return FootageSet(root, long_clip, pan, photos, labels, labels_file)


def make_phone_clips(root: Path) -> dict[str, Path]:
    """Phone-style and broken inputs for the bad-input checks: ``rotated`` (stored landscape, rotation
    metadata turning it 90° clockwise for a portrait display, like a phone), ``vfr`` (30 fps then 10 fps),
    ``audio_only`` (an M4A), ``corrupt`` (an MP4 cut in half), ``garbage`` (random bytes named .mp4),
    ``pdf_as_jpg``, ``one_pixel`` (a 1x1 PNG)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ff = _ffmpeg()
    out: dict[str, Path] = {}

    def run(args: list[str], name: str) -> Path:
        dest = root / name
        proc = run_tool([ff, "-v", "error", "-y", *args, str(dest)], purpose="ffmpeg making a test clip", subject=name,
                        timeout_s=tool_timeout(10), capture_output=True)  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode(errors="replace")[-300:])
        return dest

    # Upright content: a top-heavy marker (white block at the top) so orientation can be checked.
    def upright_frames() -> Iterator[Frame]:
        for i in range(30):
            f = np.full((640, 360, 3), 60, np.uint8)  # portrait 360x640 as displayed
            cv2.rectangle(f, (40, 20), (320, 160), (255, 255, 255), -1)
            cv2.circle(f, (180, 420 + i), 40, (0, 0, 255), -1)
            yield f

    portrait = encode_frames(upright_frames(), root / "_portrait_src.mp4", size=(360, 640), fps=30, n_frames=30)
    # Store it the way phones do: frames turned to landscape, display matrix turning them back.
    stored = run(["-i", str(portrait), "-vf", "transpose=2", "-c:v", "libx264", "-preset", "ultrafast"], "_stored.mp4")
    # -display_rotation is counter-clockwise: -90 turns the stored frames clockwise back to portrait.
    out["rotated"] = run(["-display_rotation", "-90", "-i", str(stored), "-c", "copy"], "phone_rotated.mp4")
    portrait.unlink()
    stored.unlink()
    out["vfr"] = run(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3", "-vf",
                      "select='lt(t\\,1)+not(mod(n\\,3))'", "-fps_mode", "vfr", "-c:v", "libx264", "-preset",
                      "ultrafast"], "phone_vfr.mp4")  # fmt: skip
    out["audio_only"] = run(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"], "voiceover.m4a")
    full = out["vfr"].read_bytes()
    (root / "upload_cut_short.mp4").write_bytes(full[: len(full) // 2])
    out["corrupt"] = root / "upload_cut_short.mp4"
    (root / "garbage.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    out["garbage"] = root / "garbage.mp4"
    (root / "brochure.jpg").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n")
    out["pdf_as_jpg"] = root / "brochure.jpg"
    cv2.imwrite(str(root / "pixel.png"), np.zeros((1, 1, 3), np.uint8))
    out["one_pixel"] = root / "pixel.png"
    return out
