"""The output folder of `synth generate`: whose it is, and what a re-run does with it.

An empty or new folder is ours; a folder holding a corpus with the same fingerprint is
resumed; one holding another corpus, or other files, is refused unless `--overwrite`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from synth.errors import UserError
from synth.generation.resolve import Resolved
from synth.shards.manifest import MANIFEST, read_manifest


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
                out.append(f"{k} ({old.get(k)!r} → {new.get(k)!r})")
    return out


OUR_FILES = ("data-", "manifest.json", "state.json", "dataset_info.json")
OUR_DIRS = ("eval", "rejected", ".synth")


def prepare_out(run: Resolved) -> dict | None:
    """Check the output folder; returns the manifest of a run to resume, if any."""
    out = Path(run.config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a directory")
    manifest_path = out / MANIFEST
    if out.is_dir() and any(out.iterdir()):
        if run.config.overwrite:
            for p in out.iterdir():
                if p.is_dir() and p.name == ".synth":
                    # LLM responses are keyed by what asked for them: still valid, keep them
                    for q in p.iterdir():
                        if not q.name.startswith("llm-cache.sqlite"):
                            shutil.rmtree(q) if q.is_dir() else q.unlink()
                elif p.is_dir() and p.name in OUR_DIRS:
                    shutil.rmtree(p)
                elif p.is_file() and p.name.startswith(OUR_FILES):
                    p.unlink()
            return None
        if not manifest_path.is_file():
            raise UserError(
                f"--out: {out} is not empty and holds no synth corpus; choose another folder or pass --overwrite"
            )
        try:
            old = read_manifest(out)
        except UserError as e:
            raise UserError(f"--out: {e}; pass --overwrite to start over") from None
        if old.get("fingerprint") != run.fingerprint:
            diff = ", ".join(differences(old.get("resolved", {}), run.resolved)) or "unknown"
            raise UserError(
                f"--out: {out} holds a different corpus (differs in: {diff}); pass --overwrite to replace it"
            )
        return old
    return None


def discard_partials(out: Path, keep: list[str]) -> None:
    """Shard files not recorded as complete, and half-written files, go."""
    for p in out.glob("data-*.arrow*"):
        if p.name not in keep:
            p.unlink()
