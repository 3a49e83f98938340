"""Nothing half-written: files and folders appear whole or not at all.

Everything synth writes is first written under a `.partial` name (`partial_of`), flushed
to disk, and renamed into place: one file (`atomic_file`), several files of one output
that must appear together (`PartialFiles`: an export), or a whole folder replaced at once
(`atomic_dir`: the eval probes, a converted model). A run killed at any moment leaves
the old file or folder, or the new one, and `.partial` leftovers that the next run of the
same command removes; a write that fails (a full disk) removes its own partial file at
once, so that a stopped run holds no more disk than its complete files.

Tests fill the disk on purpose through `fault_point`: with `SYNTH_TEST_ENOSPC` set to
comma-separated patterns (`manifest.json`, `data-00001.arrow`, `eval.partial/*`, `*`),
a write whose path matches fails with ENOSPC as on a full disk; `PATTERN@N` fails from
the N-th matching write on. Real disks are filled in CI where a tmpfs can be mounted;
the hook reaches every write point everywhere else."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def partial_of(path: Path) -> Path:
    """Where `path` is written before it is complete."""
    return path.with_name(path.name + ".partial")


FAULT_ENV = "SYNTH_TEST_ENOSPC"
_fault_counts: dict[str, int] = {}


def fault_point(path: Path | str) -> None:
    """Raise ENOSPC here if `SYNTH_TEST_ENOSPC` names this write (tests only; see above)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    p = str(path).replace(os.sep, "/")
    for pattern in (x.strip() for x in spec.split(",") if x.strip()):
        glob, _, nth = pattern.partition("@")
        if fnmatch.fnmatch(p, "*/" + glob) or fnmatch.fnmatch(p, glob):
            _fault_counts[pattern] = n = _fault_counts.get(pattern, 0) + 1
            if n >= int(nth or 1):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), p)


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A file opened for writing that appears at `path` only when the block ends; if the
    block or the write fails, the partial file is removed and `path` left as it was."""
    tmp = partial_of(path)
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            fault_point(path)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
