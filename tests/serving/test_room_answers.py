"""Issue 16 in the running room: the bundled sample room (text engine, real room process on loopback) with
the serum on air gets the issue's questions posted, and its transcript shows each answered from the serum's
own facts or honestly declined."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.serving import rooms as ls

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"

QUESTIONS = {  # viewer → question; the serum is the only product on air
    "v1": "孕妇可以用吗",
    "v2": "保质期多久",
    "v3": "发货要多久",
    "v4": "和某某大牌比哪个好",
    "v5": "能治痘吗",
    "v6": "过敏体质能用吗",
    "v7": "怎么买",
    "v8": "油皮能用吗",
}


def _transcript(folder: Path) -> list[dict[str, Any]]:
    path = folder / "transcript.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _answers(folder: Path) -> dict[str, str]:
    out = {}
    for row in _transcript(folder):
        for viewer in QUESTIONS:
            if row["text"].startswith(f"@{viewer} "):
                out[viewer] = row["text"].removeprefix(f"@{viewer} ")
    return out


def test_the_issues_questions_in_the_sample_room_transcript(tmp_path: Path) -> None:
    data = yaml.safe_load((SAMPLES / "room_zh.yaml").read_text(encoding="utf-8"))
    data.update(
        id="t_answers",
        background=None,
        engine="text",
        speech_rate=20,
        answer_llm=False,
        min_answer_gap_s=0.2,
        greet_every_s=30,
        schedule=[{"start": "00:00", "products": ["水润保湿精华"]}],
    )
    path = tmp_path / "room.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    info = ls.start_room(path, wait_s=120)
    try:
        for viewer, question in QUESTIONS.items():
            assert ls.comment("t_answers", viewer, question)["outcome"] == "queued"
        deadline = time.monotonic() + 120
        while len(_answers(info.folder)) < len(QUESTIONS):
            assert time.monotonic() < deadline, f"unanswered; transcript: {_transcript(info.folder)[-8:]}"
            time.sleep(0.3)
    finally:
        ls.stop_room("t_answers")
    said = _answers(info.folder)
    assert "孕妇可以用" not in said["v1"] and "医生" in said["v1"]
    assert "六个月内用完" in said["v2"] and "三年" not in said["v2"]
    assert "付款后48小时内发货" in said["v3"]
    assert "不做比较" in said["v4"] and "某某" not in said["v4"] and "129" not in said["v4"]
    assert "不是药品" in said["v5"] and "医生" in said["v5"]
    assert "过敏" in said["v6"] and "试用" in said["v6"]
    assert "129" in said["v7"]  # the room's purchase template: price from the product data
    assert "油皮也可以少量使用" in said["v8"]
    checker = ComplianceChecker()
    for text in said.values():
        assert checker.check(text, language="zh", industry="beauty") == [], text
