"""Script generation speed with the embedded backend (gemma-3-270m on llama.cpp).

Prints seconds per variant (median, max), how many variants the LLM wrote vs the
template fallback, and end-to-end time for N variants per sample brief. The
baseline in the same run is the llama.cpp grammar-constrained decoder on the
same brief, so the ratio shows what schema scaffolding buys.

    .venv/bin/python bench/generation.py [--n 5] [--threads 2] [--grammar-variants 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import yaml

from adloom.analytics.sample_library import generate_sample_library
from adloom.core.types import Brief
from adloom.scripts_gen.llm.llamacpp import LlamaCppBackend
from adloom.scripts_gen.structure import structure_exemplar
from adloom.scripts_gen.writer import ScriptWriter

SAMPLES = Path(__file__).resolve().parents[1] / "adloom" / "serving" / "samples"


def run(brief: Brief, backend: LlamaCppBackend, n: int, exemplars: list) -> tuple[float, list[float], int]:
    writer = ScriptWriter(backend)
    started = time.perf_counter()
    scripts = writer.generate(brief, n, exemplars=exemplars)
    total = time.perf_counter() - started
    return total, [s.provenance.elapsed_s or 0.0 for s in scripts], sum(s.provenance.path == "llm" for s in scripts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5, help="variants per brief (scaffolded decoder)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grammar-variants", type=int, default=1, help="variants per brief for the grammar baseline")
    args = ap.parse_args()
    library = generate_sample_library(400)
    print(
        f"# conditions: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"llama.cpp threads={args.threads}, gemma-3-270m Q4_K_M, load avg {os.getloadavg()[0]:.1f}"
    )
    print(f"{'brief':6} {'decoder':9} {'n':>3} {'total s':>8} {'median s/var':>13} {'max s/var':>10} {'by LLM':>7}")
    for lang in ("zh", "en"):
        brief = Brief.model_validate(yaml.safe_load((SAMPLES / f"brief_{lang}.yaml").read_text()))
        exemplars = [
            structure_exemplar(x) for x in library if x.language == brief.language and x.industry == brief.industry
        ][:2]
        results = {}
        for mode, n in (("scaffold", args.n), ("grammar", args.grammar_variants)):
            if n <= 0:
                continue
            backend = LlamaCppBackend(n_threads=args.threads, constrain=mode)  # type: ignore[arg-type]
            backend.generate_text("warm up", max_tokens=1)  # load the model outside the timing
            total, per, by_llm = run(brief, backend, n, exemplars)
            results[mode] = statistics.median(per)
            print(
                f"{lang:6} {mode:9} {n:>3} {total:>8.1f} {statistics.median(per):>13.2f} "
                f"{max(per):>10.2f} {by_llm:>5}/{n}"
            )
            backend.close()
        if len(results) == 2:
            print(
                f"{lang:6} ratio grammar/scaffold median s per variant: {results['grammar'] / results['scaffold']:.1f}x"
            )


if __name__ == "__main__":
    main()
