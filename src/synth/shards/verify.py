"""Compare a corpus folder with its manifest: files, sha256, rows and tokens."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from synth.shards.atomic import sha256_file
from synth.shards.manifest import read_manifest


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
        if sha256_file(p) != s["sha256"]:
            problems.append(f"{s['file']}: sha256 differs from the manifest")
            continue
        with pa.OSFile(str(p), "rb") as f:
            t = pa.ipc.open_stream(f).read_all()
        n = int(pc.sum(t.column("n_tokens")).as_py() or 0)
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
    if not problems:
        if rows != m["totals"]["rows"]:
            problems.append(f"totals: {rows} rows, manifest says {m['totals']['rows']}")
        if tokens != m["totals"]["tokens"]:
            problems.append(f"totals: {tokens} tokens, manifest says {m['totals']['tokens']}")
    if m.get("status") != "complete":
        problems.append(
            f"status is {m.get('status')!r}: the run did not finish (re-run the same command to resume)"
        )
    return problems
