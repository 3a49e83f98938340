"""The shard writer: Arrow IPC stream files, the format `save_to_disk` uses.

A shard is written as `data-NNNNN.arrow.partial` and renamed when complete, so a shard
file either exists whole or not at all. A shard closes at the row that brings it to
`shard_tokens` (the `n_tokens` of its rows), so every shard but the last holds at least
`--shard-tokens` and exceeds it by less than one row, the same rule as the run's budget.
(Closing only between work units, as it once did, gave 8 shards of ~39.8k tokens for
`--shard-tokens 25k` on a 300k run: a unit is up to 250k tokens.) The rows arrive in the
same order whatever the number of workers, so shard k holds the same rows (and bytes).

A shard that is still open can be checkpointed (`checkpoint`: flushed to disk, its
length and the sha256 of what it holds recorded) and reopened by a resumed run
(`reopen`): the record batches up to the checkpoint are read back and written again,
which gives the same bytes. So a run resumes whether or not a shard ever filled, and the
rows of a unit that a closing shard left to the next one are on disk with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.shards.atomic import fault_point, partial_of, sha256_file, write_json

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
        self._saved: int | None = None  # the open shard's length at its last checkpoint
        self._hash: Any = None  # sha256 of the open shard's bytes up to `_saved`

    def _open(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self._path = self.out / f"{self.prefix}-{len(self.shards):05d}.arrow"
        fault_point(self._path)
        self._sink = pa.OSFile(str(partial_of(self._path)), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        self._saved, self._hash = None, None

    def write_unit(self, unit: int, table: pa.Table, tokens: int) -> list[ShardInfo]:
        """Append a unit's rows; returns the shards this closed (none, one or several).

        With an `n_tokens` column a shard closes at the row that reaches `shard_tokens`;
        rows without one (`synth filter` of another corpus) count `tokens` as a whole."""
        closed: list[ShardInfo] = []
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
            start = end
            if self._full():
                closed.append(self.close_shard())
        return closed

    def _write(self, unit: int, table: pa.Table, tokens: int) -> None:
        if self._writer is None:
            self._open()
        if table.num_rows:
            self._writer.write_table(
                table.cast(self.schema) if table.schema != self.schema else table
            )
            if "stage" in table.column_names:  # rows synth did not make (`synth filter`) have none
                self._stages.update(int(s) for s in pc.unique(table.column("stage")).to_pylist())
            fault_point(self._path)
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
        fault_point(self._path)
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
        self._saved = self._hash = None
        self._rows = self._tokens = 0
        self._stages = set()
        self._units = []
        return info

    def checkpoint(self) -> dict | None:
        """The open shard flushed to disk, and what `reopen` needs to carry on from here
        (None when no shard is open)."""
        if self._writer is None:
            return None
        self._sink.flush()
        os.fsync(self._sink.fileno())
        offset = self._sink.tell()
        # Only what was written since the last checkpoint is read back and hashed.
        self._hash = _hash_range(partial_of(self._path), self._hash, self._saved or 0, offset)
        self._saved = offset
        return {
            "file": self._path.name,
            "offset": offset,
            "sha256": self._hash.hexdigest(),
            "rows": self._rows,
            "tokens": self._tokens,
            "stages": sorted(self._stages),
            "units": list(self._units),
        }

    def reopen(self, saved: dict) -> None:
        """Carry on with the shard `checkpoint` described: its record batches up to the
        checkpoint are written again into a new partial file. The shard may have been
        closed since (a later step failed before the next checkpoint): its complete file
        holds the same bytes up to there. ValueError if neither matches the checkpoint."""
        path = self.out / saved["file"]
        offset = int(saved["offset"])
        source = next(
            (p for p in (partial_of(path), path) if p.is_file() and p.stat().st_size >= offset),
            None,
        )
        digest = _hash_range(source, None, 0, offset) if source is not None else None
        if digest is None or digest.hexdigest() != saved["sha256"]:
            raise ValueError(f"{path.name}: the open shard differs from its checkpoint")
        old = path.with_name(path.name + ".resume")
        os.replace(source, old)
        self._path = path
        self._sink = pa.OSFile(str(partial_of(path)), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.schema)
        with pa.memory_map(str(old), "r") as src:
            for batch in pa.ipc.open_stream(src.read_buffer(offset)):
                self._writer.write_batch(batch)
        if self._sink.tell() != offset:
            raise ValueError(f"{path.name}: the open shard does not rebuild to its checkpoint")
        old.unlink()
        self._saved, self._hash = offset, digest
        self._rows, self._tokens = int(saved["rows"]), int(saved["tokens"])
        self._stages = set(saved["stages"])
        self._units = list(saved["units"])

    def abort(self) -> None:
        """Close the open shard unfinished, keeping only what its last checkpoint holds
        (a full disk: the rest of the space goes back at once; the next run carries on
        from the checkpoint). A shard never checkpointed goes whole."""
        if self._sink is not None:
            try:
                self._sink.close()
            except (OSError, pa.ArrowException):
                pass
        if self._path is not None:
            partial = partial_of(self._path)
            try:
                if self._saved is None:
                    partial.unlink(missing_ok=True)
                elif partial.is_file():
                    os.truncate(partial, self._saved)
            except OSError:
                pass
        self._writer = self._sink = self._path = None
        self._saved = self._hash = None


def _hash_range(path: Path, h: Any, start: int, end: int, chunk: int = 1 << 22) -> Any:
    """`h` (a sha256 of the file's first `start` bytes; None: a new one) carried on to
    byte `end`."""
    h = h.copy() if h is not None else hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0 and (block := f.read(min(chunk, left))):
            h.update(block)
            left -= len(block)
    return h


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
