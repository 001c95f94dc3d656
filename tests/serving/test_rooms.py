"""Live-room lifecycle: room files, a real room process on loopback driven through its HTTP control API
(comments, say, status, stop), and a restart that resumes the schedule.

The room runs the text engine (the script and answers spoken into a transcript at 20× speaking pace), so
the lifecycle is tested without rendering; the media engine is the session's own tests' subject.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from adloom.core.errors import AdloomError, ComplianceError, InputError, NotFoundError, PathOutsideRootError
from adloom.core.settings import get_settings
from adloom.scripts_gen.live_script import load_live_script, product_id, save_live_script
from adloom.serving import rooms as ls
from adloom.serving.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"
runner = CliRunner()


def _room_data(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((SAMPLES / "room_zh.yaml").read_text(encoding="utf-8"))
    data.update(
        id="t_room",
        background=None,
        engine="text",
        speech_rate=20,
        answer_llm=False,
        min_answer_gap_s=0.3,
        greet_every_s=0.5,
    )
    data.update(changes)
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "room.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_sample_room_loads() -> None:
    rf = ls.load_room(SAMPLES / "room_zh.yaml")
    assert rf.room_id == "room_sample_zh" and rf.preset.industry == "beauty" and len(rf.room.products) == 3
    assert rf.room.background and Path(rf.room.background).is_file()  # resolved next to the room file
    assert [e.product_ids for e in ls.build_schedule(rf).entries][2] == (product_id(rf.room.products[0]),)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"prodcts": []}, "prodcts", "unknown field"),
        ({"industry": "toys"}, "industry", "industry"),
        ({"min_answer_gap_s": -1}, "min_answer_gap_s", "min_answer_gap_s"),
        ({"schedule": [{"start": "08:00", "products": ["不存在的商品"]}]}, "schedule[0].products", "不存在的商品"),
        ({"schedule": [{"start": "8am", "products": ["温和洁面乳"]}]}, "schedule.0.start", "schedule.0.start"),
        ({"id": "../evil"}, "id", "letters, digits"),
    ],
)
def test_bad_room_files_name_the_field(tmp_path: Path, change: dict, field: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        ls.load_room(_write(tmp_path, _room_data(**change)))
    assert err.value.field == field and message in str(err.value)


def test_bad_product_field_is_named(tmp_path: Path) -> None:
    data = _room_data()
    data["products"][1]["price"] = -5
    with pytest.raises(InputError) as err:
        ls.load_room(_write(tmp_path, data))
    assert err.value.field == "products.1.price" and "products.1.price" in str(err.value)


def test_paths_stay_inside_allowed_roots(tmp_path: Path) -> None:
    with pytest.raises(PathOutsideRootError):
        ls.load_room(_write(tmp_path, _room_data(background="/etc/passwd")))
    with pytest.raises(InputError, match=r"outputs\[1\]"):
        ls.output_specs(["null", "ftp://x"], [tmp_path])
    with pytest.raises(PathOutsideRootError):
        ls.output_specs(["file:/etc/x.mp4"], [tmp_path])


def _status(room_id: str) -> dict[str, Any]:
    [row] = ls.room_status(room_id)
    return row


def _wait(room_id: str, pred, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = _status(room_id)
        if row.get("running") and "director" in row and pred(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"room never reached the expected state: {json.dumps(row, ensure_ascii=False)[:800]}")
        time.sleep(0.2)


def _transcript(folder: Path) -> list[dict[str, Any]]:
    path = folder / "transcript.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_room_lifecycle_over_the_control_api(tmp_path: Path) -> None:
    path = _write(tmp_path, _room_data())
    info = ls.start_room(path, wait_s=120)
    folder = info.folder
    assert folder == get_settings().home / "live" / "t_room"
    assert (folder / "run.json").stat().st_mode & 0o777 == 0o600  # the token is not world-readable
    try:
        with pytest.raises(InputError, match="already running"):
            ls.start_room(path)
        outcomes = {
            ls.comment("t_room", "小王", "多少钱")["outcome"],
            ls.comment("t_room", "小李", "油皮能用吗？")["outcome"],
            ls.comment("t_room", "阿花", "主播好")["outcome"],
        }
        assert outcomes == {"queued", "greetings"}
        assert ls.comment("t_room", "troll", "傻逼主播")["kind"] == "abuse"
        assert ls.say("t_room", "欢迎新来的朋友，今天有福利。")["kind"] == "say"
        with pytest.raises(InputError):
            ls.say("t_room", " ")
        bad = ls.RunInfo(info.room_id, info.pid, info.port, "wrong-token", folder)
        with pytest.raises(AdloomError, match="401"):
            ls.call(bad, "GET", "/status")
        # over loopback too: a non-ASCII token is a 401 (not a 500), a streamed oversized body a 413
        conn = http.client.HTTPConnection("127.0.0.1", info.port, timeout=10)
        conn.putrequest("GET", "/status")
        conn.putheader("X-Adloom-Token", "令牌".encode())
        conn.endheaders()
        assert conn.getresponse().status == 401
        conn = http.client.HTTPConnection("127.0.0.1", info.port, timeout=10)
        chunks = iter([b'{"viewer": "v", "text": "', b"x" * 40_000, b'"}'])
        conn.request("POST", "/comment", body=chunks, headers={"X-Adloom-Token": info.token}, encode_chunked=True)
        assert conn.getresponse().status == 413

        row = _wait(
            "t_room",
            lambda r: (
                r["interaction"]["purchase_replies"] >= 1
                and r["interaction"]["answers"] >= 1
                and r["interaction"]["says"] >= 1
                and r["interaction"]["welcomes"] >= 1
                and r["director"]["segments_completed"] >= 12
            ),
        )
        assert row["engine"] == "text" and row["intake"]["received"] == 4 and row["intake"]["abuse"] == 1
        lines = _transcript(folder)
        spoken = [x["text"] for x in lines]
        assert any(t.startswith("@小王 ") and "129" in t for t in spoken)  # price template, product on air
        assert any(t.startswith("@小李 ") and "油皮" in t for t in spoken)  # answered from the knowledge base
        assert "欢迎新来的朋友，今天有福利。" in spoken
        assert any(t.startswith("欢迎阿花") for t in spoken)
        assert "troll" in (folder / "abuse.jsonl").read_text(encoding="utf-8")
        # an interjection cut a script line at a word boundary and the line resumed where it stopped
        cut = next(x for x in lines if x.get("completed") is False)
        rest = next(x for x in lines[lines.index(cut) + 1 :] if x.get("id") == cut["id"])
        script = load_live_script(folder / "live_script.yaml")
        full = next(line.text for line in script.lines() if line.id == cut["id"])
        assert cut["text"] + rest["text"] == full and rest["completed"] is True
    finally:
        stopped = ls.stop_room("t_room")
    assert stopped == {"room_id": "t_room", "stopped": True, "forced": False}
    assert not (folder / "run.json").exists()
    saved = _status("t_room")
    assert saved["running"] is False
    state = saved["saved_state"]
    assert state["segments_completed"] >= 12 and state["extra"]["intake"]["received"] == 4
    with pytest.raises(NotFoundError, match="not running"):
        ls.say("t_room", "还在吗")

    # restart by id: the schedule resumes after the last completed line; counters carry on
    ls.start_room("t_room", wait_s=120)
    try:
        row = _status("t_room")
        assert row["director"]["restarts"] == 1
        assert row["director"]["resumed_from"] == state["last_completed"]
        assert row["intake"]["received"] == 4 and row["interaction"]["says"] == 1
        first_after = _wait("t_room", lambda r: r["director"]["segments_completed"] > state["segments_completed"])
        assert first_after["director"]["segments_completed"] > state["segments_completed"]
        again = [x for x in _transcript(folder) if "id" in x][len([x for x in lines if "id" in x]) :]
        assert not any(x["id"] == "open/0" for x in again[:1])  # no re-opening of the show
    finally:
        ls.stop_room("t_room")


def test_readme_command_starts_the_bundled_sample_room(monkeypatch: pytest.MonkeyPatch) -> None:
    """README: `adloom live start adloom/serving/samples/room_zh.yaml`, exactly, from the repository root, on a
    fresh ADLOOM_HOME: the room starts (background included: it is copied into the state folder once, when
    the room is defined), a posted question is answered, and the transcript records script and answer.

    The room's LLM is pointed at a loopback port that refuses connections (the far side of a network call),
    so the answer comes from the room's template path, as it does whenever its LLM is down: the embedded
    llama.cpp build segfaults on its first generation on the test machines, which is not this test's subject.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = s.getsockname()[1]
    monkeypatch.setenv("ADLOOM_LLM_BACKEND", "openai")
    monkeypatch.setenv("ADLOOM_LLM_URL", f"http://127.0.0.1:{refused}/v1")
    monkeypatch.setenv("ADLOOM_LLM_RETRIES", "0")
    get_settings.cache_clear()
    monkeypatch.chdir(SAMPLES.parents[2])
    result = runner.invoke(app, ["live", "start", "adloom/serving/samples/room_zh.yaml"])
    assert result.exit_code == 0, result.output
    assert "room room_sample_zh is live" in result.output
    folder = get_settings().home / "live" / "room_sample_zh"
    try:
        stored = yaml.safe_load((folder / "room.yaml").read_text(encoding="utf-8"))
        assert stored["background"] == "assets/background.png"
        assert (folder / "assets" / "background.png").read_bytes() == (SAMPLES / "images" / "serum.png").read_bytes()
        posted = runner.invoke(app, ["live", "comment", "room_sample_zh", "油皮能用吗？", "--viewer", "小李"])
        assert posted.exit_code == 0 and "question: queued" in posted.output, posted.output
        deadline = time.monotonic() + 90
        while not any(x["text"].startswith("@小李 ") and "油皮" in x["text"] for x in _transcript(folder)):
            assert time.monotonic() < deadline, f"no answer; transcript: {_transcript(folder)[-5:]}"
            time.sleep(0.3)
        status = runner.invoke(app, ["live", "status", "room_sample_zh"])
        assert status.exit_code == 0, status.output
        interaction = json.loads(status.output)["interaction"]
        assert interaction["answers"] + interaction["canned"] == 1, interaction
    finally:
        stopped = runner.invoke(app, ["live", "stop", "room_sample_zh"])
    assert stopped.exit_code == 0 and "room room_sample_zh stopped" in stopped.output
    spoken = _transcript(folder)
    assert any(x["text"].startswith("@小李 ") and "油皮" in x["text"] for x in spoken)  # from the knowledge base
    assert any(x.get("id", "").startswith("open/") for x in spoken)  # the script ran before and around it
    saved = json.loads((folder / "state.json").read_text(encoding="utf-8"))["extra"]["interaction"]
    assert saved["answers"] + saved["canned"] == 1


def test_assets_are_copied_once_when_the_room_is_defined(tmp_path: Path) -> None:
    """Background, photo-avatar folder and adopted script live next to the room file; defining the room copies
    them into its state folder and the stored room.yaml names the copies, so the stored room loads there
    (the room process's view) even after the originals are gone. A bad output path fails at definition."""
    (tmp_path / "look").mkdir()
    (tmp_path / "look" / "portrait.png").write_bytes((SAMPLES / "images" / "serum.png").read_bytes())
    (tmp_path / "bg.png").write_bytes((SAMPLES / "images" / "serum_lilac.png").read_bytes())
    written = runner.invoke(
        app, ["live", "script", "--room", str(_write(tmp_path, _room_data())), "--out", str(tmp_path / "s.yaml")]
    )
    assert written.exit_code == 0, written.output
    data = _room_data(avatar="photo:look", background="bg.png", script="s.yaml", outputs=["file:rec/room.mp4"])
    folder = ls.define_room(ls.load_room(_write(tmp_path, data, "assets.yaml")))
    stored = yaml.safe_load((folder / "room.yaml").read_text(encoding="utf-8"))
    assert (stored["avatar"], stored["background"], stored["script"], stored["outputs"]) == (
        "photo:assets/avatar_photo",
        "assets/background.png",
        "assets/script.yaml",
        ["file:rec/room.mp4"],  # relative outputs are written inside the state folder
    )
    assert (folder / "assets" / "avatar_photo" / "portrait.png").is_file()
    assert (folder / "room.yaml").stat().st_mode & 0o777 == 0o600
    for name in ("look/portrait.png", "bg.png", "s.yaml"):
        (tmp_path / name).unlink()
    again = ls.load_room(folder / "room.yaml")
    assert Path(again.room.background or "") == folder.resolve() / "assets" / "background.png"
    assert ls.define_room(again) == folder  # redefining from the state folder keeps the copies in place
    assert (folder / "assets" / "background.png").read_bytes() == (SAMPLES / "images" / "serum_lilac.png").read_bytes()
    with pytest.raises(PathOutsideRootError, match=r"outputs\[0\]"):
        ls.define_room(ls.load_room(_write(tmp_path, _room_data(id="bad_out", outputs=["file:/etc/x.mp4"]), "b.yaml")))


def test_room_defined_through_the_api_is_stored_and_found() -> None:
    rf = ls.parse_room(_room_data(id="api_room"), source="POST /rooms")
    folder = ls.define_room(rf)
    assert (folder / "room.yaml").is_file() and ls.resolve_room_ref("api_room") == "api_room"
    assert ls.load_room(folder / "room.yaml").room == rf.room
    [row] = ls.room_status("api_room")
    assert row == {"room_id": "api_room", "running": False, "saved_state": {}}
    with pytest.raises(InputError, match=r"POST /rooms: unknown field\(s\) colour"):
        ls.parse_room(_room_data(colour="red"), source="POST /rooms")


def test_unknown_room_and_cli_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="unknown room 'nosuch'"):
        ls.room_status("nosuch")
    result = runner.invoke(app, ["live", "status", "nosuch"])
    assert result.exit_code == 3 and "unknown room" in result.output
    result = runner.invoke(app, ["live", "start", str(_write(tmp_path, _room_data(industry="toys")))])
    assert result.exit_code == 2 and "industry" in result.output


def test_cli_writes_a_script_the_room_adopts(tmp_path: Path) -> None:
    room_path = _write(tmp_path, _room_data())
    out = tmp_path / "live_script.yaml"
    result = runner.invoke(app, ["live", "script", "--room", str(room_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    script = load_live_script(out)
    assert len(script.products) == 3
    # the person edits a line and adopts the script in the room
    script.products[0].lines[0].text = "先来看今天的主推：水润保湿精华。"
    save_live_script(script, out)
    rf = ls.load_room(_write(tmp_path, _room_data(script="live_script.yaml"), "adopt.yaml"))
    runtime = ls.RoomRuntime(rf, tmp_path / "state")
    assert runtime.script.id == script.id
    assert runtime.director.next_segment().text == script.opening[0].text
    # an edit that invents a price is refused when the room starts
    script.products[0].lines[1].text = "今天只要9.9元。"
    save_live_script(script, out)
    with pytest.raises(ComplianceError, match="9.9"):
        ls.RoomRuntime(rf, tmp_path / "state2")


@pytest.mark.slow
def test_media_room_streams_to_a_recording_and_keeps_its_stream_key_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same lifecycle on the media engine (rig avatar on the sample's background → espeak-ng → H.264/AAC
    MP4 recording, plus an RTMP push whose server refuses, so the output reconnects and logs it): the room
    answers over the control API, its recording grows, and stop finalises it and saves the state. The
    stream key appears in no log, no status (API and CLI), no file name, and room.yaml is private."""
    monkeypatch.setenv("ADLOOM_TTS_BACKEND", "espeak")  # instant, exact timings; Kokoro is the session's subject
    key = "sk-LEAKCHECK-5b8e2f91d4"
    with socket.socket() as s:  # a loopback port nobody listens on: every RTMP connect is refused
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    rtmp = f"rtmp://127.0.0.1:{closed_port}/live/{key}"
    data = _room_data(id="m_room", engine="media", outputs=["file:rec.mp4", rtmp], speech_rate=1)
    data["background"] = "images/serum.png"  # the sample's own background, relative to the room file
    room_path = tmp_path / "m_room.yaml"
    room_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "serum.png").write_bytes((SAMPLES / "images" / "serum.png").read_bytes())
    info = ls.start_room(room_path, wait_s=180)
    try:
        assert ls.comment("m_room", "小王", "多少钱")["outcome"] == "queued"
        row = _wait(
            "m_room",
            lambda r: (
                r["session"]["interjections_spoken"] >= 1
                and r["session"]["segments_completed"] >= 1
                and any(o["reconnects"] + o["attempts"] >= 2 for o in r["session"]["outputs"] if "rtmp" in o["name"])
            ),
            timeout=240,
        )
        assert row["engine"] == "media" and row["session"]["state"] == "running"
        assert row["interaction"]["purchase_replies"] == 1
        status_cli = runner.invoke(app, ["live", "status", "m_room"])
        table_cli = runner.invoke(app, ["live", "status"])
        assert status_cli.exit_code == 0 and "live/***" in status_cli.output
    finally:
        ls.stop_room("m_room")
    rec = info.folder / "rec.mp4"
    assert rec.is_file() and rec.stat().st_size > 10_000
    state = json.loads((info.folder / "state.json").read_text(encoding="utf-8"))
    assert state["segments_completed"] >= 1 and state["extra"]["interaction"]["purchase_replies"] == 1
    room_log = (info.folder / "room.log").read_text(encoding="utf-8")
    assert "live output rtmp:rtmp://127.0.0.1" in room_log and "/live/***" in room_log  # the reconnects, masked
    assert (info.folder / "room.yaml").stat().st_mode & 0o777 == 0o600
    assert key in (info.folder / "room.yaml").read_text(encoding="utf-8")  # the one place it must be
    texts = {
        "status": json.dumps(row, ensure_ascii=False),
        "cli status": status_cli.output + table_cli.output,
        **{
            p.name: p.read_text(encoding="utf-8", errors="replace")
            for p in info.folder.rglob("*")
            if p.is_file() and p.name != "room.yaml" and p.suffix not in (".mp4", ".png")
        },
    }
    leaks = [name for name, text in texts.items() if key in text]
    names = [str(p) for p in info.folder.rglob("*") if key in p.name]
    assert leaks == [] and names == []
    assert (info.folder / "assets" / "background.png").read_bytes() == (SAMPLES / "images" / "serum.png").read_bytes()


# --------------------------------------------------------------------------- the script over a simulated day


def test_sample_room_script_over_a_simulated_day_never_repeats_a_line_within_10_minutes() -> None:
    spoken = ls.simulate_script(SAMPLES / "room_zh.yaml", 24)
    assert spoken[0][0] == 0.0 and 23.9 * 3600 < spoken[-1][0] < 24 * 3600
    assert all(a[0] < b[0] for a, b in zip(spoken, spoken[1:], strict=False))
    report = ls.variety_report(spoken, window_s=600)
    assert report.lines == len(spoken) > 10_000 and report.distinct > 300
    assert report.min_gap_s is not None and report.min_gap_s >= 600 and not report.repeated_within_window
    assert len(report.repeat_rate_per_hour) == 24 and all(0 <= r < 1 for r in report.repeat_rate_per_hour)
    # the schedule plays out on the simulated clock: from 20:00 only the serum is presented
    late = [text for t, text in spoken if t > 20.5 * 3600 and "水润保湿精华" not in text]  # the opening names all
    assert len(late) > 100 and not any("修护保湿面霜" in text or "温和洁面乳" in text for text in late)


def test_simulated_script_is_repeatable_per_seed_and_the_window_is_a_room_setting(tmp_path: Path) -> None:
    room = _write(tmp_path, _room_data())
    half_hour = ls.simulate_script(room, 0.5, seed=1)
    assert half_hour == ls.simulate_script(room, 0.5, seed=1)
    assert half_hour != ls.simulate_script(room, 0.5, seed=2)
    off = ls.simulate_script(_write(tmp_path, _room_data(variety_window_min=0), "off.yaml"), 0.5)
    assert ls.variety_report(off, window_s=600).repeated_within_window  # no budget: the same lines come back
    with pytest.raises(InputError, match="hours"):
        ls.simulate_script(room, 0)


def test_variety_report_counts_repeats_per_hour_and_the_min_gap() -> None:
    spoken = [(0.0, "a"), (100.0, "b"), (700.0, "a"), (3600.0, "a"), (3700.0, "a"), (7300.0, "c")]
    report = ls.variety_report(spoken, window_s=600)
    assert (report.lines, report.distinct) == (6, 3)
    assert report.repeat_rate_per_hour == [1 / 3, 1 / 2, 0.0]
    assert report.min_gap_s == 100.0 and report.repeated_within_window


def test_cli_simulate_prints_the_figures(tmp_path: Path) -> None:
    room = _write(tmp_path, _room_data())
    result = runner.invoke(app, ["live", "simulate", str(room), "--hours", "1"])
    assert result.exit_code == 0, result.output
    for text in ("lines spoken:", "distinct lines:", "repeat rate per hour", "min gap", "repeated within 10 min: no"):
        assert text in result.output
    result = runner.invoke(app, ["live", "simulate", str(room), "--hours", "1", "--json"])
    figures = json.loads(result.output)
    assert figures["repeated_within_window"] is False and figures["lines"] > 500
