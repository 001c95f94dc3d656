"""Per-shot footage retrieval: each shot of a script picks the best scene or photo of the advertiser's analysed
assets (:mod:`.analyze`), trimmed to the shot's length, with a readable reason the manifest records.

A (shot, scene) pair scores

    w_role * role fit + w_text * text match + w_quality * quality + role hint ± variant spread

* **role fit** (0..1): weights over measured scene features per shot role, from
  ``adloom/data/assets/retrieval.yaml`` (demo -> hands and motion, feature -> packshots and close-ups, proof ->
  faces, hook -> motion/sharpness/faces, offer/cta -> text cards and packshots, ...);
* **text match**: the shot's visual (and, lightly, its narration) against the scene's description, caption and
  tag words in the script's language, by the caller's :class:`~adloom.core.protocols.Embedder` (cosine) or by
  word overlap without one; standardised across the candidate scenes of the shot (a z-score clipped to ±2,
  halved), so it ranks scenes whatever the embedder's cosine scale;
* **quality**: sharpness, exposure and steadiness;
* **role hint**: the advertiser's ``role_hint`` for the asset (``Asset.role``) adds a bonus for that role (and
  makes the asset eligible for it), a small penalty for the others.

Constraints: a scene is used once per creative (shots are assigned greedily, best pair first, so a shot whose
favourite is taken falls back to its next best, often another scene of the same asset); a scene must reach
``min_role_fit`` (or be hinted for the role) and ``min_quality``, else the shot gets ``None`` (the renderer's
designed backdrop, or a generated shot). A clip longer than the shot is trimmed to the shot's length; a shorter
one is slowed down to ``min_speed`` or extended into the next scene of the same asset (then used too); one still
too short is picked only when nothing else is eligible, at ``min_speed`` and covering less than the shot (never
frozen frames: the renderer cuts away early). Variant ``k`` penalises the scenes variants ``0..k-1`` took.

The analysis has no per-frame motion, so "the most active window" of a long scene is approximated: roles that
want motion (hook, demo, problem) take the centred window, the others the scene's start.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adloom.core.datafiles import load_package_data
from adloom.core.protocols import Embedder
from adloom.core.types import Language, Shot, ShotRole
from adloom.creative.assets.describe import Phrase, vocabulary
from adloom.creative.assets.model import AssetAnalysis, AssetKind, SceneInfo

__all__ = ["FEATURES", "RetrievalConfig", "RolePriors", "ShotPick", "plan_footage", "role_priors", "scene_features"]

FEATURES = ("motion", "still", "hands", "face", "no_people", "text", "photo", "clip", "cutout", "close_up",
            "sharp", "steady")  # fmt: skip
_MOTION_ROLES = {ShotRole.hook, ShotRole.demo, ShotRole.problem}


class RolePrior(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> RolePrior:
        unknown = set(self.weights) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: {', '.join(FEATURES)}")
        return self


class RolePriors(BaseModel):
    """``adloom/data/assets/retrieval.yaml``: role -> feature weights, and tag -> words per language."""

    model_config = ConfigDict(extra="forbid")
    roles: dict[ShotRole, RolePrior]
    tag_words: dict[str, Phrase] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_role(self) -> RolePriors:
        missing = set(ShotRole) - set(self.roles)
        if missing:
            raise ValueError(f"roles lacks {sorted(missing)}")
        return self


def role_priors() -> RolePriors:
    return load_package_data(RolePriors, "assets", "retrieval.yaml")


class RetrievalConfig(BaseModel):
    """Weights and limits of :func:`plan_footage` (defaults tuned on nothing but sense; see the eval test)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    w_role: float = Field(1.0, ge=0)
    w_text: float = Field(0.5, ge=0)
    w_quality: float = Field(0.3, ge=0)
    narration_weight: float = Field(0.25, ge=0, le=1, description="Share of the narration in the text match.")
    hint_bonus: float = Field(0.5, ge=0, description="Added when the asset's role hint is the shot's role.")
    hint_penalty: float = Field(0.1, ge=0, description="Taken when the asset is hinted for another role.")
    min_role_fit: float = Field(0.15, ge=0, le=1, description="Below this (and unhinted) a scene does not suit.")
    min_quality: float = Field(0.3, ge=0, le=1, description="Below this a scene is too blurred/dark/shaky to use.")
    min_sharpness: float = Field(
        0.05, ge=0, le=1, description="Below this a scene is out of focus whatever its other scores (a blurred hook)."
    )
    still_motion: float = Field(0.03, ge=0, le=1, description="Scenes moving less than this are locked-off stills.")
    min_speed: float = Field(0.65, gt=0, le=1, description="Slowest playback used to stretch a short scene.")
    max_speed: float = Field(1.25, ge=1, description="Fastest playback (plans never need more than 1.0 today).")
    extend_penalty: float = Field(0.6, ge=0, description="Times the share of the shot taken from the next scene.")
    short_penalty: float = Field(2.0, ge=0, description="For a scene too short even slowed down and extended.")
    variant_penalty: float = Field(0.6, ge=0, description="Per earlier variant that took the scene.")
    text_std_floor: float = Field(0.03, gt=0, description="Least spread of text scores standardised by.")


@dataclass(frozen=True)
class ShotPick:
    """The footage one shot uses (what the render manifest records)."""

    shot_index: int
    asset_path: str
    scene_id: str
    kind: Literal["clip", "photo"]
    start_s: float  # the trimmed span within the asset (photo: 0, 0)
    end_s: float
    speed: float  # playback speed to fit the shot (1.0 = as shot); never a freeze
    score: float
    why: str


ShotLike = Shot | tuple[ShotRole | str, str, float]


@dataclass(frozen=True)
class _Query:
    index: int
    role: ShotRole
    visual: str
    narration: str
    duration_s: float


def _queries(shots: Sequence[ShotLike]) -> list[_Query]:
    out = []
    for i, s in enumerate(shots):
        if isinstance(s, Shot):
            out.append(_Query(i, s.role, s.visual, s.narration, s.duration_s))
        else:
            role, visual, duration = s
            out.append(_Query(i, ShotRole(role), visual, "", float(duration)))
    return out


def scene_features(scene: SceneInfo) -> dict[str, float]:
    """The 0..1 features role priors weigh (see retrieval.yaml)."""
    photo = scene.kind is AssetKind.photo
    faces, hands = scene.faces or 0, scene.hands or 0
    return {
        "motion": 0.0 if photo else scene.motion,
        "still": 1.0 if photo else 1.0 - scene.motion,
        "hands": min(hands, 2) / 2,
        "face": 1.0 if faces else 0.0,
        "no_people": 1.0 if not faces and not hands else 0.0,
        "text": 1.0 if scene.text else 0.0,
        "photo": 1.0 if photo else 0.0,
        "clip": 0.0 if photo else 1.0,
        "cutout": 1.0 if scene.photo is not None and scene.photo.plain_background else 0.0,
        "close_up": 1.0 if "close_up" in scene.tags else 0.0,
        "sharp": scene.sharpness,
        "steady": 1.0 - scene.shake,
    }


def _quality(scene: SceneInfo) -> float:
    return 0.45 * scene.sharpness + 0.3 * scene.exposure + 0.25 * (1.0 - scene.shake)


_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[\u2e80-\u9fff\uf900-\ufaff]+")
_STOP = {"a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "with", "for", "is", "are", "it", "its",
         "this", "that", "by", "from", "as", "shot", "scene"}  # fmt: skip


def _tokens(text: str) -> set[str]:
    out: set[str] = set()
    for w in _WORD.findall(text.lower()):
        if w[0] >= "\u2e80":
            out.update(w[i : i + 2] for i in range(max(1, len(w) - 1)))  # CJK: character bigrams
        elif w not in _STOP and len(w) > 1:
            out.add(w[:-1] if w.endswith("s") and len(w) > 3 else w)  # crude plural folding
    return out


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0


def _passage(analysis: AssetAnalysis, scene: SceneInfo, language: Language, priors: RolePriors) -> str:
    key = "zh" if language is Language.zh else "en"
    vocab = vocabulary()
    parts = [scene.description]
    if analysis.caption and analysis.caption not in scene.description:
        parts.append(analysis.caption)
    parts += [getattr(vocab.tags[t], key) for t in scene.tags if t in vocab.tags]
    parts += [getattr(priors.tag_words[t], key) for t in scene.tags if t in priors.tag_words]
    return "; ".join(p for p in parts if p)


def _text_matrix(queries: list[_Query], passages: list[str], embedder: Embedder | None, narration_weight: float
                 ) -> np.ndarray:  # fmt: skip
    """Raw similarity (shots x scenes)."""
    sims = np.zeros((len(queries), len(passages)), dtype=np.float64)
    if not passages:
        return sims
    if embedder is not None:
        docs = np.asarray(embedder.embed_passages(passages), dtype=np.float64)
        for i, q in enumerate(queries):
            sims[i] = docs @ np.asarray(embedder.embed_query(q.visual), dtype=np.float64)
            if q.narration.strip() and narration_weight > 0:
                nar = docs @ np.asarray(embedder.embed_query(q.narration), dtype=np.float64)
                sims[i] = (1 - narration_weight) * sims[i] + narration_weight * nar
        return sims
    toks = [_tokens(p) for p in passages]
    for i, q in enumerate(queries):
        vis = _tokens(q.visual)
        said = _tokens(q.narration) if q.narration.strip() else set()
        for j, t in enumerate(toks):
            s = _overlap(vis, t)
            sims[i, j] = (1 - narration_weight) * s + narration_weight * _overlap(said, t) if said else s
    return sims


def _standardise(raw: np.ndarray, floor: float) -> np.ndarray:
    if raw.shape[1] == 0:
        return raw
    mean = raw.mean(axis=1, keepdims=True)
    std = np.maximum(raw.std(axis=1, keepdims=True), floor)
    return np.clip((raw - mean) / std, -2.0, 2.0) / 2.0


@dataclass(frozen=True)
class _Cand:
    a: int  # analysis index
    s: int  # scene index within the analysis
    analysis: AssetAnalysis
    scene: SceneInfo


@dataclass(frozen=True)
class _Fit:
    start_s: float
    end_s: float
    speed: float
    extra: tuple[int, ...]  # further scene indices of the same asset the span runs into
    penalty: float
    note: str
    short: bool


def _joins(scene: SceneInfo, following: SceneInfo, cfg: RetrievalConfig) -> bool:
    """Whether a shot may run on from ``scene`` into ``following``: it is in focus, and it moves if ``scene``
    does (a moving shot that ends on a locked-off still reads as a frozen picture)."""
    if following.sharpness < cfg.min_sharpness:
        return False
    return scene.motion < cfg.still_motion or following.motion >= cfg.still_motion


def _trim(c: _Cand, role: ShotRole, duration: float, used: set[tuple[int, int]], cfg: RetrievalConfig) -> _Fit:
    sc = c.scene
    if sc.kind is AssetKind.photo:
        return _Fit(0.0, 0.0, 1.0, (), 0.0, "photo", False)
    length = sc.duration_s
    if length >= duration:
        lead = (length - duration) / 2 if role in _MOTION_ROLES else 0.0
        a = sc.start_s + lead
        where = "centred" if lead > 0 else "from its start"
        return _Fit(round(a, 3), round(a + duration, 3), 1.0, (), 0.0, f"trimmed to {duration:.1f} s {where}", False)
    if length >= duration * cfg.min_speed:
        speed = max(cfg.min_speed, min(1.0, length / duration))
        return _Fit(sc.start_s, sc.end_s, round(speed, 3), (), 0.0, f"whole scene at {speed:.2f}x", False)
    # extend into the following scenes of the same asset while they are free and the span still falls short
    scenes, extra, end = c.analysis.scenes, [], sc.end_s
    k = c.s + 1
    while (end - sc.start_s) < duration * cfg.min_speed and k < len(scenes) and (c.a, k) not in used:
        if abs(scenes[k].start_s - end) > 0.05 or not _joins(sc, scenes[k], cfg):
            break
        extra.append(k)
        end = scenes[k].end_s
        k += 1
    span = end - sc.start_s
    if span >= duration * cfg.min_speed:
        take = min(span, duration)
        speed = max(cfg.min_speed, min(1.0, take / duration))
        share = (take - length) / max(take, 1e-6)
        return _Fit(sc.start_s, round(sc.start_s + take, 3), round(speed, 3), tuple(extra),
                    cfg.extend_penalty * share, f"runs {take - length:.1f} s into the next scene", False)  # fmt: skip
    covers = f"too short: covers {span / cfg.min_speed:.1f} of {duration:.1f} s at {cfg.min_speed:.2f}x"
    return _Fit(sc.start_s, round(end, 3), cfg.min_speed, tuple(extra), cfg.short_penalty, covers, True)


def _jitter(seed: int, variant: int, scene: str) -> float:
    h = hashlib.sha256(f"{seed}:{variant}:{scene}".encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 * 1e-3


def _plan_once(queries: list[_Query], cands: list[_Cand], base: np.ndarray, fits_ok: np.ndarray,
               explain: list[list[str]], taken_before: dict[str, list[int]], *, variant: int, seed: int,
               cfg: RetrievalConfig) -> list[ShotPick | None]:  # fmt: skip
    n = len(queries)
    picks: list[ShotPick | None] = [None] * n
    used: set[tuple[int, int]] = set()
    todo = set(range(n))
    spread = np.array([cfg.variant_penalty * len(taken_before.get(c.scene.id, ())) for c in cands])
    jit = np.array([_jitter(seed, variant, c.scene.id) for c in cands])
    for allow_short in (False, True):
        while todo:
            best: tuple[float, int, int, _Fit] | None = None
            for i in sorted(todo):
                q = queries[i]
                for j, c in enumerate(cands):
                    if not fits_ok[i, j] or (c.a, c.s) in used:
                        continue
                    fit = _trim(c, q.role, q.duration_s, used, cfg)
                    if fit.short and not allow_short:
                        continue
                    total = base[i, j] - fit.penalty - spread[j] + jit[j]
                    if best is None or total > best[0]:
                        best = (total, i, j, fit)
            if best is None:
                break
            total, i, j, fit = best
            c = cands[j]
            used.add((c.a, c.s))
            used.update((c.a, k) for k in fit.extra)
            todo.discard(i)
            notes = [*explain[i * len(cands) + j], fit.note]
            earlier = taken_before.get(c.scene.id)
            notes.append(f"taken by variant {', '.join(map(str, earlier))}" if earlier else "unused")
            picks[i] = ShotPick(
                shot_index=queries[i].index, asset_path=c.analysis.path, scene_id=c.scene.id,
                kind="photo" if c.scene.kind is AssetKind.photo else "clip", start_s=fit.start_s, end_s=fit.end_s,
                speed=fit.speed, score=round(float(total), 4), why="; ".join(notes),
            )  # fmt: skip
    return picks


def plan_footage(
    shots: Sequence[ShotLike],
    analyses: Sequence[AssetAnalysis],
    *,
    embedder: Embedder | None,
    variant: int = 0,
    seed: int = 0,
    language: Language,
    config: RetrievalConfig | None = None,
) -> list[ShotPick | None]:
    """One pick per shot (``None``: nothing suitable), in shot order. ``shots`` are :class:`Shot` objects or
    ``(role, visual, duration_s)`` tuples; ``embedder`` None matches words instead of vectors."""
    cfg = config or RetrievalConfig()
    priors = role_priors()
    queries = _queries(shots)
    cands = [_Cand(a, s, an, sc) for a, an in enumerate(analyses) for s, sc in enumerate(an.scenes)]
    if not queries:
        return []
    if not cands:
        return [None] * len(queries)
    language = Language(language)
    raw = _text_matrix(queries, [_passage(c.analysis, c.scene, language, priors) for c in cands], embedder,
                       cfg.narration_weight)  # fmt: skip
    text = _standardise(raw, cfg.text_std_floor)
    feats = [scene_features(c.scene) for c in cands]
    quality = np.array([_quality(c.scene) for c in cands])
    base = np.zeros((len(queries), len(cands)))
    ok = np.zeros((len(queries), len(cands)), dtype=bool)
    explain: list[list[str]] = []
    for i, q in enumerate(queries):
        weights = priors.roles[q.role].weights
        for j, c in enumerate(cands):
            contrib = {f: w * feats[j][f] for f, w in weights.items()}
            fit = min(1.0, max(0.0, sum(contrib.values())))
            hint = c.analysis.role_hint
            hinted = hint is not None and ShotRole(hint) is q.role
            bonus = cfg.hint_bonus if hinted else (-cfg.hint_penalty if hint is not None else 0.0)
            base[i, j] = cfg.w_role * fit + cfg.w_text * text[i, j] + cfg.w_quality * quality[j] + bonus
            sharp_enough = cands[j].scene.sharpness >= cfg.min_sharpness
            # on-screen text cannot be read here: a card saying "50% OFF TODAY" would put a promise in the ad
            # that the brief does not make, so text scenes are used only where the advertiser hinted the asset
            words_ok = not cands[j].scene.text or hinted
            ok[i, j] = (
                quality[j] >= cfg.min_quality and sharp_enough and words_ok and (fit >= cfg.min_role_fit or hinted)
            )
            top = sorted((f for f, v in contrib.items() if v > 0), key=lambda f: -contrib[f])[:2]
            shown = ", ".join(_feature_text(f, c.scene, feats[j][f]) for f in top) or "no fitting features"
            notes = [f"{q.role.value}: {shown} (fit {fit:.2f})", f"text match {raw[i, j]:.2f}",
                     f"quality {quality[j]:.2f}"]  # fmt: skip
            if hint is not None:
                notes.append(f"advertiser hint {ShotRole(hint).value}")
            explain.append(notes)
    taken: dict[str, list[int]] = {}
    for k in range(variant + 1):
        picks = _plan_once(queries, cands, base, ok, explain, taken, variant=k, seed=seed, cfg=cfg)
        if k == variant:
            return picks
        for p in picks:
            if p is not None:
                taken.setdefault(p.scene_id, []).append(k)
    raise AssertionError("unreachable")  # pragma: no cover


def _feature_text(name: str, scene: SceneInfo, value: float) -> str:
    if name == "hands":
        return f"hands {scene.hands}"
    if name == "face":
        return f"faces {scene.faces}"
    if name in ("text", "photo", "clip", "cutout", "close_up", "no_people"):
        return name.replace("_", " ")
    return f"{name} {value:.2f}"
