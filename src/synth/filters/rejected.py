"""`OUT/rejected/rejected.jsonl`: a few rejected samples of every filter and reason, with
the reason, so a reviewer sees what was thrown away. `synth generate` and `synth filter`
both write it, from their filter chains' stats."""

from __future__ import annotations

import json
from pathlib import Path

from synth.shards.atomic import write_bytes


def write_rejected(out: Path, stats: dict) -> None:
    """OUT/rejected/rejected.jsonl: the capped examples the filters kept, with reasons."""
    examples = [
        ex
        for chain in stats.values()
        for f in (chain.get("filters") or {}).values()
        for exs in (f.get("examples") or {}).values()
        for ex in exs
    ]
    d = out / "rejected"
    d.mkdir(exist_ok=True)
    write_bytes(
        d / "rejected.jsonl",
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples).encode(),
    )
