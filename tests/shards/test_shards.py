"""`--shard-tokens N` means shards of N tokens: each but the last holds at least N and
exceeds it by less than one row, whatever the work units, and a run checkpointed at a
shard that closed inside a unit resumes to the same bytes."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

import synth
from synth.row import SCHEMA
from synth.shards.writer import ShardWriter


def test_shards_close_at_the_row_that_reaches_shard_tokens(tmp_path):
    small = tmp_path / "ontology-25k"
    m = synth.generate(
        synth.GenerateConfig(
            tier="ontology", out=str(small), tokens="300k", shard_tokens="25k", workers=1,
            progress=False,
        )
    )  # fmt: skip
    shards = m["shards"]
    assert len(shards) == 12  # 300k / 25k
    biggest_row = 0
    for s in shards:
        with pa.OSFile(str(small / s["file"])) as f:
            t = pa.ipc.open_stream(f).read_all()
        n = t.column("n_tokens").to_pylist()
        assert sum(n) == s["tokens"] and len(n) == s["rows"]
        biggest_row = max(biggest_row, *n)
        if s is not shards[-1]:
            assert (
                25_000 <= s["tokens"] and sum(n[:-1]) < 25_000
            )  # closed at the row that reached it
    assert sum(s["tokens"] for s in shards) == m["totals"]["tokens"]
    assert any(s["units"][0] == p["units"][1] for p, s in zip(shards, shards[1:]))  # units split


def table(unit: int, sizes: list[int]) -> pa.Table:
    rows = [
        {
            "id": f"t/x/{unit}-{i}", "text": "x" * n, "messages": None, "n_tokens": n,
            "tier": "t", "kind": "document", "template": "x", "lang": "en", "stage": 0,
            "replay": False, "concepts": [], "difficulty": 1, "answer": None, "formal": None,
            "seed": i,
        }
        for i, n in enumerate(sizes)
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def digest(folder) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("data-*.arrow"))]


def test_a_checkpoint_inside_a_unit_resumes_to_the_same_bytes(tmp_path):
    units = [table(u, [7, 5, 9, 3, 8, 6, 4][u:] + [5] * u) for u in range(6)]
    whole = ShardWriter(tmp_path / "whole", SCHEMA, shard_tokens=10)
    for u, t in enumerate(units):
        whole.write_unit(u, t, sum(t.column("n_tokens").to_pylist()))
    whole.close_shard()

    # The run checkpoints after each unit that closed a shard (the open shard, holding
    # the rest of that unit, flushed with it); a killed run starts over from there and
    # whatever was written after the checkpoint goes.
    run = ShardWriter(tmp_path / "killed", SCHEMA, shard_tokens=10)
    saved = None
    for u, t in enumerate(units):
        if run.write_unit(u, t, sum(t.column("n_tokens").to_pylist())):
            saved = (u, list(run.shards), run.checkpoint())
            if saved[2] is not None and saved[2]["rows"]:  # a shard closed inside a unit
                break
    assert saved is not None and saved[2] is not None and saved[0] < len(units) - 1
    last, shards, open_shard = saved
    t = units[last + 1]
    run.write_unit(last + 1, t, sum(t.column("n_tokens").to_pylist()))  # lost with the kill
    resumed = ShardWriter(tmp_path / "killed", SCHEMA, shard_tokens=10, shards=shards)
    resumed.reopen(open_shard)
    for u, t in list(enumerate(units))[last + 1 :]:
        resumed.write_unit(u, t, sum(t.column("n_tokens").to_pylist()))
    resumed.close_shard()
    assert digest(tmp_path / "killed") == digest(tmp_path / "whole")
    assert [s.to_json() for s in resumed.shards] == [s.to_json() for s in whole.shards]
    assert all(s.tokens >= 10 for s in whole.shards[:-1])
    assert json.dumps([s.to_json() for s in whole.shards])  # manifest-ready
