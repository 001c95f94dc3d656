"""Analyse advertiser assets once, cached by content hash: clips cut into scenes and scored, photos scored,
cut out and coloured, faces and hands counted (see :mod:`.model` for what each field means).

Flow for each file: recognise it by content (:mod:`.probe`; bad input is an InputError naming the file),
hash its bytes, reuse ``<cache_dir>/<analyzer version>/<sha256>-<settings>/analysis.json`` if present,
else measure it (:mod:`.scenes` for clips, :mod:`.photo` for stills) and write keyframes beside it.
Faces and hands for every keyframe of a batch go to the mediapipe worker in one call (:mod:`.people`);
without that venv they stay ``None`` with a warning, and a later run that has the venv fills them in.
Per call, the caption, role hint, path and description (in ``lang``) are laid over the cached facts, so
the same bytes under another name or caption reuse the measurement.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adloom.core.errors import AdloomError, BackendUnavailableError, InputError
from adloom.core.paths import write_atomic
from adloom.core.types import Asset, ShotRole
from adloom.creative.assets.describe import describe, scene_tags
from adloom.creative.assets.model import (
    ANALYZER_VERSION,
    AnalysisLimits,
    AssetAnalysis,
    AssetFailure,
    AssetKind,
    PhotoInfo,
    SceneInfo,
    scene_id,
)
from adloom.creative.assets.probe import Probe, probe_asset

__all__ = ["CACHE_STATS", "analyze_asset", "analyze_assets", "cache_folder", "sha256_file"]

#: Counters of this process's cache use ({"hits": n, "misses": n, "people_runs": n}); tests read them.
CACHE_STATS: dict[str, int] = {"hits": 0, "misses": 0, "people_runs": 0}

_PEOPLE_WARNING = "faces and hands not measured"

#: Limits that change results (part of the cache key); the others only refuse input or bound time.
_RESULT_LIMITS = ("analysis_width", "sample_fps", "max_samples", "detect_fps", "cut_threshold", "min_scene_s",
                  "max_scenes", "face_frames_per_scene", "keyframe_width")  # fmt: skip


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_folder(cache_dir: Path, sha256: str, limits: AnalysisLimits) -> Path:
    """Where one asset's analysis and keyframes are cached: keyed by content, analyzer version and the limits
    that change results."""
    settings = json.dumps({k: getattr(limits, k) for k in _RESULT_LIMITS}, sort_keys=True)
    tag = hashlib.sha256(settings.encode()).hexdigest()[:8]
    return Path(cache_dir) / ANALYZER_VERSION.replace("/", "-") / f"{sha256}-{tag}"


def _load_cached(folder: Path) -> AssetAnalysis | None:
    target = folder / "analysis.json"
    if not target.is_file():
        return None
    try:
        found = AssetAnalysis.model_validate_json(target.read_text(encoding="utf-8"))
    except (ValidationError, OSError, UnicodeDecodeError):
        return None  # damaged or from an older layout: analyse again
    if found.analyzer != ANALYZER_VERSION:
        return None
    if any(not Path(k).is_file() for s in found.scenes for k in s.keyframes):
        return None  # someone cleaned the keyframes: analyse again
    return found


def _save(folder: Path, analysis: AssetAnalysis) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "analysis.json", analysis.model_dump_json(indent=1))


def _photo_analysis(probe: Probe, sha: str, folder: Path, limits: AnalysisLimits) -> AssetAnalysis:
    import cv2
    import numpy as np
    from PIL import Image, ImageOps

    from adloom.creative.assets import measures
    from adloom.creative.assets.photo import analyze_photo

    with Image.open(probe.path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))  # transparent product shots sit on white
        else:
            flat = im.convert("RGB")
    bgr = cv2.cvtColor(np.asarray(flat), cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    kw = min(limits.keyframe_width, w)
    kf = cv2.resize(bgr, (kw, max(1, round(h * kw / w))), interpolation=cv2.INTER_AREA)
    folder.mkdir(parents=True, exist_ok=True)
    kf_path = folder / "s00_k0.jpg"
    cv2.imwrite(str(kf_path), kf, [cv2.IMWRITE_JPEG_QUALITY, 88])
    g = measures.gray(kf)
    facts = analyze_photo(bgr, folder / "cutout.png")
    photo = PhotoInfo(
        saliency_box=facts.saliency_box, plain_background=facts.plain_background,
        cutout=str(facts.cutout) if facts.cutout else None, background_colour=facts.background_colour,
        colours=facts.colours, colour_shares=facts.colour_shares,
    )  # fmt: skip
    scene = SceneInfo(
        id=scene_id(sha, 0), asset_sha256=sha, index=0, kind=AssetKind.photo, start_s=0.0, end_s=0.0,
        duration_s=0.0, keyframes=[str(kf_path)], sharpness=round(measures.sharpness(g), 4),
        exposure=round(measures.exposure(g), 4), text=measures.text_likely(g), photo=photo,
    )  # fmt: skip
    return AssetAnalysis(sha256=sha, path=str(probe.path), kind=AssetKind.photo, width=probe.width,
                         height=probe.height, rotation=probe.rotation, scenes=[scene],
                         warnings=list(probe.warnings))  # fmt: skip


def _clip_analysis(
    probe: Probe, sha: str, folder: Path, limits: AnalysisLimits, progress: Callable[[float], None] | None
) -> AssetAnalysis:
    from adloom.creative.assets.scenes import grab_keyframes, keyframe_times, scan_clip, scene_scores, split_scenes

    scan = scan_clip(probe.path, probe, limits, (lambda f: progress(0.9 * f)) if progress else None)
    spans = split_scenes(scan, limits)
    times: list[float] = []
    dests: list[Path] = []
    per_scene: list[list[Path]] = []
    for n, (a, b) in enumerate(spans):
        ks = keyframe_times(a, b, max(1, min(3, limits.face_frames_per_scene or 1)))
        paths = [folder / f"s{n:02d}_k{i}.jpg" for i in range(len(ks))]
        times += ks
        dests += paths
        per_scene.append(paths)
    written = set(grab_keyframes(probe.path, times, dests, limits.keyframe_width))
    scenes: list[SceneInfo] = []
    for n, ((a, b), paths) in enumerate(zip(spans, per_scene, strict=True)):
        scores = scene_scores(scan, a, b)
        scenes.append(
            SceneInfo(
                id=scene_id(sha, n),
                asset_sha256=sha,
                index=n,
                kind=AssetKind.clip,
                start_s=round(a, 4),
                end_s=round(b, 4),
                duration_s=round(b - a, 4),
                keyframes=[str(p) for p in paths if p in written],
                **scores,
            )  # fmt: skip
        )
    warnings = list(probe.warnings) + scan.warnings
    if scan.vfr:
        warnings.append(
            f"variable frame rate (phone recording): {scan.fps:.2f} fps on average; cut times are exact, but trim "
            "with timestamps, not frame counts"
        )
    if progress:
        progress(0.95)
    return AssetAnalysis(sha256=sha, path=str(probe.path), kind=AssetKind.clip, width=probe.width,
                         height=probe.height, rotation=probe.rotation, duration_s=round(scan.duration_s, 4),
                         fps=round(scan.fps, 4), vfr=scan.vfr, scenes=scenes, warnings=warnings)  # fmt: skip


def _measure(path: Path, cache_dir: Path, limits: AnalysisLimits, progress: Callable[[float], None] | None
             ) -> tuple[AssetAnalysis, Path]:  # fmt: skip
    probe = probe_asset(path, limits)
    sha = sha256_file(path)
    folder = cache_folder(cache_dir, sha, limits)
    cached = _load_cached(folder)
    if cached is not None:
        CACHE_STATS["hits"] += 1
        return cached, folder
    CACHE_STATS["misses"] += 1
    shutil.rmtree(folder, ignore_errors=True)  # stale keyframes of a half-finished run
    try:
        if probe.kind is AssetKind.photo:
            analysis = _photo_analysis(probe, sha, folder, limits)
        else:
            analysis = _clip_analysis(probe, sha, folder, limits, progress)
    except AdloomError:
        raise
    except Exception as exc:  # a decoder or OpenCV failing on this file's content: the file's problem
        import av
        import cv2

        if isinstance(exc, av.error.FFmpegError | cv2.error | OSError):
            raise InputError(
                f"{path.name}: could not be analysed ({exc.__class__.__name__}: {exc}); the file is damaged or in "
                "an unusual encoding: re-export it (H.264 MP4 for clips, PNG/JPEG for photos)"
            ) from exc
        raise
    _save(folder, analysis)
    return analysis, folder


def _fill_people(items: list[tuple[AssetAnalysis, Path]], timeout_s: float | None) -> list[AssetAnalysis]:
    """Faces/hands for every analysis that lacks them, one worker call for all their keyframes."""
    from adloom.creative.assets.people import detect_people

    todo = [(a, f) for a, f in items if any(s.faces is None for s in a.scenes)]
    if not todo:
        return [a for a, _ in items]
    images = [Path(k) for a, _ in todo for s in a.scenes for k in s.keyframes]
    try:
        CACHE_STATS["people_runs"] += 1
        found = detect_people(images, timeout_s=timeout_s)
        reason = None
    except BackendUnavailableError as exc:
        found, reason = {}, str(exc)
    done: list[AssetAnalysis] = []
    for analysis, folder in todo:
        if reason is not None:
            note = f"{_PEOPLE_WARNING}: {reason}"
            if note not in analysis.warnings:
                analysis = analysis.model_copy(update={"warnings": [*analysis.warnings, note]})
            done.append(analysis)
            continue
        scenes = []
        for s in analysis.scenes:
            dets = [found[Path(k)] for k in s.keyframes if Path(k) in found]
            if not dets:
                scenes.append(s)
                continue
            boxes = max((d[0] for d in dets), key=len)
            scenes.append(s.model_copy(update={"faces": len(boxes), "face_boxes": boxes,
                                               "hands": max(d[1] for d in dets)}))  # fmt: skip
        warnings = [w for w in analysis.warnings if not w.startswith(_PEOPLE_WARNING)]
        analysis = analysis.model_copy(update={"scenes": scenes, "warnings": warnings})
        _save(folder, analysis)
        done.append(analysis)
    replaced = {id(old): new for (old, _f), new in zip(todo, done, strict=True)}
    return [replaced.get(id(a), a) for a, _ in items]


def _overlay(analysis: AssetAnalysis, path: Path, caption: str | None, role: ShotRole | None, lang: str
             ) -> AssetAnalysis:  # fmt: skip
    scenes = []
    for s in analysis.scenes:
        s = s.model_copy(update={"tags": scene_tags(s)})
        scenes.append(s.model_copy(update={"description": describe(s, path=path, caption=caption, lang=lang)}))
    return analysis.model_copy(update={"path": str(path), "caption": caption, "role_hint": role, "scenes": scenes})


def _item(x: str | Path | Asset | tuple[Any, ...]) -> tuple[Path, str | None, ShotRole | None]:
    if isinstance(x, Asset):
        return Path(x.path), (x.description or None), x.role
    if isinstance(x, tuple):
        path, caption, *rest = (*x, None, None)
        role = rest[0] if rest else None
        return Path(path), caption, (ShotRole(role) if role else None)
    return Path(x), None, None


def analyze_assets(
    items: Iterable[str | Path | Asset | tuple[Any, ...]],
    *,
    cache_dir: Path,
    limits: AnalysisLimits | None = None,
    lang: str = "en",
    keep_going: bool = False,
    progress: Callable[[float], None] | None = None,
    on_file: Callable[[int, Path], None] | None = None,
) -> list[AssetAnalysis | AssetFailure]:
    """Analyse several assets (paths, brief :class:`~adloom.core.types.Asset` objects whose ``description`` is
    the caption, or ``(path, caption[, role_hint])`` tuples), in input order.

    A bad file raises its :class:`InputError` unless ``keep_going``, which puts an :class:`AssetFailure` in its
    place and analyses the rest. ``progress`` hears the overall fraction done (0..1), ``on_file`` the index and
    path of the file being started."""
    limits = limits or AnalysisLimits()
    parsed = [_item(x) for x in items]
    measured: list[tuple[AssetAnalysis, Path] | AssetFailure] = []
    n = max(1, len(parsed))
    for i, (path, _caption, _role) in enumerate(parsed):
        if on_file:
            on_file(i, path)
        sub = (lambda f, i=i: progress((i + 0.95 * f) / n)) if progress else None
        try:
            measured.append(_measure(path, Path(cache_dir), limits, sub))
        except InputError as exc:
            if not keep_going:
                raise
            measured.append(AssetFailure(path=str(path), error=type(exc).__name__, message=str(exc)))
        if progress:
            progress((i + 0.95) / n)
    ok = [m for m in measured if not isinstance(m, AssetFailure)]
    filled = iter(_fill_people(ok, limits.timeout_s))
    out: list[AssetAnalysis | AssetFailure] = []
    for m, (path, caption, role) in zip(measured, parsed, strict=True):
        out.append(m if isinstance(m, AssetFailure) else _overlay(next(filled), path, caption, role, lang))
    if progress:
        progress(1.0)
    return out


def analyze_asset(
    path: str | Path,
    *,
    caption: str | None = None,
    role_hint: ShotRole | str | None = None,
    cache_dir: Path,
    limits: AnalysisLimits | None = None,
    lang: str = "en",
    progress: Callable[[float], None] | None = None,
) -> AssetAnalysis:
    """Analyse one asset (see :func:`analyze_assets`); a bad file raises an InputError naming it and the fix."""
    found = analyze_assets([(path, caption, role_hint)], cache_dir=cache_dir, limits=limits, lang=lang,
                           progress=progress)[0]  # fmt: skip
    assert isinstance(found, AssetAnalysis)
    return found


def summary_rows(analyses: Sequence[AssetAnalysis]) -> list[dict[str, Any]]:
    """One flat dict per scene (for tables and JSON lines)."""
    rows = []
    for a in analyses:
        for s in a.scenes:
            rows.append({"asset": Path(a.path).name, **s.model_dump(mode="json", exclude={"photo", "keyframes"})})
    return rows
