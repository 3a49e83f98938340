"""The standard efficacy check: the compact ontology world (300 entities), a tiny model
trained from scratch for 15 minutes per condition on all CPU cores, held-out probes
scored by greedy decoding. Conditions run one after another (never in parallel).
Prints the table; writes each condition's efficacy.json under --out.

    python bench/efficacy.py          # default, renderings=1, renderings=1,fullnames=false
    python bench/efficacy.py --ablate shuffle=false --ablate qa_mix=false --ablate derived=false
    python bench/efficacy.py --ablate renderings=1,fullnames=false   # two knobs at once
    python bench/efficacy.py --minutes 2 --entities 60     # a quick look
    python bench/efficacy.py --steps 9632                  # fixed steps: same numbers under load
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from synth.efficacy import Design, EfficacyConfig, run_efficacy
from synth.efficacy.design import condition_dir

HEAD = ("stated", "reversed", "derived-depth-1", "derived-depth-2")


def row(report: dict) -> str:
    t, h = report["training"], report["probes"]["headline"]
    cells = [f"{h[k]['accuracy']:.2f} ({h[k]['chance']:.2f})" if k in h else "—" for k in HEAD]
    return (
        f"| {report['condition']} | {t['steps']} | {report['timing']['total_minutes']:.1f} | "
        f"{t['first_loss']:.2f} → {t['final_loss']:.2f} | " + " | ".join(cells) + " |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", default="outputs/efficacy-bench")
    ap.add_argument("--entities", type=int, default=300)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument(
        "--steps",
        type=int,
        default=None,
        help="train exactly this many steps per condition (the same work on a busy machine)",
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--ablate",
        action="append",
        default=None,
        help="KNOB=VALUE conditions beside the default (default: renderings=1 and "
        "renderings=1,fullnames=false; none: the default only)",
    )
    ap.add_argument("--no-default", action="store_true", help="skip the default design")
    args = ap.parse_args()
    standard = ["renderings=1", "renderings=1,fullnames=false"]
    ablations = args.ablate if args.ablate is not None else standard
    ablations = [a for a in ablations if a.strip().lower() != "none"]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at start), torch threads {args.threads}"
    )
    base = Design(entities=args.entities, seed=args.seed)
    conditions = [] if args.no_default else [("default", base)]
    conditions += [(a, base.ablate(a)) for a in ablations]
    reports = []
    for name, design in conditions:
        folder = Path(args.out) / condition_dir(name)
        cfg = EfficacyConfig(
            out=str(folder),
            generate=True,
            design=design,
            minutes=args.minutes,
            steps=args.steps,
            threads=args.threads,
            seed=args.seed,
            label=name,
        )
        rep = run_efficacy(cfg)
        print(row(rep), flush=True)
        reports.append(rep)
    print()
    print("accuracy on held-out probes (majority-class chance in brackets)")
    print(
        "| condition | steps | minutes | train loss | stated | reversed | derived depth 1 | derived depth 2 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rep in reports:
        print(row(rep))


if __name__ == "__main__":
    main()
