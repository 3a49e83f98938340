"""Nothing half-written: files and folders appear whole or not at all.

Everything synth writes is first written under a `.partial` name (`partial_of`), flushed
to disk, and renamed into place: one file (`atomic_file`), several files of one output
that must appear together (`PartialFiles`: an export), or a whole folder replaced at once
(`atomic_dir`: the eval probes, a converted model). A run killed at any moment leaves
the old file or folder, or the new one, and `.partial` leftovers that the next run of the
same command removes."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def partial_of(path: Path) -> Path:
    """Where `path` is written before it is complete."""
    return path.with_name(path.name + ".partial")


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file opened for writing that appears at `path` only when the block ends."""
    tmp = partial_of(path)
    with open(tmp, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class PartialFiles:
    """Files written under their partial names, renamed into place together by `commit`
    (each fsynced first) once every one of them is complete; `discard` removes them."""

    def __init__(self) -> None:
        self.partials: list[Path] = []

    def path(self, final: Path) -> Path:
        """The partial path to write `final` to."""
        p = partial_of(final)
        self.partials.append(p)
        return p

    @property
    def finals(self) -> list[Path]:
        return [p.with_name(p.name.removesuffix(".partial")) for p in self.partials]

    def commit(self) -> list[Path]:
        for p in self.partials:
            with open(p, "rb+") as f:
                os.fsync(f.fileno())
        for p, final in zip(self.partials, self.finals):
            os.replace(p, final)
        return self.finals

    def discard(self) -> None:
        for p in self.partials:
            p.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """A folder built at PATH.partial and put in place of PATH (replacing what was there)
    when the block ends; if the block fails, PATH is left as it was."""
    tmp = partial_of(path)
    shutil.rmtree(tmp, ignore_errors=True)  # left by a killed run
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(path, ignore_errors=True)
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
