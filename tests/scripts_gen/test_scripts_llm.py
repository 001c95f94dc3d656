"""The script writer on the real embedded model (gemma-3-270m via llama.cpp)."""

import json
from pathlib import Path

import pytest
import yaml

from adloom.analytics.sample_library import generate_sample_library
from adloom.core.text import language_share
from adloom.core.types import Brief, Script
from adloom.scripts_gen.compliance import ComplianceChecker
from adloom.scripts_gen.llm.llamacpp import LlamaCppBackend
from adloom.scripts_gen.planning import plan_variants
from adloom.scripts_gen.review import Reviewer
from adloom.scripts_gen.structure import structure_exemplar
from adloom.scripts_gen.validation import validate_script
from adloom.scripts_gen.writer import ScriptWriter, build_prompt, draft_schema

SAMPLES = Path(__file__).resolve().parents[2] / "adloom" / "serving" / "samples"


@pytest.fixture(scope="module")
def backend() -> LlamaCppBackend:
    b = LlamaCppBackend(n_threads=2)
    yield b
    b.close()


@pytest.fixture(scope="module")
def library():
    return generate_sample_library(400)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_embedded_model_writes_valid_compliant_variants(lang, backend, library):
    brief = Brief.model_validate(yaml.safe_load((SAMPLES / f"brief_{lang}.yaml").read_text()))
    exemplars = [
        structure_exemplar(x) for x in library if x.language == brief.language and x.industry == brief.industry
    ][:2]
    scripts = ScriptWriter(backend, attempts=2).generate(brief, 2, exemplars=exemplars, seed=1)
    checker = ComplianceChecker()
    for s in scripts:
        Script.model_validate_json(s.model_dump_json())
        assert validate_script(s, brief, exemplars=exemplars) == []
        assert checker.check_script(s) == []
        assert language_share(s.full_text(), brief.language) >= 0.75
        assert s.provenance.backend == "llamacpp" and s.provenance.model.endswith(".gguf")
        assert s.provenance.path in ("llm", "template", "mixed") and s.provenance.attempts >= 1
        assert Reviewer(brief, exemplar=exemplars[0]).review_script(s) == []
        assert {o.author for o in s.provenance.lines.values()} <= {"llm", "template"}
        assert all(sh.prompt is not None for sh in s.shots)


def test_scaffolded_draft_is_schema_shaped_and_seeded(backend, library):
    brief = Brief.model_validate(yaml.safe_load((SAMPLES / "brief_en.yaml").read_text()))
    plan = plan_variants(brief, 1)[0]
    exemplars = [structure_exemplar(x) for x in library if x.language == "en" and x.industry == brief.industry][:2]
    prompt, _ = build_prompt(brief, plan, exemplars)
    schema = draft_schema(brief, plan)
    a = backend.generate_json(prompt, schema, max_tokens=300, seed=5)
    b = backend.generate_json(prompt, schema, max_tokens=300, seed=5)
    assert a == b
    data = json.loads(a)
    assert len(data["shots"]) == len(plan.roles) - 2
    for shot, sub in zip(data["shots"], schema["properties"]["shots"]["prefixItems"], strict=True):
        assert shot["narration"].startswith(sub["properties"]["narration"].get("x-prefix", ""))
