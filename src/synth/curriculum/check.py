"""`synth curriculum check OUT`: verify a corpus against its curriculum from the shards
and manifest alone: stage order, concept order, and (ontology) fact-before-use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from synth.errors import UserError
from synth.shards.manifest import read_manifest, shard_paths


@dataclass
class CheckReport:
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    stage_difficulty: list[float] = field(default_factory=list)
    stage_replay: list[float] = field(default_factory=list)
    facts_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def read_rows(out: Path, columns: list[str]):
    """Rows of a synth corpus in shard order, streaming record batches."""
    m = read_manifest(out)
    for path in shard_paths(out, m):
        with pa.OSFile(str(path), "rb") as f:
            reader = pa.ipc.open_stream(f)
            for batch in reader:
                cols = [batch.column(c).to_pylist() for c in columns]
                yield from zip(*cols)


def check_corpus(out: Path, max_problems: int = 20) -> CheckReport:
    out = Path(out)
    m = read_manifest(out)
    if "stages" not in m:
        raise UserError(f"{out}: the run has not finished a shard yet; nothing to check")
    stages = m["stages"]
    introduced_at: dict[str, int] = {}
    for i, s in enumerate(stages):
        for c in s["concepts"]:
            introduced_at.setdefault(c, i)
    rep = CheckReport()
    diff_sum = [0.0] * len(stages)
    replay = [0] * len(stages)
    count = [0] * len(stages)
    stated: set[tuple] = set()
    last_stage = 0

    def problem(msg: str) -> None:
        if len(rep.problems) < max_problems:
            rep.problems.append(msg)

    cols = ["id", "stage", "concepts", "difficulty", "formal", "replay", "kind"]
    for rid, stage, concepts, difficulty, formal, is_replay, kind in read_rows(out, cols):
        rep.rows += 1
        if stage < last_stage:
            problem(f"{rid}: stage {stage} after stage {last_stage}")
        last_stage = max(last_stage, stage)
        for c in concepts:
            at = introduced_at.get(c)
            if at is None or at > stage:
                problem(f"{rid}: concept {c!r} used in stage {stage} before it is introduced")
        diff_sum[stage] += difficulty
        count[stage] += 1
        replay[stage] += int(bool(is_replay))
        if kind == "ontology" and formal:
            f = json.loads(formal)
            own = {tuple(x) for x in f.get("states", [])}
            for fact in f.get("facts", []):
                rep.facts_checked += 1
                if tuple(fact) not in stated and tuple(fact) not in own:
                    problem(f"{rid}: uses {fact} before any document states it")
            stated.update(own)
    rep.stage_difficulty = [d / c if c else 0.0 for d, c in zip(diff_sum, count)]
    rep.stage_replay = [r / c if c else 0.0 for r, c in zip(replay, count)]
    if rep.rows != m["totals"]["rows"]:
        problem(f"manifest says {m['totals']['rows']} rows, shards hold {rep.rows}")
    return rep
