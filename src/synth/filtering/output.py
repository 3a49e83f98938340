"""Where `synth filter` writes: the kept rows in one of three formats, staged and then
moved into OUT, so that a run that fails half-way (a bad line in the third file, an
interrupt) leaves OUT as it was.

Formats: `hf` (Arrow IPC stream shards + state.json + dataset_info.json, what
`datasets.load_from_disk(OUT)` opens; shards close at `shard_bytes`), `parquet` (one
data-00000.parquet) and `jsonl` (one data-00000.jsonl). Every column of the input is
kept, with its Arrow type.

`--overwrite` replaces the synth output already in OUT (an earlier `synth filter`, or a
`synth generate` corpus, whole): exactly the files it consists of (`shards.owned`) go,
at commit, and the user's files beside them stay. A folder that holds no synth output
is refused, with or without `--overwrite`.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from synth.errors import UserError
from synth.shards.atomic import sha256_file
from synth.shards.owned import FILTER, FILTER_STAGING, foreign, owned, remove
from synth.shards.writer import DEFAULT_SHARD_BYTES, ShardWriter, write_dataset_files

FORMATS = ("hf", "parquet", "jsonl")
STAGING = FILTER_STAGING


def check_out(out: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse an OUT that is a file, overlaps the input, or holds something, unless
    --overwrite; nothing is touched here."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a folder")
    o = out.resolve()
    for p in inputs:
        i = p.resolve()
        if i == o or o in i.parents or i in o.parents:
            raise UserError(f"--out: {out} overlaps the input {p}; choose another folder")
    if not out.is_dir():
        return
    own = owned(out)
    others = foreign(out, own)
    if own.kind is None:
        if others:
            shown = ", ".join(x[:60] for x in others[:3]) + (", ..." if len(others) > 3 else "")
            raise UserError(
                f"--out: {out} is not empty ({shown}) and holds no synth output;"
                " choose an empty or new folder"
            )
        return
    taken = [o for o in others if o.split("/")[0] == "rejected"]
    if taken:
        raise UserError(
            f"--out: {out}/{taken[0]} was not written by synth, and synth writes there;"
            " move it out of the folder"
        )
    if not overwrite:
        what = "an earlier synth filter output" if own.kind == FILTER else "a synth corpus"
        raise UserError(f"--out: {out} holds {what}; pass --overwrite to replace it")


class Staging:
    """OUT/.synth-filter.partial while the run writes; `commit` moves it into OUT."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.created_out = not out.exists()
        self.dir = out / STAGING
        shutil.rmtree(self.dir, ignore_errors=True)  # left by a killed run
        self.dir.mkdir(parents=True)

    def commit(self) -> None:
        """Replace the synth output in OUT (whatever `check_out` let through) with the
        staged files. A staged name taken by a file synth did not write is refused before
        anything is removed."""
        own = owned(self.out)
        own.trees = [t for t in own.trees if t != self.dir]
        mine = own.paths()
        for p in sorted(self.dir.iterdir()):
            target = self.out / p.name
            clash = [target] if not target.is_dir() else [target / q.name for q in p.iterdir()]
            taken = [t for t in clash if t.exists() and t not in mine]
            if taken:
                raise UserError(f"--out: {taken[0]} is in the way and was not written by synth")
        remove(own)
        for p in sorted(self.dir.iterdir()):
            target = self.out / p.name
            if p.is_dir() and target.is_dir():  # rejected/: synth's own file in the user's folder
                for q in p.iterdir():
                    os.replace(q, target / q.name)
                p.rmdir()
            else:
                os.replace(p, target)
        self.dir.rmdir()

    def abandon(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.created_out and self.out.is_dir() and not any(self.out.iterdir()):
            self.out.rmdir()


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """The batch with `schema`'s columns, in its order and types (missing ones null)."""
    n = batch.num_rows
    names = batch.schema.names
    cols = [
        batch.column(f.name).cast(f.type) if f.name in names else pa.nulls(n, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(cols, schema=schema)


def hf_features(schema: pa.Schema) -> dict | None:
    """The `datasets` features an input written by `datasets` carried in its schema
    metadata (ClassLabel, Image, ... survive), when they describe exactly these columns."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw is None:
        return None
    try:
        features = json.loads(raw)["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return None
    return features if isinstance(features, dict) and list(features) == schema.names else None


@dataclass
class Sink:
    """Kept rows to the staging folder in one format; `close()` lists the files written."""

    dir: Path
    format: str
    schema: pa.Schema
    shard_bytes: int = DEFAULT_SHARD_BYTES
    files: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise UserError(f"--format: {self.format!r} is not one of {', '.join(FORMATS)}")
        self._unit = 0
        self._shards: ShardWriter | None = None
        self._pq: Any = None
        self._jsonl: IO[str] | None = None
        if self.format == "hf":
            self._shards = ShardWriter(
                self.dir, self.schema, shard_tokens=1 << 62, shard_bytes=self.shard_bytes
            )
        elif self.format == "parquet":
            import pyarrow.parquet as pq

            self._pq = pq.ParquetWriter(str(self.dir / "data-00000.parquet"), self.schema)
        else:
            self._jsonl = open(self.dir / "data-00000.jsonl", "w", encoding="utf-8")

    def write(self, table: pa.Table, tokens: int) -> None:
        self.rows += table.num_rows
        if self._shards is not None:
            self._shards.write_unit(self._unit, table, tokens)
            self._unit += 1
        elif self._pq is not None:
            if table.num_rows:
                self._pq.write_table(table)
        else:
            assert self._jsonl is not None
            self._jsonl.writelines(
                json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in table.to_pylist()
            )

    def close(self, description: str) -> list[dict[str, Any]]:
        if self._shards is not None:
            if self._unit == 0:  # nothing kept: one empty shard, so that the folder still opens
                self._shards.write_unit(0, self.schema.empty_table(), 0)
            self._shards.close_shard()
            names = [s.file for s in self._shards.shards]
            write_dataset_files(
                self.dir, names, self.schema, description, features=hf_features(self.schema)
            )
            self.files = [
                {"file": s.file, "rows": s.rows, "bytes": s.bytes, "sha256": s.sha256}
                for s in self._shards.shards
            ]
            return self.files
        if self._pq is not None:
            self._pq.close()
            path = self.dir / "data-00000.parquet"
        else:
            assert self._jsonl is not None
            self._jsonl.close()
            path = self.dir / "data-00000.jsonl"
        self.files = [
            {
                "file": path.name,
                "rows": self.rows,
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        ]
        return self.files

    def abort(self) -> None:
        """Close open files without finishing them (the staging folder goes anyway)."""
        try:
            if self._pq is not None:
                self._pq.close()
            if self._jsonl is not None:
                self._jsonl.close()
            if self._shards is not None and self._shards._sink is not None:
                self._shards._sink.close()
        except (OSError, pa.ArrowException):
            pass
