"""Tokens per second of `synth generate` per tier: template backend, one process,
tokenizing, filtering and writing included. Prints numbers; asserts nothing.

Each tier runs `--repeat` times (the same seed: the same work) and the best and the
median run are printed: on a shared or virtual machine one run can be 20% slower than
the next for reasons outside the program, and the best run is the code's own speed.

    python bench/generate.py                 # 5M tokens per tier, best of 3
    python bench/generate.py --tokens 20M --tiers command --repeat 1
    python bench/generate.py --tokens 2M --tiers ontology --langs en,ru   # side by side
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import synth


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tokens", default="5M")
    ap.add_argument("--tiers", default="command,structural,ontology")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--langs", default="en", help="languages, one run each (en,ru)")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'tier':<11} {'lang':<4} {'tokens':>11} {'rows':>9} {'rejected':>9} {'best s':>8}"
        f" {'best tokens/s':>14} {'median tokens/s':>16} {'per worker':>11}"
    )
    for tier in args.tiers.split(","):
        for lang in args.langs.split(","):
            seconds = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as out:
                    t0 = time.perf_counter()
                    m = synth.generate(
                        synth.GenerateConfig(
                            tier=tier,
                            out=out,
                            tokens=args.tokens,
                            lang=lang,
                            workers=args.workers,
                            progress=False,
                        )  # fmt: skip
                    )
                    seconds.append(time.perf_counter() - t0)
            t = m["totals"]
            tok, best = t["tokens"], min(seconds)
            print(
                f"{tier:<11} {lang:<4} {tok:>11,} {t['rows']:>9,} {t['rejected'] / t['drawn']:>9.1%}"
                f" {best:>8.1f} {tok / best:>14,.0f} {tok / statistics.median(seconds):>16,.0f}"
                f" {tok / best / args.workers:>11,.0f}"
            )


if __name__ == "__main__":
    main()
