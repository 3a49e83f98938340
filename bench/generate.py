"""Tokens per second of `synth generate` per tier: template backend, one process,
tokenizing, filtering and writing included. Prints numbers; asserts nothing.

    python bench/generate.py                 # 5M tokens per tier
    python bench/generate.py --tokens 20M --tiers command
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import synth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", default="5M")
    ap.add_argument("--tiers", default="command,structural,ontology")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'tier':<11} {'tokens':>11} {'rows':>9} {'seconds':>8} {'tokens/s':>10} {'tokens/s/worker':>16}")
    for tier in args.tiers.split(","):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            m = synth.generate(synth.GenerateConfig(tier=tier, out=out, tokens=args.tokens, workers=args.workers, progress=False))
            dt = time.perf_counter() - t0
        tok = m["totals"]["tokens"]
        print(f"{tier:<11} {tok:>11,} {m['totals']['rows']:>9,} {dt:>8.1f} {tok / dt:>10,.0f} {tok / dt / args.workers:>16,.0f}")


if __name__ == "__main__":
    main()
