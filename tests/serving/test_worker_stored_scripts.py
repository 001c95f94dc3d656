"""A render batch of stored scripts (the console's Render after picking and editing): the worker renders exactly
those scripts, edits included, instead of writing new ones; a script that is gone fails only its own item."""

from __future__ import annotations

from pathlib import Path

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.storage.queue import JobQueue
from adloom.core.types import BatchStatus
from adloom.scripts_gen.writer import ScriptWriter
from adloom.serving.jobs.worker import start_in_process
from adloom.serving.script_edit import ShotEdit, checker, edit_shots
from adloom.serving.scripts_service import build_retriever, ensure_library, generate_scripts
from tests.serving.test_worker import _brief, _wait_ended, sqlite_env  # noqa: F401 - the fixture


def test_a_batch_of_stored_scripts_renders_those_scripts(sqlite_env: tuple[Settings, Store]):  # noqa: F811
    settings, root = sqlite_env
    acme = root.scoped("acme")
    brief = _brief(settings, acme)
    ensure_library(acme)
    run = generate_scripts(brief, 1, store=acme, retriever=build_retriever(acme, settings), writer=ScriptWriter(None))
    (script,) = run.scripts
    line = "A quieter clean for every room."
    edit_shots(acme, checker(None), script.id, [ShotEdit(1, narration=line)])
    q = JobQueue(acme)
    batch = q.create_batch(brief_id=brief.id, n=2, script_ids=[script.id, "scr_gone"], defaults={"height": 360})
    handle = start_in_process(root, settings, slots=1)
    try:
        ended = _wait_ended(q, batch.id, timeout=240)
    finally:
        handle.stop()
    assert ended.status == BatchStatus.partially_succeeded, list(q.iter_errors(batch.id))
    (result,) = list(q.iter_results(batch.id))
    creative = acme.get_creative(result["creative_id"])
    assert creative.script.id == script.id and creative.script.shots[1].narration == line
    assert creative.script.provenance.lines["shots[1].narration"].author == "advertiser"
    assert line.rstrip(".") in Path(creative.subtitles_path).read_text(encoding="utf-8")
    (error,) = list(q.iter_errors(batch.id))
    assert error["error"]["code"] == "script_not_found" and "scr_gone" in error["error"]["message"]
    assert [s.id for s in acme.scripts_for_brief(brief.id)] == [script.id]  # no script was written for the batch
