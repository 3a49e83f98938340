"""What synth wrote in an output folder, and only that: what `--overwrite` removes.

An output folder may hold the user's own files beside synth's (`notes.txt`, an
`eval/my_eval_set.jsonl`, a `manifest.json.bak`), and a file is never synth's because of
how its name starts. So what synth wrote is read from what it recorded:

- `synth generate`: `manifest.json` lists the shards; `state.json` and
  `dataset_info.json` beside them; `eval/` holds the probe shards its own `state.json`
  lists; `rejected/rejected.jsonl`; `.synth/` the resume state and the run's lock (the
  LLM response cache stays: its answers are keyed by what asked for them, so a new run
  may still use them). Shard files a killed run wrote after its last checkpoint are
  not listed yet: they are the exact shard names (`data-00012.arrow`, `.partial`).
- `synth filter`: `filter.json` lists the files written (`output.files`), with
  `state.json`, `dataset_info.json` and `rejected/rejected.jsonl` beside them.
- Leftovers of a run killed before it wrote anything whole: `manifest.json.partial`,
  `eval.partial/`, `.synth/lock`, a filter's staging folder. A folder holding only
  these is as good as empty.

A folder that holds no synth output is never cleared, whatever the flags say.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from synth.shards.manifest import MANIFEST, SHARD_NAME

GENERATE, FILTER = "synth generate", "synth filter"
FILTER_REPORT = "filter.json"
FILTER_STAGING = ".synth-filter.partial"
# The exact names synth gives shards, whole or being written (`.resume`: a shard being
# rebuilt from its checkpoint).
SHARD_FILE = re.compile(r"^data-\d{5,}\.arrow(\.partial|\.resume)?$")
FILTER_FILE = re.compile(r"^data-\d{5,}\.(arrow|parquet|jsonl)$")
DATASET_FILES = ("state.json", "dataset_info.json")
# `.synth/`: what a generate run keeps there besides the LLM cache.
RUN_DIR = ".synth"
RUN_FILES = ("state.npz", "state.pkl", "lock")


@dataclass
class Owned:
    """The synth output in a folder: its kind and the paths synth wrote (that exist)."""

    kind: str | None  # GENERATE, FILTER, or None: only leftovers of a killed run
    files: list[Path] = field(default_factory=list)
    trees: list[Path] = field(default_factory=list)  # synth's own temporary folders
    dirs: list[Path] = field(default_factory=list)  # removed when empty once files go

    def paths(self) -> set[Path]:
        return {*self.files, *self.trees}


def _partials(p: Path) -> list[Path]:
    return [p, p.with_name(p.name + ".partial")]


def _existing(paths: list[Path]) -> list[Path]:
    return [p for p in dict.fromkeys(paths) if p.is_file() or p.is_symlink()]


def _listed(state: Path) -> list[str]:
    """The shard names a `save_to_disk` state.json lists (only names that are shards)."""
    try:
        raw = json.loads(state.read_text(encoding="utf-8"))
        names = [f["filename"] for f in raw["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return []
    return [n for n in names if isinstance(n, str) and SHARD_NAME.match(n)]


def _generate_files(out: Path) -> list[Path]:
    files: list[Path] = []
    for name in (MANIFEST, *DATASET_FILES):
        files += _partials(out / name)
    try:
        m = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        shards = m.get("shards") if isinstance(m, dict) else None
    except (OSError, ValueError, RecursionError):
        shards = None
    for s in shards if isinstance(shards, list) else []:
        name = s.get("file") if isinstance(s, dict) else None
        if isinstance(name, str) and SHARD_NAME.match(name):
            files.append(out / name)
    files += [p for p in _children(out) if SHARD_FILE.match(p.name)]
    ev = out / "eval"
    for name in DATASET_FILES:
        files += _partials(ev / name)
    files += [ev / n for n in _listed(ev / "state.json")]
    files += [p for p in _children(ev) if SHARD_FILE.match(p.name)]
    files += _partials(out / "rejected" / "rejected.jsonl")
    for name in RUN_FILES:
        files += _partials(out / RUN_DIR / name)
    return files


def _filter_files(out: Path) -> list[Path]:
    files = _partials(out / FILTER_REPORT)
    for name in DATASET_FILES:
        files += _partials(out / name)
    try:
        report = json.loads((out / FILTER_REPORT).read_text(encoding="utf-8"))
        listed = report["output"]["files"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        listed = []
    for f in listed if isinstance(listed, list) else []:
        name = f.get("file") if isinstance(f, dict) else None
        if isinstance(name, str) and FILTER_FILE.match(name):
            files.append(out / name)
    files += _partials(out / "rejected" / "rejected.jsonl")
    return files


def _children(d: Path) -> list[Path]:
    try:
        return sorted(d.iterdir()) if d.is_dir() else []
    except OSError:
        return []


def owned(out: Path) -> Owned:
    """What synth wrote in `out` (kind None and no files: nothing of synth's)."""
    out = Path(out)
    kinds = [k for k, f in ((GENERATE, MANIFEST), (FILTER, FILTER_REPORT)) if (out / f).is_file()]
    files: list[Path] = []
    if GENERATE in kinds:
        files += _generate_files(out)
    if FILTER in kinds:
        files += _filter_files(out)
    # Leftovers of a run that wrote nothing whole are synth's whatever the folder holds.
    files += _partials(out / MANIFEST)[1:] + [out / RUN_DIR / "lock"]
    files += [
        p
        for p in _children(out)
        if p.name.endswith(".partial") and p.is_file() and SHARD_FILE.match(p.name)
    ]
    trees = [p for p in (out / "eval.partial", out / FILTER_STAGING) if p.is_dir()]
    dirs = [out / "eval", out / "rejected", out / RUN_DIR]
    return Owned(kinds[0] if kinds else None, _existing(files), trees, dirs)


def foreign(out: Path, own: Owned | None = None) -> list[str]:
    """Entries of `out` synth did not write (relative names; a folder of synth's layout
    is looked into, so `eval/my_eval_set.jsonl` counts and `eval/` itself does not)."""
    own = own or owned(out)
    mine = own.paths()
    layout = {d.name for d in own.dirs}
    found = []
    for p in _children(out):
        if p in mine:
            continue
        if p.is_dir() and not p.is_symlink() and p.name in layout:
            for q in _children(p):
                if q not in mine and not (p.name == RUN_DIR and q.name.startswith("llm-cache")):
                    found.append(f"{p.name}/{q.name}")
            continue
        found.append(p.name)
    return found


def remove(own: Owned) -> None:
    """Remove exactly what synth wrote; its folders go only if nothing else is in them."""
    for p in own.files:
        p.unlink(missing_ok=True)
    for t in own.trees:
        shutil.rmtree(t, ignore_errors=True)
    for d in own.dirs:
        try:
            d.rmdir()
        except OSError:
            pass  # not empty (the user's files, an LLM cache) or not there
