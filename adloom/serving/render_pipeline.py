"""The main job: brief → retrieve → scripts → voice → render → quality gate → rank → store.

A batch lives in one output folder:

- ``batch.json`` — the brief's fingerprint and the scripts planned for it,
  written once. A rerun with the same brief and count reuses these scripts,
  so a resumed batch renders the same creatives, never new ones.
- ``<creative id>/`` — one folder per creative; ``result.json`` is written
  last and atomically, so a folder without it is unfinished and is rendered
  again on the next run (a killed worker leaves no half-delivered creative).
- ``ranking.json`` — how the batch was ranked: by the newest trained
  predictor in the store (pCTCVR with uncertainty; creatives below the bar
  are marked ``pruned``), or by the performance prior when none has been
  trained yet, with every decision's reason (also stored in the database).

Rendering runs in worker processes (``jobs.executors.LocalExecutor``); each worker
does voice, render and gate for one creative and reports back a plain dict.
Only this parent process writes to the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adloom.core.errors import InputError
from adloom.core.paths import check_upload, resolve_inside, write_atomic
from adloom.core.storage import Store
from adloom.core.storage.db import DecisionRecord
from adloom.core.types import Aspect, AssetKind, Brief, Creative, CreativeStatus, Language, Script
from adloom.scripts_gen.library.retrieval import LibraryRetriever
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving.scripts_service import describe_brief_finding, generate_scripts

log = logging.getLogger(__name__)

MAX_CREATIVES = 200
#: Silence before a shot's narration starts and after it ends, seconds.
LEAD_S, TAIL_S = 0.15, 0.25

Step = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RenderOptions:
    aspect: Aspect | None = None  # None: the brief's aspect
    height: int = 720
    workers: int = 2
    templates: tuple[str, ...] = ()  # empty: rotate through every template
    voice: str | None = None
    tts: str | None = None
    music: str | None = None
    replace_stale: bool = False  # an out folder holding another brief's batch: replace it instead of refusing
    #: Where shots come from: footage_only, generate_missing or generate_all (``generated_shots.ShotSource``).
    shots: str = "footage_only"
    video_model: str | None = None  # None: the settings' video_model_path
    video_device: str | None = None  # None: the settings' video_device


@dataclass
class CreativeOutcome:
    creative: Creative
    quality: dict[str, Any]
    resumed: bool = False
    delivered: bool = field(init=False)  # rendered and passed the gate (a pruned creative was delivered too)

    def __post_init__(self) -> None:
        self.delivered = self.creative.status in (CreativeStatus.rendered, CreativeStatus.pruned)

    @property
    def pruned(self) -> bool:
        return self.creative.status == CreativeStatus.pruned


def brief_fingerprint(brief: Brief, n: int, opts: RenderOptions) -> str:
    """What makes two runs the same batch: the brief's content (not its generated ids), count and format."""
    content = brief.model_dump(mode="json", exclude={"id": True, "schema_version": True, "assets": {"__all__": {"id"}}})
    what: list[Any] = [content, n, opts.aspect, opts.height]
    if opts.shots != "footage_only":  # generated shots make other videos (footage-only batches keep their prints)
        what.append(opts.shots)
    payload = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def creative_id_for(script: Script) -> str:
    return "crv_" + script.id.removeprefix("scr_")


def resolve_assets(brief: Brief, base_dir: Path, roots: Sequence[Path] = ()) -> list[Path]:
    """The brief's image/video assets as checked paths inside ``base_dir`` (or extra allowed roots).

    Each path must resolve inside an allowed folder and be an image or video
    by content; a bad asset is an InputError naming it.
    """
    paths = []
    for i, asset in enumerate(brief.assets):
        if asset.kind not in (AssetKind.image, AssetKind.video):
            continue
        field_name = f"assets[{i}].path"
        path = resolve_inside(asset.path, [base_dir, *roots], field=field_name)
        if not path.is_file():
            raise InputError(f"{field_name}: {asset.path} does not exist (resolved to {path})", field=field_name)
        check_upload(path, [asset.kind.value], max_bytes=500 * 1024 * 1024)
        paths.append(path)
    return paths


#: Largest image accepted, in pixels (a decompression bomb is refused before it is decoded).
MAX_IMAGE_PIXELS = 60_000_000
#: Long side of the normalised copy the renderer reads.
NORMALISED_LONG_SIDE = 3840


def normalise_images(paths: Sequence[Path], work_dir: Path) -> list[Path]:
    """Copies of image assets the renderer can always read: RGB PNG, EXIF orientation applied,
    first frame of an animation, long side at most 3840 px. Videos pass through unchanged.

    A corrupt file, a decompression bomb or an image too large is an InputError naming it.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    work_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for i, path in enumerate(paths):
        kind, _ = check_upload(path, ["image", "video"])
        if kind == "video":
            out.append(path)
            continue
        target = work_dir / f"asset_{i}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}.png"
        if target.is_file():
            out.append(target)
            continue
        try:
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise InputError(
                        f"{path.name} is {w}x{h} pixels; the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels — "
                        "export a smaller image",
                        field="assets",
                    )
                img.seek(0)  # first frame of an animated GIF/WebP
                frame = ImageOps.exif_transpose(img).convert("RGB")  # CMYK, palette, alpha → RGB
                frame.thumbnail((NORMALISED_LONG_SIDE, NORMALISED_LONG_SIDE))
                tmp = target.with_name(target.name + ".tmp.png")
                frame.save(tmp, format="PNG")
                os.replace(tmp, target)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
            raise InputError(
                f"{path.name} cannot be read as an image ({exc}); re-export it as JPEG or PNG", field="assets"
            ) from exc
        out.append(target)
    return out


def _write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def plan_batch(
    brief: Brief,
    n: int,
    out_dir: Path,
    opts: RenderOptions,
    *,
    store: Store,
    retriever: LibraryRetriever,
    writer: ScriptWriter,
    seed: int = 0,
    progress: Step | None = None,
) -> tuple[list[Script], Brief, bool]:
    """The batch's scripts and brief: read back from ``batch.json`` when resuming (so ids stay the
    same), else written and saved. The bool says whether this was a resume."""
    if not 1 <= n <= MAX_CREATIVES:
        raise InputError(f"n={n}: a batch renders between 1 and {MAX_CREATIVES} creatives", field="n")
    out_dir.mkdir(parents=True, exist_ok=True)
    batch_file = out_dir / "batch.json"
    fingerprint = brief_fingerprint(brief, n, opts)
    if batch_file.is_file():
        data = json.loads(batch_file.read_text(encoding="utf-8"))
        if data.get("fingerprint") == fingerprint:
            scripts = [Script.model_validate(s) for s in data["scripts"]]
            return scripts, Brief.model_validate(data["brief"]), True
        if not opts.replace_stale:
            raise InputError(
                f"{out_dir} already holds a batch for a different brief or count; choose another --out folder "
                "or delete that one",
                field="out",
            )
        for old in out_dir.glob("crv_*"):  # the caller asked for the stale batch to be replaced
            shutil.rmtree(old)
        batch_file.unlink()
    run = generate_scripts(brief, n, store=store, retriever=retriever, writer=writer, seed=seed, progress=progress)
    _write_json(
        batch_file,
        {
            "fingerprint": fingerprint,
            "brief": brief.model_dump(mode="json"),
            "exemplars": [x.id for x in run.exemplars],
            "brief_findings": [describe_brief_finding(f) for f in run.brief_findings],
            "dropped": run.dropped,
            "scripts": [s.model_dump(mode="json") for s in run.scripts],
        },
    )
    return run.scripts, brief, False


def prior_means(retriever: LibraryRetriever) -> dict[tuple[str, str], float]:
    """The mean performance prior of the library's items per (industry, hook type), 1.0 = industry average.

    One library scan; what :func:`prior_scores` looks scripts up in (and ``bench/closed_loop.py`` ranks by)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for it in retriever.items:
        groups.setdefault((it.industry.value, it.script.hook_type.value), []).append(retriever.prior(it.id))
    return {k: round(sum(v) / len(v), 4) for k, v in groups.items()}


def prior_scores(scripts: Sequence[Script], retriever: LibraryRetriever) -> list[float]:
    """How well each script's kind of creative performed before: the mean performance prior of library
    items with the same industry and hook type (1.0 when the library has none). The fallback ranking
    when no predictor has been trained."""
    means = prior_means(retriever)
    return [means.get((s.industry.value, s.hook_type.value), 1.0) for s in scripts]


def prior_score(script: Script, retriever: LibraryRetriever) -> float:
    """:func:`prior_scores` of one script."""
    return prior_scores([script], retriever)[0]


def _rates(items: Sequence[Any], metric: str) -> list[float]:
    from adloom.analytics.percentile import MIN_CLICKS, MIN_IMPRESSIONS

    if metric == "ctr":
        return sorted(it.performance.ctr for it in items if it.performance.impressions >= MIN_IMPRESSIONS)
    return sorted(it.performance.cvr for it in items if it.performance.clicks >= MIN_CLICKS)


def library_placements(
    scripts: Sequence[Script],
    retriever: LibraryRetriever,
    *,
    pctr: Sequence[float] | None = None,
    pcvr: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> list[dict[str, float]]:
    """Each script's predicted CTR and CVR as percentiles of the library's observed rates, with intervals and
    ``percentile_confident`` (1.0 or 0.0), as ``Creative.scores`` keys (see :mod:`adloom.analytics.percentile`
    for the rule). The reference is the library items of the script's industry, or the whole library when the
    industry has fewer than ``MIN_REFERENCE`` items with enough delivery. With ``pctr``/``pcvr``/``std`` from a
    trained predictor the prediction is placed; without, the script is placed by the library items of its
    industry and hook type (the performance prior's evidence)."""
    from adloom.analytics.percentile import MIN_REFERENCE, place_by_similar, place_prediction

    items = list(retriever.items)
    out: list[dict[str, float]] = []
    for i, script in enumerate(scripts):
        same = [it for it in items if it.industry == script.industry]
        similar = [it for it in same if it.script.hook_type == script.hook_type]
        row: dict[str, float] = {}
        confident = True
        for metric, predicted in (("ctr", pctr), ("cvr", pcvr)):
            reference = _rates(same, metric)
            if len(reference) < MIN_REFERENCE:
                reference = _rates(items, metric)
            if predicted is not None and std is not None:
                placed = place_prediction(float(predicted[i]), float(std[i]), reference)
            else:
                placed = place_by_similar(_rates(similar, metric), reference)
            row |= placed.as_scores(metric)
            confident = confident and placed.confident
            row["reference_n"] = float(min(row.get("reference_n", placed.reference_n), placed.reference_n))
        row["percentile_confident"] = 1.0 if confident else 0.0
        out.append(row)
    return out


@dataclass(frozen=True)
class BatchRanking:
    """How a batch was ranked: by the trained predictor (``model_version``) or by the prior fallback."""

    method: str  # "predictor" or "prior"
    model_version: str | None
    scores: dict[str, dict[str, float]]  # creative id → scores shown with it
    decisions: dict[str, DecisionRecord]  # creative id → decision and reason
    note: str

    def rank_key(self, creative_id: str) -> float:
        s = self.scores.get(creative_id, {})
        return s.get("pctcvr", s.get("prior", 0.0))


def rank_batch(
    brief: Brief,
    scripts: dict[str, Script],
    store: Store,
    retriever: LibraryRetriever,
    *,
    batch_id: str,
    bar: float = 0.9,
    explore_share: float = 0.1,
    seed: int = 0,
) -> BatchRanking:
    """Score the delivered creatives of a batch once and decide launch / explore / prune with reasons.

    With a trained predictor in the store: pCTR, pCVR, pCTCVR and the CTR
    uncertainty per creative; :func:`adloom.analytics.ranking.rank_and_prune`
    against the industry's benchmark pCTCVR (``bar`` × baseline), with an
    exploration share by Thompson sampling. Without one: the performance
    prior orders them and nothing is pruned, which the note says. Every
    decision is stored with its reason (``ranking_decisions``).
    """
    import numpy as np

    ids = sorted(scripts)
    found = _load_predictor(store)
    if found is None or not ids:
        priors = prior_scores([scripts[i] for i in ids], retriever)
        note = "ranked by the performance prior of similar library creatives: no trained predictor yet"
        placed = library_placements([scripts[i] for i in ids], retriever)
        scores = {cid: {"prior": p, **pl} for cid, p, pl in zip(ids, priors, placed, strict=True)}
        decisions = {
            cid: DecisionRecord(
                creative_id=cid,
                action="launch",
                score=p,
                baseline=1.0,
                metric="prior",
                reason=f"launch: no trained predictor, so nothing is pruned; performance prior {p:.2f} "
                "(1.00 = industry average)",
                batch_id=batch_id,
                campaign_id=brief.campaign_id,
            )
            for cid, p in zip(ids, priors, strict=True)
        }
        store.save_decisions(list(decisions.values()))
        return BatchRanking("prior", None, scores, decisions, note)
    from adloom.analytics.ranking import rank_and_prune
    from adloom.serving.predictor_service import industry_baseline, score_scripts

    predictor, mv = found
    sc = score_scripts(predictor, [scripts[i] for i in ids], retriever.items, seed=seed)
    baseline = industry_baseline(brief.industry.value)
    ds = rank_and_prune(
        ids,
        np.clip(sc.pctcvr, 1e-9, 1 - 1e-9),
        baseline,
        std=sc.std,
        bar=bar,
        explore_share=explore_share,
        rng=np.random.default_rng(seed),
        baseline_name=f"{brief.industry.value} benchmark",
    )
    placed = library_placements(
        [scripts[i] for i in ids], retriever, pctr=list(sc.pctr), pcvr=list(sc.pcvr), std=list(sc.std)
    )
    scores = {
        cid: {
            "pctr": float(sc.pctr[i]),
            "pcvr": float(sc.pcvr[i]),
            "pctcvr": float(sc.pctcvr[i]),
            "uncertainty": float(sc.std[i]),
            **placed[i],
        }
        for i, cid in enumerate(ids)
    }
    decisions = {
        d.creative_key: DecisionRecord(
            creative_id=d.creative_key,
            action=d.action,
            score=d.score,
            baseline=d.baseline,
            reason=d.reason,
            metric="pCTCVR",
            uncertainty=d.uncertainty,
            scores=scores[d.creative_key],
            batch_id=batch_id,
            campaign_id=brief.campaign_id,
            model_version=mv.version,
        )
        for d in ds
    }
    store.save_decisions(list(decisions.values()))
    note = f"ranked by predicted pCTCVR (model {mv.version}); pruned below {bar:.2f}× the industry benchmark"
    return BatchRanking("predictor", mv.version, scores, decisions, note)


def _load_predictor(store: Store) -> Any:
    from adloom.serving.predictor_service import load_latest

    return load_latest(store)


def _subtitle_chunks(text: str, start: float, end: float, language: Language) -> list[tuple[float, float, str]]:
    """Split one spoken line into subtitle cues short enough to read (whole words, breaks at sentence and clause
    marks where they fit: ``cue_pieces``), timed by character share."""
    from adloom.creative.compose.text import cue_pieces

    pieces = cue_pieces(text, 16 if language == Language.zh else 42)
    total = sum(len(p) for p in pieces) or 1
    cues, t = [], start
    for p in pieces:
        d = (end - start) * len(p) / total
        cues.append((round(t, 3), round(t + d, 3), p))
        t += d
    return cues


def render_creative(job: dict[str, Any]) -> dict[str, Any]:
    """Voice, render and gate one creative (runs in a worker process); returns a JSON-able result."""
    from adloom.creative.compose import Cue, RenderSpec, ShotSpec, frame_size, render, safe_area
    from adloom.creative.quality import check_video
    from adloom.digital_human.voice import mix_lines, speak_lines

    started = time.perf_counter()
    script = Script.model_validate(job["script"])
    lang = script.language
    out = Path(job["dir"])
    out.mkdir(parents=True, exist_ok=True)
    lines = speak_lines(
        [s.narration for s in script.shots], language=lang, voice=job["voice"], speed=job["speed"], backend=job["tts"]
    )
    durations = [
        max(s.duration_s, line.duration_s + LEAD_S + TAIL_S) for s, line in zip(script.shots, lines, strict=True)
    ]
    starts, t = [], 0.0
    for d in durations:
        starts.append(t + LEAD_S)
        t += d
    total = round(t, 3)
    spans = mix_lines(lines, starts, total, out / "narration.wav")
    cues = [
        Cue(a, b, text)
        for (s, e), shot in zip(spans, script.shots, strict=True)
        if shot.narration
        for a, b, text in _subtitle_chunks(shot.narration, s, e, lang)
    ]
    retimed = script.model_copy(deep=True)
    for shot, d in zip(retimed.shots, durations, strict=True):
        shot.duration_s = round(d, 3)
    media = [Path(p) for p in job["media"]]
    footage = _footage_shots(retimed, job.get("footage") or [], variant=int(job.get("variant", 0)))
    if footage is not None:
        shots, picks, brand = footage
    else:  # no analysed footage: the brief's media in turn, as before
        picks, brand = [], None
        shots = [
            ShotSpec(duration_s=d, role=s.role, media=media[i % len(media)] if media else None, caption=s.caption)
            for i, (s, d) in enumerate(zip(retimed.shots, durations, strict=True))
        ]
    generated: list[dict[str, Any]] = []
    if job.get("generate"):
        shots, generated = _with_generated_shots(job, retimed, shots, out)
    spec = RenderSpec(
        template=job["template"],
        aspect=Aspect(job["aspect"]),
        height=job["height"],
        language=lang,
        shots=shots,
        cues=cues,
        narration_wav=out / "narration.wav",
        music=Path(job["music"]) if job.get("music") else None,
        title=script.hook,
        product_name=job["product_name"],
        price_text=job["price_text"],
        cta_text=script.cta,
        tagline=script.selling_points[0] if script.selling_points else "",
        brand_colours=brand,
        beat_snap=footage is not None,
        pacing_transitions=footage is not None,
    )
    result = render(spec, out, name=job["id"])
    if footage is not None or generated:
        _record_footage(result.manifest, picks, generated, job.get("generate") or {})
    width, height = frame_size(spec.aspect, spec.height)
    report = check_video(
        result.video,
        expected_duration_s=total,
        expected_size=(width, height),
        caption_boxes=result.caption_boxes,
        safe_area=safe_area(spec.aspect, width, height),
        allow_still_s=max(1.0, result.still_s + 0.1),  # cards the template holds still on purpose
    )
    return {
        "id": job["id"],
        "script": retimed.model_dump(mode="json"),
        "video": str(result.video),
        "cover": str(result.cover),
        "srt": str(result.srt),
        "manifest": str(result.manifest),
        "template": job["template"],
        "tts": sorted({line.backend for line in lines}),
        "quality": {"passed": report.passed, "reasons": report.reasons, "metrics": report.metrics},
        "footage": picks,
        "generated": generated,
        "elapsed_s": round(time.perf_counter() - started, 2),
    }


#: A clip scene moving less than this (analysis ``motion``, 0..1) is shown as a still with a camera move.
STILL_SCENE_MOTION = 0.03


def footage_cache() -> Path:
    """Where asset analyses are kept (by content hash, so every batch and tenant reuses them): the home's cache."""
    from adloom.core.settings import get_settings

    return get_settings().home / "cache" / "assets"


#: Written into a batch folder before rendering: which of the brief's image/video assets analysis could use, and
#: for each left out, why (what the CLI shows the user as "asset not used").
FOOTAGE_FILE = "footage.json"


@dataclass(frozen=True)
class FootageReport:
    """The analysed footage of a brief (:func:`analyze_media`): ``footage`` for the render jobs, ``media`` the
    files the renderer may show (the bad ones left out), ``used`` their paths as the brief names them, ``skipped``
    one line per asset left out, naming it and saying why and what to do."""

    footage: list[dict[str, Any]]
    media: list[str]
    used: list[str]
    skipped: list[str]

    def summary(self) -> dict[str, Any]:
        return {"used": self.used, "skipped": self.skipped}


def analyze_media(
    brief: Brief,
    media: Sequence[str],
    cache_dir: Path,
    progress: Step | None = None,
    *,
    max_hours: float | None = None,
) -> FootageReport:
    """What each of the brief's image and video assets shows (``adloom.creative.assets``), as JSON for the render
    jobs, so each shot can take the scene or photo that fits it. Analysis is cached by content, so a batch
    analyses each file once; ``progress`` hears it (a 2-hour clip takes a while). No footage (shots then take the
    media in turn, as before) when the ``assets`` extra is not installed. An asset that cannot be analysed (no
    video stream, damaged, too small, too long) is left out of the footage and of the media, with a line naming
    it (by its path in the brief) and why. ``max_hours``: the longest clip analysed (default: the setting
    ``asset_max_hours``; the worker passes its own settings')."""
    if not media:
        return FootageReport([], [], [], [])
    assets = [a for a in brief.assets if a.kind in (AssetKind.image, AssetKind.video)]
    try:
        from adloom.creative.assets.analyze import analyze_assets
        from adloom.creative.assets.model import AnalysisLimits, AssetAnalysis
    except ImportError as exc:
        log.warning("footage is assigned to shots in turn: asset analysis needs the assets extra (%s)", exc)
        return FootageReport([], list(media), [a.path for a in assets], [])
    items = [(Path(m), a.description or None, a.role) for m, a in zip(media, assets, strict=True)]
    names = [Path(a.path).name for a in assets]

    def step(f: float) -> None:  # f: the share of all files done, so the file being analysed is f * their count
        if progress is not None:
            progress(round(1000 * f), 1000, f"analysing footage: {names[min(int(f * len(names)), len(names) - 1)]}")

    if max_hours is None:
        from adloom.core.settings import get_settings

        max_hours = get_settings().asset_max_hours
    limits = AnalysisLimits(max_duration_s=max_hours * 3600)
    found = analyze_assets(
        items, cache_dir=cache_dir, limits=limits, keep_going=True, lang=brief.language.value, progress=step
    )
    out, usable, used, skipped = [], [], [], []
    for m, asset, f in zip(media, assets, found, strict=True):
        if isinstance(f, AssetAnalysis):
            out.append(f.model_dump(mode="json"))
            usable.append(m)
            used.append(asset.path)
            continue
        # named as the brief names it (an image was analysed as the renderer's normalised copy)
        reason = f.message.removeprefix(f"{Path(m).name}: ")
        skipped.append(f"asset {asset.path} not used: {reason}")
        log.warning("%s", skipped[-1])
    return FootageReport(out, usable, used, skipped)


def analyze_footage(brief: Brief, media: Sequence[str], cache_dir: Path) -> list[dict[str, Any]]:
    """The footage of :func:`analyze_media` alone (an asset that cannot be analysed is left out with a log line)."""
    return analyze_media(brief, media, cache_dir).footage


def _footage_shots(
    script: Script, analyses_json: Sequence[dict[str, Any]], *, variant: int
) -> tuple[list[Any], list[dict[str, Any] | None], list[str] | None] | None:
    """Shot specs whose media is the scene or photo retrieved for each shot (None without analysed footage),
    the picks as the manifest records them, and the product photos' colours for the template's accent."""
    if not analyses_json:
        return None
    from adloom.creative.assets.model import AssetAnalysis
    from adloom.creative.assets.retrieve import plan_footage
    from adloom.creative.compose import ShotSpec

    analyses = [AssetAnalysis.model_validate(a) for a in analyses_json]
    by_path = {a.path: a for a in analyses}
    picks = plan_footage(script.shots, analyses, embedder=None, variant=variant, language=script.language)
    shots: list[Any] = []
    record: list[dict[str, Any] | None] = []
    for shot, pick in zip(script.shots, picks, strict=True):
        if pick is None:
            shots.append(ShotSpec(duration_s=shot.duration_s, role=shot.role, media=None, caption=shot.caption))
            record.append(None)
            continue
        analysis = by_path[pick.asset_path]
        scene = next(sc for sc in analysis.scenes if sc.id == pick.scene_id)
        photo = scene.photo
        media_path = Path(pick.asset_path)
        subject = photo.saliency_box if photo is not None else None
        if pick.kind == "clip" and scene.motion < STILL_SCENE_MOTION and scene.keyframes:
            # a locked-off shot of a still subject plays as a frozen picture (the gate rightly refuses that):
            # its keyframe gets the stills' slow camera move instead
            media_path = Path(scene.keyframes[len(scene.keyframes) // 2])
            if scene.text:
                subject = (0.0, 0.0, 1.0, 1.0)  # a text card is shown whole, never cropped through its words
        shots.append(
            ShotSpec(
                duration_s=shot.duration_s,
                role=shot.role,
                media=media_path,
                caption=shot.caption,
                media_start_s=pick.start_s,
                media_end_s=pick.end_s if pick.kind == "clip" else None,
                speed=pick.speed,
                subject_box=subject,
                cutout=Path(photo.cutout) if photo is not None and photo.cutout else None,
                avoid_boxes=list(scene.face_boxes),
            )
        )
        record.append(
            {
                "shot": pick.shot_index,
                "asset": Path(pick.asset_path).name,
                "scene": pick.scene_id,
                "kind": pick.kind,
                "start_s": pick.start_s,
                "end_s": pick.end_s,
                "speed": pick.speed,
                "why": pick.why,
            }
        )
    colours = next((a.photo.colours for a in analyses if a.photo is not None and a.photo.colours), None)
    return shots, record, list(colours) if colours else None


def _with_generated_shots(
    job: dict[str, Any], script: Script, shots: list[Any], out: Path
) -> tuple[list[Any], list[dict[str, Any]]]:
    """The shots with generated clips where the job asks for them (:mod:`adloom.serving.generated_shots`): the
    shots no footage covers, or every shot. A clip that failed the clip gate on every seed is not used: its shot
    keeps the footage or backdrop it had, and its record says so."""
    from dataclasses import replace

    from adloom.serving.generated_shots import generate_shots, shots_to_generate

    gen = job["generate"]
    indexes = shots_to_generate(gen["mode"], [s.media is not None for s in shots])
    anchor = _anchor_photo(job)
    records = generate_shots(
        gen, script, indexes, out, anchor=anchor, seed=int(job.get("seed", 0)) * 100 + int(job.get("variant", 0)),
        aspect=job["aspect"],
    )  # fmt: skip
    out_shots = list(shots)
    for rec in records:
        i = rec["shot"]
        rec["used"] = rec.get("gate_passed") is not False
        if rec["used"]:
            out_shots[i] = replace(
                shots[i], media=Path(rec["clip"]), media_start_s=0.0, media_end_s=rec["clip_s"], speed=1.0,
                subject_box=None, cutout=None, avoid_boxes=[],
            )  # fmt: skip
        else:
            kept = "its footage" if shots[i].media is not None else "the designed backdrop"
            first = str(rec.get("gate") or "").splitlines()[0] if rec.get("gate") else "no verdict"
            rec["why_not_used"] = f"failed the clip gate ({first}); the shot keeps {kept}"
            log.info("%s shot %d: generated clip not used: %s", job["id"], i, rec["why_not_used"])
    return out_shots, records


def _anchor_photo(job: dict[str, Any]) -> str | None:
    """The product photo that anchors generated shots' first frame: a packshot (a photo on a plain background,
    which analysis could cut out), else a photo the advertiser hinted for a product shot, else the first photo
    (None without photos: text-to-video only)."""
    photos = [a for a in job.get("footage") or [] if a.get("kind") == "photo"]

    def rank(a: dict[str, Any]) -> tuple[bool, bool]:
        info = (a.get("scenes") or [{}])[0].get("photo") or {}
        return bool(info.get("plain_background")), a.get("role_hint") in ("feature", "offer", "cta")

    if photos:
        return str(max(photos, key=rank)["path"])  # max keeps the first of equals
    from adloom.core.paths import check_upload

    for m in job.get("media") or []:
        try:
            if check_upload(Path(m), ["image", "video"])[0] == "image":
                return str(m)
        except InputError:
            continue
    return None


def _record_footage(
    manifest: Path,
    picks: list[dict[str, Any] | None],
    generated: list[dict[str, Any]] | None = None,
    gen: dict[str, Any] | None = None,
) -> None:
    """Which scene or photo each shot used and why, in the render's manifest (null: the designed backdrop), and
    with generated shots, where each shot came from (``shot_sources``) and the generation records."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["footage"] = picks
    if generated:
        by_shot = {g["shot"]: g for g in generated}
        sources = []
        for i, shot in enumerate(data.get("shots") or []):
            g = by_shot.get(i)
            if g is not None and g.get("used"):
                sources.append("generated")
            elif i < len(picks) and picks[i] is not None:
                sources.append("retrieved")
            else:  # the brief's media in turn (no analysed footage), or the template's backdrop
                sources.append("asset" if shot.get("media") else "designed")
        data["shot_sources"] = sources
        data["generation"] = {
            "model": Path(gen["model"]).name if gen else None,
            "device": (gen or {}).get("device"),
            "mode": (gen or {}).get("mode"),
            "shots": [{k: v for k, v in g.items() if k != "key"} | {"clip": Path(g["clip"]).name} for g in generated],
        }
    _write_json(manifest, data)


#: Written last into a creative's folder by whoever rendered it: its presence means "finished, never redo".
RESULT_FILE = "result.json"
#: One JSON line per finished render in a batch folder: who rendered which creative, when (an audit trail that
#: shows a creative rendered twice, which resuming must never do).
RENDERS_LOG = "renders.log"


def check_templates(templates: Sequence[str] = ()) -> tuple[str, ...]:
    """The templates to rotate through (all of them when none are named); an unknown name is an InputError."""
    from adloom.creative.compose import TEMPLATES

    chosen = tuple(templates) or tuple(TEMPLATES)
    unknown = [t for t in chosen if t not in TEMPLATES]
    if unknown:
        raise InputError(
            f"unknown template(s) {', '.join(unknown)}; choose from {', '.join(TEMPLATES)}", field="template"
        )
    return chosen


def creative_job(
    brief: Brief,
    script: Script,
    out_dir: Path,
    *,
    template: str,
    aspect: Aspect,
    height: int,
    media: Sequence[str],
    music: str | None = None,
    voice: str | None = None,
    tts: str | None = None,
    footage: Sequence[dict[str, Any]] = (),
    variant: int = 0,
    generate: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The plain-data job :func:`render_creative` runs for one script: it crosses a process (or machine)
    boundary, so it holds paths and values only. The creative's folder is ``out_dir/<creative id>``.
    ``footage`` are the media's analyses (:func:`analyze_footage`): with them each shot takes the scene or photo
    that fits it, ``variant`` spreading the creatives of one batch over the footage. ``generate``
    (:func:`adloom.serving.generated_shots.generation_job`) asks for generated shots, seeded from ``seed``."""
    cid = creative_id_for(script)
    return {
        "id": cid,
        "dir": str(out_dir / cid),
        "script": script.model_dump(mode="json"),
        "template": template,
        "aspect": aspect.value,
        "height": height,
        "media": list(media),
        "music": music,
        "voice": voice or brief.voice,
        "speed": brief.speech_speed,
        "tts": tts,
        "product_name": brief.product.name,
        "price_text": _price_text(brief),
        "footage": list(footage),
        "variant": variant,
        "generate": dict(generate or {}),
        "seed": seed,
    }


def finished_result(creative_dir: Path) -> dict[str, Any] | None:
    """The result a finished render left in ``creative_dir`` (None when it never finished there)."""
    done = creative_dir / RESULT_FILE
    if not done.is_file():
        return None
    data: dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
    return data


def render_to_folder(job: dict[str, Any]) -> dict[str, Any]:
    """:func:`render_creative`, then record the finished render where it lies: ``result.json`` in the
    creative's folder (atomically, last), and a line in the batch folder's ``renders.log``.

    Runs where the render ran (a worker process, a Ray node), so a render that finished is never lost or
    redone even when whoever asked for it dies before hearing back: the next run finds ``result.json``.
    ``job["worker"]``, when given, names the asker in the log line."""
    result = render_creative(job)
    folder = Path(job["dir"])
    _write_json(folder / RESULT_FILE, result)
    line = {
        "creative_id": job["id"],
        "worker": job.get("worker"),
        "pid": os.getpid(),
        "elapsed_s": result.get("elapsed_s"),
        "at": time.time(),
    }
    with open(folder.parent / RENDERS_LOG, "a", encoding="utf-8") as log:  # O_APPEND: one write, one whole line
        log.write(json.dumps(line) + "\n")
    return result


def creative_from_result(
    brief: Brief, result: dict[str, Any], scores: dict[str, float], decision: str | None = None
) -> Creative:
    """The Creative a render result makes: rendered when it passed the quality gate (pruned when the ranking
    decision says so), rejected with the gate's reasons (or the render's error) otherwise."""
    quality = result.get("quality") or {}
    passed = bool(quality.get("passed")) and "error" not in result
    reasons = list(quality.get("reasons") or []) + ([result["error"]] if "error" in result else [])
    status = CreativeStatus.rendered if passed else CreativeStatus.rejected
    if passed and decision is not None and decision.startswith("prune"):
        status = CreativeStatus.pruned
    if passed and decision:
        reasons.append(decision)
    return Creative(
        id=result["id"],
        brief_id=brief.id,
        campaign_id=brief.campaign_id,
        script=Script.model_validate(result["script"]),
        status=status,
        video_path=result.get("video"),
        cover_path=result.get("cover"),
        subtitles_path=result.get("srt"),
        manifest_path=result.get("manifest"),
        aigc_label=True,
        scores=scores,
        reasons=reasons,
    )


def render_batch(
    brief: Brief,
    n: int,
    out_dir: Path,
    opts: RenderOptions,
    *,
    base_dir: Path,
    store: Store,
    retriever: LibraryRetriever,
    writer: ScriptWriter,
    seed: int = 0,
    progress: Step | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[CreativeOutcome]:
    """Render ``n`` creatives for ``brief`` into ``out_dir``; resumable (see the module doc). ``warn`` hears, before
    any script is written, each of the brief's assets that cannot be used and why (also in ``footage.json``).

    Returns outcomes ranked best first: delivered creatives before rejected
    ones, then by score. A creative whose render raised is reported as
    rejected with the error and retried on the next run.
    """
    templates, generate = check_render_options(brief, opts)
    media = [str(p) for p in normalise_images(resolve_assets(brief, base_dir), out_dir / "assets")]
    if progress and media:
        progress(0, 1, "analysing footage")
    found = analyze_media(brief, media, footage_cache(), progress)
    media, footage = found.media, found.footage  # an asset analysis could not use is never shown
    _write_json(out_dir / FOOTAGE_FILE, found.summary())
    if warn is not None:
        for line in found.skipped:
            warn(line)
    music = None
    if opts.music:
        music_path = resolve_inside(opts.music, [base_dir], field="music")
        check_upload(music_path, ["audio"])
        music = str(music_path)
    scripts, brief, _ = plan_batch(
        brief, n, out_dir, opts, store=store, retriever=retriever, writer=writer, seed=seed, progress=progress
    )
    aspect = opts.aspect or brief.aspect
    results: list[tuple[dict[str, Any], bool]] = []
    jobs = []
    for i, script in enumerate(scripts):
        previous = finished_result(out_dir / creative_id_for(script))
        if previous is not None:
            results.append((previous, True))
            continue
        jobs.append(
            creative_job(
                brief,
                script,
                out_dir,
                template=templates[i % len(templates)],
                aspect=aspect,
                height=opts.height,
                media=media,
                music=music,
                voice=opts.voice,
                tts=opts.tts,
                footage=footage,
                variant=i,
                generate=generate,
                seed=seed,
            )
        )
    total, done = len(scripts), len(results)
    if progress:
        progress(done, total, f"rendering ({done} already done)" if done else "rendering")
    if jobs:
        # The executor every render item runs through (API batches use the same one, local or Ray): spawned
        # processes, one crashed process failing only its own item; items with generated shots on CUDA are GPU items.
        from adloom.serving.jobs.executors import LocalExecutor

        executor = LocalExecutor(min(opts.workers, len(jobs)))
        try:
            futures = {executor.submit(render_to_folder, job, gpu=bool(generate.get("gpu"))): job for job in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - one creative's failure must not end the batch
                    result = {"id": job["id"], "script": job["script"], "error": f"{type(exc).__name__}: {exc}"}
                results.append((result, False))
                done += 1
                if progress:
                    progress(done, total, f"rendered {job['id']}")
        finally:
            executor.close()
    passed = {
        r["id"]: Script.model_validate(r["script"])
        for r, _ in results
        if (r.get("quality") or {}).get("passed") and "error" not in r
    }
    ranking = rank_batch(
        brief, passed, store, retriever, batch_id=f"{out_dir.name}-{brief_fingerprint(brief, n, opts)}"
    )
    outcomes = []
    for r, resumed in results:
        d = ranking.decisions.get(r["id"])
        scores = ranking.scores.get(r["id"]) or {"prior": prior_score(Script.model_validate(r["script"]), retriever)}
        outcomes.append(
            CreativeOutcome(
                creative_from_result(brief, r, scores, d.reason if d else None), r.get("quality", {}), resumed
            )
        )
    outcomes.sort(
        key=lambda o: (
            not o.delivered,
            o.creative.status == CreativeStatus.pruned,
            -ranking.rank_key(o.creative.id),
            o.creative.id,
        )
    )
    store.save_creatives([o.creative for o in outcomes])
    _write_json(
        out_dir / "ranking.json",
        {
            "method": ranking.method,
            "model_version": ranking.model_version,
            "note": ranking.note,
            "decisions": {cid: {"action": d.action, "reason": d.reason} for cid, d in ranking.decisions.items()},
            "scores": ranking.scores,
        },
    )
    return outcomes


def check_render_options(brief: Brief, opts: RenderOptions) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Refuse options that cannot render before any work (the frame size, workers, templates, the video model for
    generated shots); returns the checked templates and the batch's ``generate`` job part. Cheap: callers such as
    the CLI run it before embedding the library, so a bad flag is refused in a second, not after minutes."""
    from adloom.creative.compose import frame_size

    frame_size(opts.aspect or brief.aspect, opts.height)
    if opts.workers < 1:
        raise InputError(f"workers={opts.workers}: use at least 1", field="workers")
    return check_templates(opts.templates), _generation_for(opts)


def _generation_for(opts: RenderOptions) -> dict[str, Any]:
    """The batch's ``generate`` job part, from the settings and the options' overrides (``{}``: footage only)."""
    from adloom.core.settings import get_settings
    from adloom.serving.generated_shots import generation_job

    settings = get_settings()
    update: dict[str, Any] = {}
    if opts.video_model:
        update["video_model_path"] = Path(opts.video_model)
    if opts.video_device:
        update["video_device"] = opts.video_device
    if update:
        settings = settings.model_copy(update=update)
    from adloom.serving.jobs.executors import local_cuda

    return generation_job(opts.shots, settings, executor_has_gpu=local_cuda)


def _price_text(brief: Brief) -> str:
    from adloom.scripts_gen.templates import price_line

    return price_line(brief)
