"""Nothing half-written: files appear whole (temp file, fsync, rename) or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file opened for writing that appears at `path` only when the block ends."""
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def write_pickle(path: Path, obj: Any) -> None:
    """Pickled straight into the file: large buffers (dedup tables) are never copied
    into one bytes object first."""
    with atomic_file(path) as f:
        pickle.dump(obj, f, protocol=5)


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
