"""``adloom render`` with the advertiser's own footage (issue 14): each shot takes the scene or photo retrieved
for it instead of the assets in turn, and the manifest says which scene each shot used and why. Real analysis
(PySceneDetect, OpenCV), real retrieval, real ffmpeg renders at 360p; the footage is the project's synthetic set."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from adloom.core.registry import registry
from adloom.core.storage import open_store
from adloom.core.types import Brief
from adloom.creative.assets.synthetic import build_footage_set
from adloom.scripts_gen.library.retrieval import LibraryRetriever
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving.render_pipeline import RenderOptions, render_batch
from adloom.serving.scripts_service import ensure_library

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"


def test_a_brief_with_footage_renders_retrieved_scenes_and_records_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADLOOM_HOME", str(tmp_path / "home"))
    footage = build_footage_set(tmp_path / "footage", seed=0)
    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text())
    data["assets"] = [
        {"kind": "video", "path": footage.long_clip.name, "description": "factory tour, hands-on demos"},
        {"kind": "image", "path": footage.photos[0].name, "description": "product packshot", "role": "feature"},
    ]
    brief = Brief.model_validate(data)
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    ensure_library(store)
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    outcomes = render_batch(
        brief,
        2,
        tmp_path / "out",
        RenderOptions(height=360, workers=1),
        base_dir=footage.root,
        store=store,
        retriever=retriever,
        writer=ScriptWriter(None),
    )
    assert len(outcomes) == 2
    used: list[list[str | None]] = []
    for o in outcomes:
        manifest = json.loads(Path(o.creative.manifest_path or "").read_text(encoding="utf-8"))
        picks = manifest["footage"]
        assert len(picks) == len(o.creative.script.shots)
        chosen = [p for p in picks if p is not None]
        assert chosen, "no shot took footage"
        assert len({p["scene"] for p in chosen}) == len(chosen)  # no scene twice in one creative
        for p in chosen:
            # the clip as given, the photo as the renderer's normalised copy
            assert p["why"] and (p["asset"] == footage.long_clip.name or p["asset"].endswith(".png"))
            if p["kind"] == "clip":
                assert 0 <= p["start_s"] < p["end_s"] and 0.5 <= p["speed"] <= 2.0
        shots = manifest["shots"]
        for pick, shot in zip(picks, shots, strict=True):  # the renderer showed what was planned, in order
            if pick is not None:  # the asset, or for a locked-off scene of a clip its keyframe as a still
                shown = Path(shot["media"]).name
                assert shown == pick["asset"] or (pick["kind"] == "clip" and shown.endswith(".jpg")), (shown, pick)
        assert o.delivered, o.quality  # passed the gate: no frozen stretch, no black, A/V in sync
        used.append([p["scene"] if p else None for p in picks])
    assert used[0] != used[1]  # the two variants spread over the footage
