"""Rows/s and tokens/s of `synth qa` on a corpus, beside the corpus's generation
tokens/s from its manifest (when synth made it). One process. Prints; asserts nothing.

    python bench/qa.py outputs/ontology
    python bench/qa.py data/train.jsonl --metrics-sample 20000
    python bench/qa.py --generate ontology --tokens 5M     # make a corpus first, then review it
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import synth
from synth.qa import QAConfig, run_qa


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("path", nargs="?", help="corpus to review (omit with --generate)")
    ap.add_argument(
        "--generate", metavar="TIER", help="generate a corpus of this tier first (one worker)"
    )
    ap.add_argument("--tokens", default="5M", help="budget for --generate")
    ap.add_argument("--metrics-sample", type=int, default=5_000)
    args = ap.parse_args()
    if not args.path and not args.generate:
        ap.error("give a corpus PATH or --generate TIER")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if args.generate:
            path = str(Path(tmp) / "corpus")
            synth.generate(
                synth.GenerateConfig(
                    tier=args.generate, out=path, tokens=args.tokens, workers=1, progress=False
                )
            )
        t0 = time.perf_counter()
        q = run_qa(
            QAConfig(path=path, out=str(Path(tmp) / "report"), metrics_sample=args.metrics_sample)
        )
        dt = time.perf_counter() - t0
    t, timing = q["totals"], q["timing"]
    gen = timing.get("generation_tokens_per_second")
    print(f"corpus: {path} ({q['corpus']['kind']}), {t['rows']:,} rows, {t['tokens']:,} tokens")
    print(f"{'':<24} {'seconds':>8} {'rows/s':>9} {'tokens/s':>11}")
    print(
        f"{'synth qa (whole run)':<24} {dt:>8.1f} {t['rows'] / dt:>9,.0f} {t['tokens'] / dt:>11,.0f}"
    )
    ps = timing["pass_seconds"]
    print(f"{'  streaming pass':<24} {ps:>8.1f} {t['rows'] / ps:>9,.0f} {t['tokens'] / ps:>11,.0f}")
    fs = timing["frames_seconds"]
    print(f"{'    of which frames':<24} {fs:>8.1f}   ({fs / dt:.1%} of the whole run)")
    print(f"{'  sampled metrics etc.':<24} {dt - ps:>8.1f}")
    print(
        f"{'generation (manifest)':<24} {'':>8} {'':>9} {gen:>11,.0f}"
        if gen
        else "generation: no manifest timing"
    )
    print(f"metric sample: {q['sampling']['metric_sample']:,} rows")


if __name__ == "__main__":
    main()
