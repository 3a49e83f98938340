"""Scale-out and memory figures for `synth generate` (prints numbers; asserts nothing).

python bench/scale.py workers            # tokens/s per tier at 1, 2 and N workers
python bench/scale.py memory             # peak RSS at two budgets 10x apart
python bench/scale.py ray                # the same run on a local Ray cluster vs local
python bench/scale.py breakdown          # where one process spends its time
python bench/scale.py budgets --tier ontology --budgets 20M,300M --workers 2
                                         # real runs at two budgets, back to back: tokens/s
                                         # (wall and per CPU-second), peak RSS, rejected
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

RUN = """
import json, resource, sys, time, synth
kw = json.loads(sys.argv[1])
t = time.perf_counter()
m = synth.generate(synth.GenerateConfig(progress=False, **kw))
use = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
peak = max(u.ru_maxrss for u in use)
cpu = sum(u.ru_utime + u.ru_stime for u in use)
t_ = m["totals"]
print(json.dumps({"tokens": t_["tokens"], "seconds": time.perf_counter() - t, "rss_mib": peak / 1024,
                  "cpu_seconds": cpu, "drawn": t_["drawn"], "rejected": t_["rejected"], "rows": t_["rows"],
                  "stage_shares": m["schedule"]["stage_shares"]}))
"""


def run(**kw) -> dict:
    """One generate in a fresh process; returns tokens, seconds and peak RSS (MiB) of its
    largest process (the run's own: with one worker it does all the work)."""
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.run(
            [sys.executable, "-c", RUN, json.dumps({"out": out, **kw})],
            capture_output=True,
            text=True,
        )
        if p.returncode:
            sys.exit(p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])


def workers(args) -> None:
    counts = sorted({1, 2, os.cpu_count() or 1})
    print(
        f"{'tier':<11}" + "".join(f"{f'{n} worker(s)':>16}" for n in counts) + f"{'speed-up':>10}"
    )
    for tier in args.tiers.split(","):
        rates = []
        for n in counts:
            r = run(tier=tier, tokens=args.tokens, workers=n)
            rates.append(r["tokens"] / r["seconds"])
        print(
            f"{tier:<11}"
            + "".join(f"{x:>14,.0f}/s" for x in rates)
            + f"{rates[-1] / rates[0]:>9.2f}x"
        )


def memory(args) -> None:
    small = args.tokens
    big = str(int(float(small.rstrip("M")) * 10)) + "M"
    print(f"{'tier':<11}{'budget':>8}{'peak RSS MiB':>14}{'tokens/s':>12}")
    for tier in args.tiers.split(","):
        rows = []
        for budget in (small, big):
            r = run(tier=tier, tokens=budget, workers=1)
            rows.append(r["rss_mib"])
            print(f"{tier:<11}{budget:>8}{r['rss_mib']:>14.0f}{r['tokens'] / r['seconds']:>12,.0f}")
        print(f"{'':<11}{'ratio':>8}{rows[1] / rows[0]:>14.2f}")


def ray(args) -> None:
    for tier in args.tiers.split(","):
        loc = run(tier=tier, tokens=args.tokens, workers=2)
        ray_ = run(tier=tier, tokens=args.tokens, workers=2, executor="ray")
        print(
            f"{tier:<11} local {loc['tokens'] / loc['seconds']:>10,.0f} tok/s   ray {ray_['tokens'] / ray_['seconds']:>10,.0f} tok/s (incl. cluster start)"
        )


def breakdown(args) -> None:
    """Seconds per step as the run's manifest records them (one process)."""
    import synth

    for tier in args.tiers.split(","):
        with tempfile.TemporaryDirectory() as out:
            m = synth.generate(
                synth.GenerateConfig(
                    tier=tier, out=out, tokens=args.tokens, workers=1, progress=False
                )
            )
        steps = m["timing"]["steps_seconds"]
        total = m["timing"]["seconds"]
        print(f"{tier}: {total:.1f} s wall, {m['totals']['tokens'] / total:,.0f} tokens/s")
        for step, sec in sorted(steps.items(), key=lambda kv: -kv[1]):
            print(f"  {step:<15}{sec:>8.2f} s {sec / total:>7.1%}")
        print(f"  {'other':<15}{total - sum(steps.values()):>8.2f} s")


def budgets(args) -> None:
    """Real runs, back to back in this session: the larger budget should keep the smaller
    one's speed (per CPU-second too, which a loaded machine disturbs less) and memory."""
    print(
        f"{'budget':>8} {'tokens/s':>10} {'tokens/cpu-s':>13} {'peak MiB':>9} {'rejected':>16} stage shares (planned/delivered)"
    )
    for b in args.budgets.split(","):
        r = run(tier=args.tier, tokens=b, workers=args.workers)
        shares = " ".join(f"{s['planned']:.0%}/{s['delivered']:.1%}" for s in r["stage_shares"])
        print(
            f"{b:>8} {r['tokens'] / r['seconds']:>10,.0f} {r['tokens'] / r['cpu_seconds']:>13,.0f}"
            f" {r['rss_mib']:>9.0f} {r['rejected']:>7,} ({r['rejected'] / max(1, r['drawn']):.1%})  {shares}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("what", choices=["workers", "memory", "ray", "breakdown", "budgets"])
    ap.add_argument("--tier", default="ontology")
    ap.add_argument("--budgets", default="20M,300M")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tokens", default="5M")
    ap.add_argument("--tiers", default="command,structural,ontology")
    args = ap.parse_args()
    globals()[args.what](args)


if __name__ == "__main__":
    main()
