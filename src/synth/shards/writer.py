"""The shard writer: Arrow IPC stream files, the format `save_to_disk` uses.

A shard is written as `data-NNNNN.arrow.partial` and renamed when complete, so a shard
file either exists whole or not at all. A shard closes at the row that brings it to
`shard_tokens` (the `n_tokens` of its rows), so every shard but the last holds at least
`--shard-tokens` and exceeds it by less than one row, the same rule as the run's budget.
(Closing only between work units, as it once did, gave 8 shards of ~39.8k tokens for
`--shard-tokens 25k` on a 300k run: a unit is up to 250k tokens.) The rows arrive in the
same order whatever the number of workers, so shard k holds the same rows (and bytes).

A shard that closes inside a unit leaves the unit's remaining rows in the next, still open
shard; `carry` hands them to the run's checkpoint, and `restore` writes them again on
resume, so a killed run resumes with the same shard contents.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.shards.atomic import partial_of, sha256_file, write_json

DEFAULT_SHARD_BYTES = 500 * 2**20


@dataclass
class ShardInfo:
    file: str
    rows: int
    tokens: int
    bytes: int
    sha256: str
    stages: list[int]
    units: list[int]  # [first, last] unit index

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class ShardWriter:
    out: Path
    schema: pa.Schema
    shard_tokens: int
    shard_bytes: int = DEFAULT_SHARD_BYTES
    prefix: str = "data"
    shards: list[ShardInfo] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sink = None
        self._writer = None
        self._path: Path | None = None
        self._rows = self._tokens = 0
        self._stages: set[int] = set()
        self._units: list[int] = []
        # Rows of the open shard written after a shard closed in the last write_unit call
        # (all of that shard's rows): what a checkpoint taken then must keep.
        self.carry: tuple[int, pa.Table, int] | None = None

    def _open(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self._path = self.out / f"{self.prefix}-{len(self.shards):05d}.arrow"
        self._sink = pa.OSFile(str(partial_of(self._path)), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)

    def write_unit(self, unit: int, table: pa.Table, tokens: int) -> list[ShardInfo]:
        """Append a unit's rows; returns the shards this closed (none, one or several).

        With an `n_tokens` column a shard closes at the row that reaches `shard_tokens`;
        rows without one (`synth filter` of another corpus) count `tokens` as a whole."""
        closed: list[ShardInfo] = []
        self.carry = None
        if not table.num_rows or "n_tokens" not in table.column_names:
            self._write(unit, table, tokens)
            if self._full():
                closed.append(self.close_shard())
            return closed
        cum = np.cumsum(table.column("n_tokens").to_numpy(zero_copy_only=False), dtype=np.int64)
        start = 0
        while start < table.num_rows:
            done = int(cum[start - 1]) if start else 0
            need = done + max(1, self.shard_tokens - self._tokens)
            end = min(int(np.searchsorted(cum, need, side="left")) + 1, table.num_rows)
            part = table.slice(start, end - start)
            self._write(unit, part, int(cum[end - 1]) - done)
            if closed:
                self.carry = (unit, part, int(cum[end - 1]) - done)
            start = end
            if self._full():
                closed.append(self.close_shard())
        return closed

    def restore(self, carry: tuple[int, pa.Table, int] | None) -> None:
        """Write again the rows a checkpoint carried (see `carry`)."""
        if carry is not None:
            unit, table, tokens = carry
            self._write(unit, table, tokens)

    def _write(self, unit: int, table: pa.Table, tokens: int) -> None:
        if self._writer is None:
            self._open()
        if table.num_rows:
            self._writer.write_table(
                table.cast(self.schema) if table.schema != self.schema else table
            )
            if "stage" in table.column_names:  # rows synth did not make (`synth filter`) have none
                self._stages.update(int(s) for s in pc.unique(table.column("stage")).to_pylist())
        self._rows += table.num_rows
        self._tokens += tokens
        if not self._units or self._units[-1] != unit:
            self._units.append(unit)

    def _full(self) -> bool:
        return self._tokens >= self.shard_tokens or self._sink.tell() >= self.shard_bytes

    def close_shard(self) -> ShardInfo | None:
        if self._writer is None:
            return None
        self._writer.close()
        self._sink.flush()
        os.fsync(self._sink.fileno())
        self._sink.close()
        os.replace(partial_of(self._path), self._path)
        info = ShardInfo(
            file=self._path.name,
            rows=self._rows,
            tokens=self._tokens,
            bytes=self._path.stat().st_size,
            sha256=sha256_file(self._path),
            stages=sorted(self._stages),
            units=[self._units[0], self._units[-1]] if self._units else [],
        )
        self.shards.append(info)
        self._writer = self._sink = self._path = None
        self._rows = self._tokens = 0
        self._stages = set()
        self._units = []
        self.carry = None
        return info


def write_dataset_files(
    out: Path,
    files: list[str],
    schema: pa.Schema,
    description: str = "",
    features: dict | None = None,
) -> None:
    """`state.json` and `dataset_info.json`: what `datasets.load_from_disk` reads.

    `features` defaults to the schema's; for a type `features_of` does not know (rows
    synth did not make) they are left out and `datasets` infers them from the Arrow schema.
    """
    from synth.shards.features import features_of

    if features is None:
        try:
            features = features_of(schema)
        except TypeError:
            features = None

    state = {
        "_data_files": [{"filename": f} for f in files],
        "_fingerprint": _fingerprint(files, out),
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    info = {
        "citation": "",
        "description": description,
        **({"features": features} if features is not None else {}),
        "homepage": "",
        "license": "",
    }
    write_json(out / "dataset_info.json", info)
    write_json(out / "state.json", state)


def _fingerprint(files: list[str], out: Path) -> str:
    import hashlib

    h = hashlib.sha256(json.dumps(files).encode())
    for f in files:
        h.update(str((out / f).stat().st_size).encode())
    return h.hexdigest()[:16]
