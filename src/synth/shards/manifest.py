"""`manifest.json`: the one reader and the one writer of a corpus's manifest.

The manifest says what a corpus folder holds (config, fingerprint, shards with their
sha256, rows and tokens, stages, filter counts, timing) and whether the run finished.
Every command that opens a synth corpus (`verify`, `export`, `qa`, `curriculum check`,
a resumed `generate`) reads it here, so each gets the same checks and the same one-line
errors: a missing or unreadable file, a manifest of a run that stopped before its first
shard (no `shards` yet), and shard names that would lead outside the folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from synth.errors import UserError
from synth.shards.atomic import write_json

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
# A shard is a plain file of the folder: `data-00000.arrow`, never a path.
SHARD_NAME = re.compile(r"^data-\d{5,}\.arrow$")


def manifest_path(out: Path) -> Path:
    return Path(out) / MANIFEST


def is_corpus(out: Path) -> bool:
    """Whether `out` holds a manifest (a synth corpus, finished or not)."""
    return manifest_path(out).is_file()


def read_manifest(out: Path, *, complete: bool = False) -> dict[str, Any]:
    """The manifest of the corpus in `out`, checked. `complete`: refuse a run that did not
    finish (with what to do). A manifest written before the first shard closed has its
    `shards` as an empty list."""
    path = manifest_path(out)
    if not path.is_file():
        raise UserError(f"{out}: no {MANIFEST}; not a synth corpus")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise UserError(f"{path}: unreadable ({_short(e)})") from None
    if not isinstance(m, dict):
        raise UserError(f"{path}: not a synth manifest (not a JSON object)")
    shards = m.setdefault("shards", [])
    if not isinstance(shards, list):
        raise UserError(f"{path}: not a synth manifest ('shards' is not a list)")
    for i, s in enumerate(shards):
        if not isinstance(s, dict) or not isinstance(s.get("file"), str):
            raise UserError(f"{path}: shards[{i}] has no file name")
        if not SHARD_NAME.match(s["file"]):
            raise UserError(
                f"{path}: shards[{i}]: {s['file'][:80]!r} is not a shard file name (data-NNNNN.arrow)"
            )
        for key in ("rows", "tokens", "bytes"):
            if not isinstance(s.get(key), int) or isinstance(s.get(key), bool):
                raise UserError(f"{path}: shards[{i}]: {key!r} is not a whole number")
        if not isinstance(s.get("sha256"), str):
            raise UserError(f"{path}: shards[{i}]: no sha256")
    if complete and m.get("status") != "complete":
        raise UserError(
            f"{out}: the run did not finish (status {m.get('status')!r}); "
            "re-run the same `synth generate` command to complete it"
        )
    return m


def shard_paths(out: Path, manifest: dict[str, Any]) -> list[Path]:
    """The shard files in manifest order: the curriculum order."""
    return [Path(out) / s["file"] for s in manifest["shards"]]


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Written whole or not at all (a partial file, then a rename)."""
    write_json(manifest_path(out), manifest)


def _short(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."
