"""Where the built-in templates and curricula are: inside the installed wheel, or at the
top of a source checkout (editable installs and running from the repository)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    installed = _PKG / "data" / name
    if installed.is_dir():
        return installed
    return _PKG.parents[1] / name
