"""The row: one training sample, as it travels through the pipeline and lands in a shard.

The Arrow schema below is the contract with every trainer and reviewer (the README's
"Output" section lists its columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("messages", pa.list_(MESSAGE)),
        ("n_tokens", pa.int32()),
        ("tier", pa.string()),
        ("kind", pa.string()),
        ("template", pa.string()),
        ("lang", pa.string()),
        ("stage", pa.int16()),
        ("replay", pa.bool_()),
        ("concepts", pa.list_(pa.string())),
        ("difficulty", pa.int16()),
        ("answer", pa.string()),
        ("formal", pa.string()),
        ("seed", pa.int64()),
    ]
)

# Eval probes carry what a scorer needs besides the row itself.
PROBE_SCHEMA = (
    SCHEMA.append(pa.field("probe_kind", pa.string()))
    .append(pa.field("prompt", pa.string()))
    .append(pa.field("answer_text", pa.string()))  # the answer as the probe's language states it
)


@dataclass
class Row:
    """One sample. `text` is exactly what a trainer sees; `messages` is its chat form."""

    id: str
    text: str
    messages: list[dict[str, str]] | None
    n_tokens: int
    tier: str
    kind: str
    template: str
    lang: str
    stage: int
    concepts: list[str]
    difficulty: int
    answer: str | None
    formal: str | None
    seed: int
    replay: bool = False  # drawn from an earlier stage's templates (curriculum replay)
    # Not written to shards: what the filters and the scheduler need to know.
    meta: dict = field(default_factory=dict)


def rows_to_table(rows: list[Row], schema: pa.Schema = SCHEMA) -> pa.Table:
    """Columnar conversion in one pass (pylist of dicts is the slow path)."""
    cols = {
        name: [getattr(r, name) for r in rows]
        if name in Row.__dataclass_fields__
        else [r.meta.get(name) for r in rows]
        for name in schema.names
    }
    return pa.table(cols, schema=schema)
