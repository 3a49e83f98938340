"""What a tier's budget buys, checked without generating all of it.

Units are random-access by index, so a 10B plan is sampled: the same world the real run
would build (sized by the budget), the same schedule, and a spread of units across it
(every stage, evenly by index), each produced for its first `--unit-tokens` tokens (the
same rows the real unit starts with) and passed in order through the corpus filters.
Printed per tier and budget:

  world        beings, kinds, places, facts (stated and derived), capacity and budget
  rejected     of the rows drawn by the sampled units, by reason (sample and corpus filters)
  duplicates   exact and near copies across the whole sample
  facts        distinct facts the sample states, statements per 1k tokens, and the
               renderings per fact the full budget implies (statements x budget / world facts)
  stages       each stage's planned share beside its sampled keep rate (what the run's
               in-stage make-up has to cover)
  speed        tokens/s of producing the sample (one process)

    python bench/capacity.py                            # ontology 5M,100M,1B,10B; command 100M,1B; structural 1B
    python bench/capacity.py --tiers ontology --budgets 10B --units 32
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from dataclasses import replace

import synth
from synth.curriculum.schedule import make_schedule, stage_mixes
from synth.filters import build_corpus_chain
from synth.generation.capacity import world_facts
from synth.generation.resolve import resolve
from synth.generation.unit import Producer

DEFAULT = "ontology:5M,100M,1B,10B;command:100M,1B;structural:1B"


def sample_units(plan, n: int) -> list:
    """n units spread over the plan, at least one per stage."""
    picks = {round(i * (len(plan.units) - 1) / max(1, n - 1)) for i in range(n)}
    for first, last in plan.stage_units:
        picks.add((first + last) // 2)
    return [plan.units[i] for i in sorted(picks)]


def facts_of(row: dict) -> list[tuple]:
    if not row["formal"]:
        return []
    f = json.loads(row["formal"])
    if "states" in f and f["states"]:
        return [tuple(x) for x in f["states"]]
    if f.get("query") and f.get("answer") is not None:
        return [tuple(f["query"])]
    return []


def check(tier: str, budget: str, units: int, unit_tokens: int, seed: int) -> None:
    cfg = synth.GenerateConfig(
        tier=tier, out="/nonexistent", tokens=budget, seed=seed, progress=False
    )
    t0 = time.perf_counter()
    r = resolve(cfg)
    setup_s = time.perf_counter() - t0
    plan = make_schedule(r.tier, r.budget, entities=r.active_entities, kinds=r.kinds)
    producer = Producer(r.setup, r.lib, r.tokenizer)
    chain = build_corpus_chain(r.tier.filters, mixes=stage_mixes(r.tier))
    picked = sample_units(plan, units)
    sample_rej: Counter = Counter()
    corpus_rej: Counter = Counter()
    drawn = kept_rows = tokens = 0
    stated: Counter = Counter()
    per_stage = {s: [0, 0] for s in range(len(plan.stage_tokens))}  # made, kept tokens
    t1 = time.perf_counter()
    for u in picked:
        res = producer.produce(replace(u, tokens=min(u.tokens, unit_tokens)))
        drawn += res.attempts
        for k, v in (res.filter_stats.get("rejected") or {}).items():
            sample_rej[k] += v
        rows = res.rows
        keep = {id(x) for x in chain.filter(rows, batch_size=256)}
        for row in rows:
            per_stage[u.stage][0] += row.n_tokens
            if id(row) in keep:
                kept_rows += 1
                tokens += row.n_tokens
                per_stage[u.stage][1] += row.n_tokens
                for f in facts_of({"formal": row.formal}):
                    stated[f] += 1
    gen_s = time.perf_counter() - t1
    for k, v in (chain.stats().get("rejected") or {}).items():
        corpus_rej[k] += v
    rejected = sum(sample_rej.values()) + sum(corpus_rej.values())
    w = r.setup.world
    line = f"{tier} {budget}: plan {len(plan.units):,} units of {plan.unit_tokens:,} tokens; sampled {len(picked)} units x {unit_tokens:,} tokens"
    print(line)
    if w is not None:
        facts, kind_facts = world_facts(w)
        cap = r.capacity
        print(
            f"  world       {len(w.entities):,} beings, {len(w.kinds):,} kinds, facts {facts + kind_facts:,}; "
            f"capacity {cap.tokens:,} tokens ({cap.tokens / r.budget:.2f}x the budget); setup {setup_s:.1f}s"
        )
    reasons = ", ".join(f"{k} {v:,}" for k, v in (sample_rej + corpus_rej).most_common(5)) or "none"
    print(
        f"  rejected    {rejected:,} of {drawn:,} drawn ({rejected / max(1, drawn):.1%}): {reasons}"
    )
    dups = corpus_rej.get("exact_dup", 0), corpus_rej.get("near_dup", 0)
    print(
        f"  duplicates  exact {dups[0]:,}, near {dups[1]:,} across the sample's {kept_rows + sum(dups):,} rows"
    )
    if w is not None and stated:
        per_k = sum(stated.values()) / max(1, tokens) * 1000
        implied = sum(stated.values()) / max(1, tokens) * r.budget / max(1, facts + kind_facts)
        print(
            f"  facts       {len(stated):,} distinct stated in the sample, {per_k:.1f} statements per 1k tokens; "
            f"the budget tells each fact about {implied:.1f} times (design band {r.tier.renderings[0]}-{r.tier.renderings[1]})"
        )
    shares = []
    for s, st in enumerate(r.tier.stages):
        made, kept = per_stage[s]
        shares.append(
            f"{st.name} {plan.stage_tokens[s] / r.budget:.0%} keep {kept / max(1, made):.1%}"
        )
    print(f"  stages      {'; '.join(shares)}")
    print(f"  speed       {tokens / gen_s:,.0f} tokens/s ({kept_rows:,} rows, one process)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--plan", default=DEFAULT, help="tier:budgets;tier:budgets")
    ap.add_argument("--units", type=int, default=24)
    ap.add_argument("--unit-tokens", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for part in args.plan.split(";"):
        tier, budgets = part.split(":")
        for b in budgets.split(","):
            check(tier, b, args.units, args.unit_tokens, args.seed)


if __name__ == "__main__":
    main()
