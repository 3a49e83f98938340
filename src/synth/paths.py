"""Where the built-in templates and curricula are: inside the installed wheel, or at the
top of a source checkout (editable installs and running from the repository); and where
synth keeps what it can rebuild (converted models, compiled templates)."""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    installed = _PKG / "data" / name
    if installed.is_dir():
        return installed
    return _PKG.parents[1] / name


def cache_root() -> Path:
    """`$SYNTH_CACHE_DIR`, else `~/.cache/synth`: nothing in it is needed, all of it is
    rebuilt when missing."""
    base = os.environ.get("SYNTH_CACHE_DIR") or Path.home() / ".cache" / "synth"
    return Path(base)
