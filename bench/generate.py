"""Tokens per second of `synth generate` per tier: template backend, one process,
tokenizing, filtering and writing included. Prints numbers; asserts nothing.

Each tier runs `--repeat` times (the same seed: the same work) and the best and the
median run are printed: on a shared or virtual machine one run can be 20% slower than
the next for reasons outside the program, and the best run is the code's own speed.

    python bench/generate.py                 # 5M tokens per tier, best of 3
    python bench/generate.py --tokens 20M --tiers command --repeat 1
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
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'tier':<11} {'tokens':>11} {'rows':>9} {'best s':>8} {'best tokens/s':>14} {'median tokens/s':>16} {'per worker':>11}"
    )
    for tier in args.tiers.split(","):
        seconds = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as out:
                t0 = time.perf_counter()
                m = synth.generate(
                    synth.GenerateConfig(
                        tier=tier, out=out, tokens=args.tokens, workers=args.workers, progress=False
                    )
                )
                seconds.append(time.perf_counter() - t0)
        tok, best = m["totals"]["tokens"], min(seconds)
        print(
            f"{tier:<11} {tok:>11,} {m['totals']['rows']:>9,} {best:>8.1f} {tok / best:>14,.0f}"
            f" {tok / statistics.median(seconds):>16,.0f} {tok / best / args.workers:>11,.0f}"
        )


if __name__ == "__main__":
    main()
