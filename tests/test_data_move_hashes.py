"""Guard for moving phrase banks, industry profiles and rule tables out of Python into data files.

The move must not change output. Each test hashes one output, serialised deterministically,
and compares it with the hash recorded by running the ORIGINAL code (before the move) through
``PYTHONPATH=. python tests/test_data_move_hashes.py``, which prints the current hashes:

* the seeded sample library (``analytics.sample_library``, 400 items, seed 7) as written to JSON;
* the compliance checker's findings and rewrites over ``tests/fixtures/compliance_corpus.tsv``
  (118 zh/en lines across every industry);
* the template writer's scripts (subject sheets and shot prompts included) for the two bundled
  sample briefs, and for the same briefs re-targeted to every industry (one profile each);
* one frame of a short compose render of the zh sample brief's first script (real ffmpeg).

A deliberate change of output (new rules, new phrases) updates the hash it changes, in the
same commit, saying so in the commit message.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from adloom.core.types import Brief, Industry, Script

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "adloom" / "serving" / "samples"
CORPUS = REPO / "tests" / "fixtures" / "compliance_corpus.tsv"

#: Hashes recorded from the code before the data-file move (see the module docstring).
EXPECTED = {
    "sample_library": "e5a651cbd226442aed6b41079391ce500f4febf25e20752b9917433c8dc6532e",
    "compliance": "3732d2a7867b6581391fa1380c412c03854b1118b5c3a700ce2775babfadc320",
    "shot_prompts": "77e6374e9a84bc7949f9d57316b2d183fcd63cbfecb8245cef6a18ecc263b715",
    # render_frame re-recorded when shots without media got designed, moving backdrops and the product card
    # (the guard's render has no media, so its frame shows them); renders with media are unchanged. Re-recorded
    # again when a cue already on screen stopped being subtitled: the guard's cue is its own hook caption, so the
    # frame lost only that doubled subtitle (compared side by side with the old frame).
    "render_frame": "3f4f292a119bd7073dfdce36d6d9604cfc82b9ebecdcd14a4e11b66dc044178f",
}


def _sha(data: Any) -> str:
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def _corpus() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, industry, text = line.split("\t")
            rows.append((language, industry, text))
    return rows


def _brief(name: str) -> Brief:
    return Brief.model_validate(yaml.safe_load((SAMPLES / name).read_text(encoding="utf-8")))


def _script_data(script: Script) -> dict[str, Any]:
    return script.model_dump(mode="json", exclude={"provenance", "id"})  # timings, random id


def sample_library_hash(tmp: Path) -> str:
    from adloom.analytics.sample_library import write_sample_library

    path = write_sample_library(tmp / "library.json", n=400, seed=7)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compliance_hash() -> str:
    from adloom.scripts_gen.compliance import ComplianceChecker

    checker = ComplianceChecker(extra_terms=None)
    out = []
    for language, industry, text in _corpus():
        found = checker.check(text, language=language, industry=industry, field="line")
        new, fixed = checker.rewrite(text, language=language, industry=industry)
        out.append(
            {
                "text": text,
                "findings": [f.model_dump(mode="json") for f in found],
                "rewrite": new,
                "fixed": [(f.term, f.rule_id, f.suggestion) for f in fixed],
            }
        )
    return _sha(out)


def _template_scripts(brief: Brief, n: int) -> list[Script]:
    from adloom.scripts_gen.compliance import ComplianceChecker
    from adloom.scripts_gen.writer import ScriptWriter

    return ScriptWriter(None, checker=ComplianceChecker(extra_terms=None)).generate(brief, n=n, seed=0)


def shot_prompts_hash() -> str:
    out = []
    for name in ("brief_zh.yaml", "brief_en.yaml"):
        brief = _brief(name)
        out += [_script_data(s) for s in _template_scripts(brief, 3)]
        for industry in Industry:
            retargeted = brief.model_copy(update={"industry": industry})
            [script] = _template_scripts(retargeted, 1)
            out.append({"sheet": script.subject_sheet, "prompts": [s.prompt for s in script.shots]})
    return _sha(json.loads(json.dumps(out, default=lambda o: o.model_dump(mode="json"))))


def render_frame_hash(tmp: Path) -> str:
    from adloom.creative.compose import TEMPLATES, Cue, RenderSpec, ShotSpec, render
    from adloom.creative.compose.media import ffmpeg_exe

    brief = _brief("brief_zh.yaml")
    script = _template_scripts(brief, 1)[0]
    shots = [ShotSpec(duration_s=1.0, role=s.role, media=None, caption=s.caption) for s in script.shots[:3]]
    spec = RenderSpec(
        template=sorted(TEMPLATES)[0],
        aspect=script.aspect,
        height=240,
        fps=10,
        language=script.language,
        shots=shots,
        cues=[Cue(0.1, 0.9, script.shots[0].narration or script.hook)],
        use_music=False,
        title=script.hook,
        product_name=brief.product.name,
        cta_text=script.cta,
    )
    result = render(spec, tmp, name="guard")
    frame = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-ss", "0.5", "-i", str(result.video)]
        + ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert frame, "ffmpeg extracted no frame"
    return hashlib.sha256(frame).hexdigest()


def test_sample_library_unchanged(tmp_path: Path) -> None:
    assert sample_library_hash(tmp_path) == EXPECTED["sample_library"]


def test_compliance_output_unchanged() -> None:
    assert len(_corpus()) >= 100
    assert compliance_hash() == EXPECTED["compliance"]


def test_shot_prompts_unchanged() -> None:
    assert shot_prompts_hash() == EXPECTED["shot_prompts"]


def test_render_frame_unchanged(tmp_path: Path) -> None:
    assert render_frame_hash(tmp_path) == EXPECTED["render_frame"]


if __name__ == "__main__":  # record: `PYTHONPATH=. python tests/test_data_move_hashes.py` prints the current hashes
    import tempfile

    import adloom

    if not Path(adloom.__file__).resolve().is_relative_to(REPO):
        sys.exit(f"adloom imported from {adloom.__file__}, not this checkout; run with PYTHONPATH=. from {REPO}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        current = {
            "sample_library": sample_library_hash(tmp),
            "compliance": compliance_hash(),
            "shot_prompts": shot_prompts_hash(),
            "render_frame": render_frame_hash(tmp),
        }
    json.dump(current, sys.stdout, indent=4)
    print()
