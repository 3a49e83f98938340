"""The output folder of `synth generate`: whose it is, and what a re-run does with it.

- A new or empty folder is ours. So is one holding only what a run killed before its
  first manifest left behind (a `.partial` file, the lock): the run starts there.
- A folder holding a corpus with the same fingerprint is resumed.
- A corpus with another fingerprint, or a `synth filter` output, is refused unless
  `--overwrite`, which removes exactly the files synth wrote there (`shards.owned`: the
  files the manifest or filter.json lists, and synth's own names beside them) and
  nothing else: the user's files beside a corpus stay.
- A folder holding no synth output is refused, with or without `--overwrite`.
- `eval/` and `rejected/` are synth's: a file of the user's in them is refused (synth
  replaces `eval/` whole), never removed.

One run at a time: `claim_out` takes an exclusive lock (`.synth/lock`) before the folder
is changed, so a second run on the same folder is refused at once instead of racing
the first.
"""

from __future__ import annotations

import os
from pathlib import Path

from synth.errors import UserError
from synth.generation.resolve import Resolved
from synth.shards.manifest import read_manifest
from synth.shards.owned import FILTER, RUN_DIR, SHARD_FILE, foreign, owned, remove


def differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        if old.get(k) != new.get(k):
            if isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
                sub = [
                    f"{k}.{s}"
                    for s in sorted(set(old[k]) | set(new[k]))
                    if old[k].get(s) != new[k].get(s)
                ]
                out.extend(sub[:5])
            else:
                out.append(f"{k} ({_short(old.get(k))} → {_short(new.get(k))})")
    return out


def _short(v: object, n: int = 40) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."


def _listing(names: list[str], n: int = 3) -> str:
    shown = ", ".join(_short(x, 60).strip("'\"") for x in names[:n])
    return shown + (", ..." if len(names) > n else "")


def check_out_path(out: Path) -> None:
    """`--out` names a folder that is or can be made: not a file, not under one."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"--out: {parent} is a file, so {out} cannot be a folder")
            break


def prepare_out(run: Resolved, *, lock: Path | None = None, check: bool = False) -> dict | None:
    """Check the output folder and make it ready; returns the manifest of a run to resume,
    if any. Refusals come before anything is removed; `check`: refuse or pass, and
    change nothing. `lock`: the lock file this run holds (never removed)."""
    out = Path(run.config.out)
    check_out_path(out)
    if not out.is_dir():
        return None
    own = owned(out)
    others = foreign(out, own)
    own.files = [p for p in own.files if p != lock]
    if own.kind is None:
        if others:
            raise UserError(
                f"--out: {out} is not empty ({_listing(others)}) and holds no synth output;"
                " choose an empty or new folder"
            )
        if not check:
            remove(own)  # leftovers of a run killed before its first manifest
        return None
    _refuse_ours_taken(out, others)
    if own.kind == FILTER:
        if not run.config.overwrite:
            raise UserError(
                f"--out: {out} holds a `synth filter` output; pass --overwrite to replace it"
                " or choose another folder"
            )
        if not check:
            remove(own)
        return None
    if run.config.overwrite:
        if not check:
            remove(own)
        return None
    try:
        old = read_manifest(out)
    except UserError as e:
        raise UserError(f"--out: {e}; pass --overwrite to start over") from None
    if old.get("fingerprint") != run.fingerprint:
        resolved = old.get("resolved") if isinstance(old.get("resolved"), dict) else {}
        diff = ", ".join(differences(resolved, run.resolved)) or "unknown"
        raise UserError(
            f"--out: {out} holds a different corpus (differs in: {_short(diff, 160)});"
            " pass --overwrite to replace it"
        )
    return old


def _refuse_ours_taken(out: Path, others: list[str]) -> None:
    """The user's files where synth writes (eval/, rejected/): refused, never removed."""
    taken = [o for o in others if o.split("/")[0] in ("eval", "rejected") or o in (RUN_DIR, "eval")]
    if taken:
        raise UserError(
            f"--out: {out}/{taken[0]} was not written by synth, and synth writes there;"
            " move it out of the folder"
        )


class OutLock:
    """An exclusive lock on an output folder (`.synth/lock`) for the length of a run: a
    second run on the folder is refused at once. The lock is the kernel's (flock), so a
    killed run leaves none behind; the file goes when the run ends."""

    def __init__(self, out: Path) -> None:
        self.path = out / RUN_DIR / "lock"
        self._fd: int | None = None

    def acquire(self) -> OutLock:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one run at a time is then the user's care
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UserError(
                f"--out: cannot write in {self.path.parent.parent} ({e.strerror or e})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(
                f"--out: another synth run is writing to {self.path.parent.parent}; wait for it"
                " to end or choose another folder"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
            self.path.parent.rmdir()  # only if nothing else (an LLM cache) is there
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def claim_out(out: Path) -> OutLock:
    """Make the folder (one line if it cannot be made) and lock it."""
    check_out_path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out: cannot create {out} ({e.strerror or e})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"--out: {out} is not writable")
    return OutLock(out).acquire()


def discard_partials(out: Path, keep: list[str]) -> None:
    """Shard files not recorded as complete, and half-written ones, go (synth's exact
    shard names only)."""
    for p in out.iterdir():
        if SHARD_FILE.match(p.name) and p.name not in keep and p.is_file():
            p.unlink()
