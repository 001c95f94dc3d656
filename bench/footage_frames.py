"""The frame grabs of ads made from footage shown in the README (docs/footage/*.png): three creatives rendered by
``render_batch`` from the project's synthetic footage set (adloom.creative.assets.synthetic: a 12-scene clip with
a portrait, drawn hands and text cards, a product pan, the sample photos), one frame per shot, side by side; the
picks and why are printed. Synthetic media, so it shows the mechanics, not an advertiser's real footage.

Run: ``ADLOOM_MEDIAPIPE_PYTHON=.venv-mediapipe/bin/python .venv/bin/python bench/footage_frames.py [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import yaml
from PIL import Image

from adloom.core.registry import registry
from adloom.core.storage import open_store
from adloom.core.types import Aspect, Brief
from adloom.creative.assets.synthetic import build_footage_set
from adloom.creative.compose.media import ffmpeg_exe
from adloom.scripts_gen.library.retrieval import LibraryRetriever
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving.render_pipeline import RenderOptions, render_batch
from adloom.serving.scripts_service import ensure_library

REPO = Path(__file__).resolve().parents[1]

ZH_VACUUM = """
industry: home
objective: sales
platform: douyin
language: zh
aspect: "9:16"
duration_s: 20
audience: 小户型的上班族父母
tone: 温暖、实在
product:
  name: 清风扫地机器人S2
  brand: 清风
  description: 一款激光导航的超薄扫地机器人，集尘座自动集尘。
  selling_points:
    - 激光导航，每个房间都能规划
    - 集尘座可装60天灰尘
    - 机身8厘米高，能钻进沙发底
  price: 1999
  currency: CNY
  offer: 本周下单送备用边刷
"""


def sheet(video: Path, out: Path, height: int = 360) -> None:
    """One frame per shot (at 60 % of it), scaled to ``height`` and placed side by side."""
    manifest = json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))
    t, frames = 0.0, []
    for shot in manifest["shots"]:
        at = t + shot["duration_s"] * 0.6
        t += shot["duration_s"]
        grab = out.parent / f"_frame{len(frames)}.png"
        cmd = [ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{at:.2f}", "-i", str(video), "-frames:v", "1", str(grab)]
        subprocess.run(cmd, check=True)
        with Image.open(grab) as im:
            frames.append(im.convert("RGB").resize((int(im.width * height / im.height), height)))
        grab.unlink()
    canvas = Image.new("RGB", (sum(f.width for f in frames) + 6 * (len(frames) - 1), height), (255, 255, 255))
    x = 0
    for f in frames:
        canvas.paste(f, (x, 0))
        x += f.width + 6
    canvas.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "footage")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="adloom-footage-"))
    portrait = REPO / "adloom" / "digital_human" / "avatar" / "samples" / "astronaut.jpg"
    fs = build_footage_set(root / "footage", seed=0, portrait=portrait)
    store = open_store(f"sqlite:///{root / 'a.db'}")
    ensure_library(store)
    retriever = LibraryRetriever(registry("embedder").create("hashing"))
    retriever.build(store.list_library_items())
    photo = next(p.name for p in fs.photos if p.stem == "robot_vacuum")
    en = ("factory tour, hands-on demos, customer testimonial", "robot vacuum close-up", "robot vacuum packshot")
    zh = ("工厂参观、上手演示和顾客证言", "扫地机器人特写", "扫地机器人产品图")
    jobs = [("en", "16:9", "remix_en_16x9.png", *en), ("en", "9:16", "remix_en_9x16.png", *en),
            ("zh", "9:16", "remix_zh_9x16.png", *zh)]  # fmt: skip
    for k, (lang, aspect, name, clip_caption, pan_caption, photo_caption) in enumerate(jobs):
        if lang == "zh":
            data = yaml.safe_load(ZH_VACUUM)
        else:
            data = yaml.safe_load((REPO / "adloom" / "serving" / "samples" / "brief_en.yaml").read_text())
        data["assets"] = [
            {"kind": "video", "path": fs.long_clip.name, "description": clip_caption},
            {"kind": "video", "path": fs.product_pan.name, "description": pan_caption},
            {"kind": "image", "path": photo, "description": photo_caption, "role": "feature"},
        ]
        (outcome,) = render_batch(
            Brief.model_validate(data),
            1,
            root / f"out_{k}",
            RenderOptions(height=720, workers=1, aspect=Aspect(aspect)),
            base_dir=fs.root,
            store=store,
            retriever=retriever,
            writer=ScriptWriter(None),
            seed=k,
        )
        video = Path(outcome.creative.video_path or "")
        print(f"{name}: {lang} {aspect} {outcome.creative.status.value}")
        manifest = json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))
        for shot, pick in zip(manifest["shots"], manifest["footage"], strict=True):
            print(f"  {shot['role']:<12} {pick['scene'] + ': ' + pick['why'] if pick else 'designed card'}")
        sheet(video, args.out / name)


if __name__ == "__main__":
    main()
