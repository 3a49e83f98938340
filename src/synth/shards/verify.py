"""Compare a corpus folder with its manifest: files, sha256, rows and tokens, and what
`datasets.load_from_disk` will read.

The manifest is the record; everything else in the folder is checked against it, never
trusted: each shard's size and sha256 before it is opened (a shard is opened only if it
is the file the manifest describes), `state.json` (the list of files `load_from_disk`
reads: a stale one silently drops shards), and the eval split in `eval/` (its shards'
sha256 when the manifest records them, else that `eval/state.json` lists readable
shards of the folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from synth.errors import UserError
from synth.shards.atomic import sha256_file
from synth.shards.manifest import SHARD_NAME, read_manifest


def verify_corpus(out: Path) -> list[str]:
    """Problems found (empty: the folder is exactly what the manifest says)."""
    m = read_manifest(out)
    problems = []
    rows = tokens = 0
    for s in m["shards"]:
        p = out / s["file"]
        if not p.is_file():
            problems.append(f"{s['file']}: missing")
            continue
        if p.stat().st_size != s["bytes"]:
            problems.append(f"{s['file']}: {p.stat().st_size} bytes, manifest says {s['bytes']}")
            continue
        if sha256_file(p) != s["sha256"]:
            problems.append(f"{s['file']}: sha256 differs from the manifest")
            continue
        t = _read(p)
        if t is None:
            problems.append(f"{s['file']}: not a readable Arrow stream")
            continue
        n = int(pc.sum(t.column("n_tokens")).as_py() or 0) if "n_tokens" in t.column_names else 0
        if t.num_rows != s["rows"]:
            problems.append(f"{s['file']}: {t.num_rows} rows, manifest says {s['rows']}")
        if n != s["tokens"]:
            problems.append(f"{s['file']}: {n} tokens, manifest says {s['tokens']}")
        rows += t.num_rows
        tokens += n
    listed = {s["file"] for s in m["shards"]}
    for p in sorted(out.glob("data-*.arrow")):
        if p.name not in listed:
            problems.append(f"{p.name}: not in the manifest")
    totals = m.get("totals") if isinstance(m.get("totals"), dict) else {}
    if not problems and m["shards"]:
        if rows != totals.get("rows"):
            problems.append(f"totals: {rows} rows, manifest says {totals.get('rows')}")
        if tokens != totals.get("tokens"):
            problems.append(f"totals: {tokens} tokens, manifest says {totals.get('tokens')}")
    problems += _check_state(out, [s["file"] for s in m["shards"]], rows, m)
    problems += _check_eval(out, m)
    if m.get("status") != "complete":
        problems.append(
            f"status is {m.get('status')!r}: the run did not finish (re-run the same command to resume)"
        )
    return problems


def check_shards(out: Path, manifest: dict[str, Any]) -> None:
    """Every shard the manifest lists is there with its size and sha256, before anything
    reads it (`synth export`); UserError naming the first that is not."""
    for s in manifest["shards"]:
        p = Path(out) / s["file"]
        if not p.is_file():
            raise UserError(f"{p}: shard listed in the manifest is missing")
        if p.stat().st_size != s["bytes"] or sha256_file(p) != s["sha256"]:
            raise UserError(
                f"{p}: differs from the manifest (size or sha256); run `synth verify {out}`"
            )


def describe_shards(folder: Path) -> list[dict[str, Any]]:
    """The shards a `save_to_disk` folder's state.json lists: file, rows, bytes, sha256
    (what the manifest records of the eval split)."""
    out = []
    for name in _state_files(folder) or []:
        p = folder / name
        t = _read(p)
        out.append(
            {
                "file": name,
                "rows": t.num_rows if t is not None else 0,
                "bytes": p.stat().st_size,
                "sha256": sha256_file(p),
            }
        )
    return out


def _read(p: Path) -> pa.Table | None:
    try:
        with pa.OSFile(str(p), "rb") as f:
            return pa.ipc.open_stream(f).read_all()
    except (pa.ArrowInvalid, OSError):
        return None


def _state_files(folder: Path) -> list[str] | None:
    """The file names state.json lists (None: no readable state.json)."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        names = [f["filename"] for f in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return [str(n) for n in names]


def _check_state(out: Path, files: list[str], rows: int, m: dict) -> list[str]:
    """`load_from_disk(out)` reads the files state.json lists: they must be the shards."""
    listed = _state_files(out)
    if listed is None:
        if files or m.get("status") == "complete":
            return [
                "state.json: missing or unreadable, so datasets.load_from_disk cannot open the folder"
            ]
        return []
    if listed != files:
        return [
            f"state.json lists {len(listed)} file(s) {_names(listed)}, the manifest"
            f" {len(files)} {_names(files)}: datasets.load_from_disk would not read the corpus"
            f" the manifest describes ({rows:,} rows)"
        ]
    return []


def _check_eval(out: Path, m: dict) -> list[str]:
    ev = out / "eval"
    recorded = (m.get("eval") or {}).get("shards") if isinstance(m.get("eval"), dict) else None
    if not ev.is_dir():
        return ["eval/: missing (the held-out probes)"] if m.get("status") == "complete" else []
    listed = _state_files(ev)
    if listed is None:
        return ["eval/state.json: missing or unreadable"]
    problems = []
    for name in listed:
        if not SHARD_NAME.match(name):
            problems.append(f"eval/state.json: {name[:60]!r} is not a shard file name")
            continue
        p = ev / name
        if not p.is_file():
            problems.append(f"eval/{name}: missing")
        elif recorded is None and _read(p) is None:
            problems.append(f"eval/{name}: not a readable Arrow stream")
    if recorded is not None and not problems:
        if [r.get("file") for r in recorded] != listed:
            problems.append(
                f"eval/state.json lists {_names(listed)}, the manifest {_names([r.get('file') for r in recorded])}"
            )
        for r in recorded:
            p = ev / str(r.get("file"))
            if p.is_file() and (
                p.stat().st_size != r.get("bytes") or sha256_file(p) != r.get("sha256")
            ):
                problems.append(f"eval/{r.get('file')}: sha256 differs from the manifest")
    return problems


def _names(names: list) -> str:
    shown = ", ".join(str(n) for n in names[:3])
    return f"({shown}{', ...' if len(names) > 3 else ''})"
