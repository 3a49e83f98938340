"""The backend interface: a batch of rendered samples in, final samples out."""

from __future__ import annotations

from typing import Protocol

from synth.errors import UserError
from synth.row import Row


class Backend(Protocol):
    name: str
    model: str | None

    def realise(self, rows: list[Row]) -> list[Row]:
        """Return the rows to keep, realised; may rewrite `messages`/`text`."""
        ...


class TemplateBackend:
    """The render is the sample."""

    name = "template"
    model = None

    def realise(self, rows: list[Row]) -> list[Row]:
        return rows


def get_backend(name: str, **options) -> Backend:
    if name == "template":
        return TemplateBackend()
    raise UserError(f"--backend: unknown backend {name!r}; available: template")
