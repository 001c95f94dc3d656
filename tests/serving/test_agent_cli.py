"""`adloom agent chat` with piped input on the sample agents (offline, --no-wait), and `adloom leads export`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from adloom.serving.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
runner = CliRunner()


def test_chat_with_piped_input_captures_a_lead_and_exports_it(tmp_path: Path):
    lines = "你好，装修一平米大概多少钱？\n量房收费吗？\n我的电话是13812345678\n/quit\n"
    r = runner.invoke(app, ["agent", "chat", str(SAMPLES / "agent_home_renovation.yaml"), "--no-wait"], input=lines)
    assert r.exit_code == 0, r.output
    assert "小林" in r.output and "typing…" in r.output and "policy " in r.output
    assert "lead lead_" in r.output and "phone=13812345678" in r.output
    assert "conversation conv_" in r.output

    out = tmp_path / "leads.csv"
    r = runner.invoke(app, ["leads", "export", "--agent", "hz-renovation", "--out", str(out)])
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [row["phone"] for row in rows] == ["13812345678"] and rows[0]["channel"] == "cli"
    r = runner.invoke(app, ["leads", "export", "--format", "jsonl", "--since", "2000-01-01"])
    assert r.exit_code == 0 and json.loads(r.stdout.splitlines()[0])["phone"] == "13812345678"
    r = runner.invoke(app, ["leads", "export", "--since", "yesterday"])
    assert r.exit_code == 2 and "--since" in r.output


def test_chat_in_english_and_a_broken_agent_file(tmp_path: Path):
    r = runner.invoke(
        app,
        ["agent", "chat", str(SAMPLES / "agent_auto_en.yaml"), "--no-wait", "--lang", "en"],
        input="How much is the compact SUV?\n",
    )
    assert r.exit_code == 0, r.output
    assert "Alex>" in r.output
    bad = tmp_path / "agent.yaml"
    bad.write_text("name: Alex\nbusiness: Shop\nindustry: auto\nknowlege: []\n", encoding="utf-8")
    r = runner.invoke(app, ["agent", "chat", str(bad), "--no-wait"], input="hi\n")
    assert r.exit_code == 2 and "agent.yaml:4" in r.output and "knowlege" in r.output
