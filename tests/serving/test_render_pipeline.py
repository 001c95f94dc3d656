"""The main job end to end at a tiny size: scripts → voice → render → gate → rank → store, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from adloom.core.errors import InputError, PathOutsideRootError, UnsupportedContentError
from adloom.core.registry import registry
from adloom.core.storage import open_store
from adloom.core.types import Asset, Brief
from adloom.scripts_gen.library.retrieval import LibraryRetriever
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving.gallery import write_gallery
from adloom.serving.render_pipeline import RenderOptions, render_batch, resolve_assets
from adloom.serving.scripts_service import ensure_library

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
TINY = RenderOptions(height=360, workers=1)

RUNNER = """
import sys, yaml
from pathlib import Path
from adloom.core.registry import registry
from adloom.core.storage import open_store
from adloom.core.types import Asset, Brief
from adloom.scripts_gen.library.retrieval import LibraryRetriever
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving.render_pipeline import RenderOptions, render_batch
from adloom.serving.scripts_service import ensure_library
samples, out, db = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
brief = Brief.model_validate(yaml.safe_load((samples / "brief_en.yaml").read_text()))
store = open_store(db); ensure_library(store)
r = LibraryRetriever(registry("embedder").create("hashing")); r.build(store.list_library_items())
render_batch(brief, 3, out, RenderOptions(height=240, workers=1), base_dir=samples, store=store, retriever=r,
             writer=ScriptWriter(None))
"""


def _env(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    ensure_library(store)
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    return store, retriever


def _brief(lang: str) -> Brief:
    return Brief.model_validate(yaml.safe_load((SAMPLES / f"brief_{lang}.yaml").read_text()))


def test_batch_renders_gates_ranks_stores_and_writes_a_gallery(tmp_path: Path, real_models: Path):
    store, retriever = _env(tmp_path)
    brief = _brief("zh")
    outcomes = render_batch(
        brief, 2, tmp_path / "out", TINY, base_dir=SAMPLES, store=store, retriever=retriever, writer=ScriptWriter(None)
    )
    assert len(outcomes) == 2
    for o in outcomes:
        c = o.creative
        assert o.delivered, c.reasons
        assert Path(c.video_path).is_file() and Path(c.cover_path).is_file() and Path(c.subtitles_path).is_file()
        assert c.aigc_label and "prior" in c.scores
        assert o.quality["metrics"]["video_codec"] == "h264"
        assert abs(o.quality["metrics"]["duration_s"] - c.script.duration_s) <= 0.3
    scores = [o.creative.scores["prior"] for o in outcomes]
    assert scores == sorted(scores, reverse=True)
    assert {c.id for c in store.creatives_for_brief(brief.id)} == {o.creative.id for o in outcomes}
    page = write_gallery([(brief, outcomes)], tmp_path / "out" / "index.html", title="t")
    html = page.read_text()
    assert html.count("<video") == 2 and "水润保湿精华" in html
    # every line says who wrote it (here the grammar writer) and the script passed the copy review
    assert html.count('class="by by-template"') >= sum(len(o.creative.script.shots) for o in outcomes)


def test_killed_batch_resumes_to_exactly_the_expected_creatives(tmp_path: Path, real_models: Path):
    out = tmp_path / "out"
    db = f"sqlite:///{tmp_path / 'a.db'}"
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(SAMPLES), str(out), db], start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and len(list(out.glob("crv_*/result.json"))) < 1:
            time.sleep(0.2)
            assert proc.poll() is None, "the batch finished or died before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("crv_*/result.json")}
    assert 1 <= len(done_before) < 3
    subprocess.run([sys.executable, "-c", RUNNER, str(SAMPLES), str(out), db], check=True, timeout=600)
    results = sorted(out.glob("crv_*/result.json"))
    assert len(results) == 3
    for name, mtime in done_before.items():  # finished creatives were not redone
        assert (out / name / "result.json").stat().st_mtime_ns == mtime
    planned = json.loads((out / "batch.json").read_text())["scripts"]
    assert {"crv_" + s["id"].removeprefix("scr_") for s in planned} == {p.parent.name for p in results}
    store = open_store(db)
    assert len(store.creatives_for_brief(_brief("en").id)) == 3


def test_bad_assets_are_named(tmp_path: Path):
    brief = _brief("en")
    bad = tmp_path / "fake.jpg"
    bad.write_bytes(b"%PDF-1.4 not an image")
    with pytest.raises(UnsupportedContentError, match="fake.jpg"):
        resolve_assets(brief.model_copy(update={"assets": [Asset(kind="image", path="fake.jpg")]}), tmp_path)
    with pytest.raises(PathOutsideRootError):
        resolve_assets(brief.model_copy(update={"assets": [Asset(kind="image", path="../../etc/passwd")]}), tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedContentError):
        resolve_assets(brief.model_copy(update={"assets": [Asset(kind="image", path="empty.png")]}), tmp_path)


@pytest.mark.parametrize("n", [0, 10_000])
def test_batch_size_is_bounded(tmp_path: Path, n: int):
    store, retriever = _env(tmp_path)
    with pytest.raises(InputError, match="n="):
        render_batch(
            _brief("en"),
            n,
            tmp_path / "o",
            TINY,
            base_dir=SAMPLES,
            store=store,
            retriever=retriever,
            writer=ScriptWriter(None),
        )


def _png_header_only(path: Path, w: int, h: int) -> None:
    """A PNG whose header claims w x h pixels (a decompression bomb shape) without the pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_hostile_and_odd_images_are_refused_or_normalised(tmp_path: Path):
    from PIL import Image

    from adloom.serving.render_pipeline import normalise_images

    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 20_000, 20_000)
    with pytest.raises(InputError, match="bomb.png"):
        normalise_images([bomb], tmp_path / "work")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 10)
    with pytest.raises(InputError, match="corrupt.jpg"):
        normalise_images([corrupt], tmp_path / "work")
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (64, 48), (0, 120, 200, 0)).save(cmyk)
    gif = tmp_path / "anim.gif"
    frames = [Image.new("P", (40, 40), c) for c in (1, 2, 3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = normalise_images([cmyk, gif], tmp_path / "work")
    for p in out:
        with Image.open(p) as img:
            assert img.format == "PNG" and img.mode == "RGB" and getattr(img, "n_frames", 1) == 1


def test_overlong_product_name_is_a_field_error():
    from pydantic import ValidationError

    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text())
    data["product"]["name"] = "x" * 200
    with pytest.raises(ValidationError, match="product.name"):
        Brief.model_validate(data)


def test_emoji_in_captions_renders(tmp_path: Path):
    from adloom.core.types import Aspect, Language, ShotRole
    from adloom.creative.compose import Cue, RenderSpec, ShotSpec, render

    spec = RenderSpec(
        template="ugc_captions",
        aspect=Aspect.square,
        height=180,
        language=Language.en,
        shots=[
            ShotSpec(duration_s=1.5, role=ShotRole.hook, media=SAMPLES / "images" / "serum.png", caption="Glow ✨🔥")
        ],
        cues=[Cue(0.1, 1.4, "So soft 😍 really")],
        title="Glow ✨",
        product_name="Serum 💧",
    )
    result = render(spec, tmp_path, name="emoji")
    assert result.video.is_file() and result.srt.read_text(encoding="utf-8").count("😍") == 1


def test_an_out_folder_of_another_batch_is_refused_or_replaced_on_request(tmp_path: Path):
    from adloom.serving.render_pipeline import plan_batch

    store, retriever = _env(tmp_path)
    out = tmp_path / "out"
    brief = _brief("en")
    kw = dict(store=store, retriever=retriever, writer=ScriptWriter(None))
    first, _, resumed = plan_batch(brief, 2, out, TINY, **kw)
    assert not resumed
    again, _, resumed = plan_batch(_brief("en"), 2, out, TINY, **kw)  # same content, fresh generated ids
    assert resumed and [s.id for s in again] == [s.id for s in first]
    (out / "crv_stale").mkdir()
    with pytest.raises(InputError, match="different brief"):
        plan_batch(brief, 3, out, TINY, **kw)
    replaced, _, resumed = plan_batch(brief, 3, out, RenderOptions(height=360, workers=1, replace_stale=True), **kw)
    assert not resumed and len(replaced) == 3 and not (out / "crv_stale").exists()


# --- ranking by the predictor, stored decisions, the loop's push into the library ---------------------------

TINY_EXPERIMENT = {
    "name": "tiny",
    "seed": 1,
    "data": {"n_creatives": 120, "n_impressions": 60_000, "n_days": 6},
    "split": {"test_days": 1, "calibration_days": 1},
    "lightgbm": {"n_estimators": 20, "min_child_samples": 200, "cvr_min_child_samples": 1000},
    "uncertainty": {"n_bags": 1, "bag_estimators": 10},
}


def _settings(tmp_path: Path):
    from adloom.core.settings import Settings

    return Settings(home=tmp_path / "home")


def _candidate_scripts(n: int, seed: int = 3) -> dict:
    from adloom.analytics.sample_library import generate_sample_library

    return {f"crv_{i:03d}": it.script for i, it in enumerate(generate_sample_library(n, seed=seed))}


def test_rank_batch_without_a_predictor_falls_back_to_the_prior_and_says_so(tmp_path: Path):
    from adloom.serving.render_pipeline import prior_score, rank_batch

    store, retriever = _env(tmp_path)
    scripts = _candidate_scripts(6)
    ranking = rank_batch(_brief("en"), scripts, store, retriever, batch_id="b0")
    assert ranking.method == "prior" and ranking.model_version is None and "no trained predictor" in ranking.note
    assert {cid: s["prior"] for cid, s in ranking.scores.items()} == {
        cid: prior_score(sc, retriever) for cid, sc in scripts.items()
    }
    stored = store.decisions(batch_id="b0")
    assert len(stored) == 6 and {d.action for d in stored} == {"launch"} and {d.metric for d in stored} == {"prior"}
    assert all("no trained predictor" in d.reason for d in stored)


def test_rank_batch_scores_with_the_trained_predictor_prunes_and_stores_reasons(tmp_path: Path):
    from adloom.analytics.experiment import parse_config
    from adloom.core.types import Creative, CreativeStatus
    from adloom.serving.gallery import write_gallery
    from adloom.serving.predictor_service import load_latest, train_from_simulation
    from adloom.serving.render_pipeline import CreativeOutcome, rank_batch

    store, retriever = _env(tmp_path)
    mv, _ = train_from_simulation(store, _settings(tmp_path), parse_config(TINY_EXPERIMENT))
    loaded = load_latest(store)
    assert loaded is not None and loaded[1].version == mv.version
    scripts = _candidate_scripts(24)
    brief = _brief("en")
    ranking = rank_batch(brief, scripts, store, retriever, batch_id="b1", bar=1.0, explore_share=0.1)
    assert ranking.method == "predictor" and ranking.model_version == mv.version
    for s in ranking.scores.values():
        assert s["pctcvr"] == pytest.approx(s["pctr"] * s["pcvr"], rel=1e-6) and s["uncertainty"] > 0
    stored = store.decisions(batch_id="b1")
    assert len(stored) == 24 and {d.model_version for d in stored} == {mv.version}
    actions = {d.action for d in stored}
    assert "prune" in actions and "launch" in actions, [d.reason for d in stored]
    for d in stored:
        assert d.reason.startswith(d.action) and "pCTCVR" in d.reason
        assert (d.score >= d.baseline) == (d.action == "launch") or d.action == "explore"
    # Order: launched by pCTCVR, pruned marked in the gallery.
    pruned_id = next(d.creative_id for d in stored if d.action == "prune")
    c = Creative(
        id=pruned_id,
        script=scripts[pruned_id],
        status=CreativeStatus.pruned,
        scores=ranking.scores[pruned_id],
        reasons=[ranking.decisions[pruned_id].reason],
    )
    page = write_gallery([(brief, [CreativeOutcome(c, {"passed": True})])], tmp_path / "g.html", title="t")
    html = page.read_text()
    assert "PRUNED" in html and "pCTCVR" in html and "prune: pCTCVR" in html


def _feedback(store, cid: str, ctr: float, rng, days: int = 4, impr: int = 3000) -> list[dict]:
    from datetime import UTC, datetime, timedelta

    evs = []
    for d in range(days):
        ts = datetime(2026, 2, 1, 10, tzinfo=UTC) + timedelta(days=d)
        clicks = int(rng.binomial(impr, ctr))
        for kind, n in (
            ("impression", impr),
            ("play_3s", int(rng.binomial(impr, 0.3))),
            ("click", clicks),
            ("conversion", int(rng.binomial(clicks, 0.05))),
        ):
            evs.append({"event_id": f"{cid}-{d}-{kind}", "creative_id": cid, "kind": kind, "ts": ts, "count": n})
    return evs


def test_feedback_retrains_a_new_version_and_pushes_priors_into_the_library(tmp_path: Path):
    import numpy as np

    from adloom.analytics.feedback import ingest_events
    from adloom.core.types import Creative
    from adloom.serving.predictor_service import load_latest, run_loop_once

    store, _ = _env(tmp_path)
    scripts = _candidate_scripts(12, seed=5)
    # Same industry and hook for the two we compare, so the prior is relative to the same Beta fit.
    first = next(iter(scripts.values()))
    store.save_creatives([Creative(id=cid, script=sc, campaign_id="cmp") for cid, sc in scripts.items()])
    rng = np.random.default_rng(0)
    events = []
    ctrs = {cid: 0.004 + 0.003 * i for i, cid in enumerate(scripts)}
    for cid, ctr in ctrs.items():
        events += _feedback(store, cid, ctr, rng)
    assert ingest_events(store, events).rejected == 0
    before = store.library_count()
    res = run_loop_once(store, _settings(tmp_path), seed=0)
    assert store.latest_model() is not None and store.latest_model().version == res.model.version
    assert load_latest(store) is not None
    assert res.n_library_items == 12 and store.library_count() == before + 12
    item = store.get_library_item("lib_crv_011")
    assert item.source == "generated" and item.performance.impressions == 12_000
    assert item.script.industry == scripts["crv_011"].industry and first is not None
    # Retrieval's prior now favours the creative that performed: rebuild and compare best vs worst.
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    best, worst = max(ctrs, key=ctrs.get), min(ctrs, key=ctrs.get)
    assert retriever.prior(f"lib_{best}") > 1.0 > retriever.prior(f"lib_{worst}")
