"""The held-out eval split (`OUT/eval/`): probes about the same world, never in train.

Probes are items of the tier's question templates drawn in the `eval` split: their own
seeds, and for the ontology tier questions about held-out entities only (every fact
about them is stated in train documents, but no train question asks about them). They
are stratified by difficulty (proof depth), and each carries a `probe_kind` (stated,
derived-depth-N, reversed, or the task) for scoring by kind.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from synth.curriculum.tier import TierConfig
from synth.families.base import Scope
from synth.filters import Probe
from synth.generation.unit import Producer
from synth.row import PROBE_SCHEMA, rows_to_table
from synth.shards.atomic import atomic_dir
from synth.shards.writer import ShardWriter, write_dataset_files

DEFAULT_PROBES = 500


def probe_rows(producer: Producer, cfg: TierConfig, active_entities: int) -> list:
    n = int(cfg.eval.get("probes", DEFAULT_PROBES))
    tids = [t for t in cfg.templates if producer.lib.spec(t).shape == "chat"]
    scope = Scope(known_entities=active_entities, known_kinds=1 << 30)
    rows = []
    attempts = 0
    i = 0
    while len(rows) < n and tids and attempts < 20 * n:
        tid = tids[i % len(tids)]
        lo, hi = producer.lib.spec(tid).difficulty
        diff = lo + (i // len(tids)) % (hi - lo + 1)
        row, draw = producer.item(tid, ("probe", i), diff, scope, stage=0, split="eval", position=i)
        i += 1
        attempts += 1
        if draw.answer is None or row.messages is None:
            continue
        row.meta["probe_kind"] = draw.probe_kind or f"depth-{row.difficulty}"
        users = [m["content"] for m in row.messages if m["role"] == "user"]
        row.meta["prompt"] = users[-1] if users else ""
        row.meta.setdefault("answer_text", row.answer)
        rows.append(row)
    return producer.finish(rows, realise=False)  # probes are asked as rendered: never LLM-realised


def write_probes(
    producer: Producer, path: Path, cfg: TierConfig, active_entities: int
) -> list[Probe]:
    """Write the eval split; returns the probes' prompts and formal forms for the
    contamination guard."""
    rows = probe_rows(producer, cfg, active_entities)
    with atomic_dir(path) as tmp:
        w = ShardWriter(tmp, PROBE_SCHEMA, shard_tokens=1 << 62)
        table = rows_to_table(rows, PROBE_SCHEMA)
        w.write_unit(0, table, int(pa.compute.sum(table.column("n_tokens")).as_py() or 0))
        w.close_shard()
        write_dataset_files(
            tmp, [s.file for s in w.shards], PROBE_SCHEMA, f"synth {cfg.tier} eval probes"
        )
    return [Probe(r.meta["prompt"], r.formal) for r in rows]
