"""Backends turn a rendered sample into the final sample.

`template` (the default) keeps the render as it is: no GPU, no network, exact text.
LLM backends (`hf`, `openai`, `vllm`: synth.backends.realise and one engine module
each) have a model realise the render, then verify what it wrote against the gold
answer and the formal facts; see docs/llm.md.
"""

from __future__ import annotations

from typing import Any

from synth.backends.base import ENGINES, Backend, TemplateBackend
from synth.errors import UserError


def get_backend(name: str, **options: Any) -> Backend:
    """`template`, or an LLM backend (`hf`, `openai`, `vllm`) built from `options`
    (see synth.backends.realise.LLMBackend.from_options). Options that are None are
    ignored, so a caller can pass every CLI option as it is."""
    options = {k: v for k, v in options.items() if v is not None}
    if name == "template":
        return TemplateBackend()
    if name not in ENGINES:
        raise UserError(
            f"--backend: unknown backend {name!r}; available: template, {', '.join(ENGINES)}"
        )
    from synth.backends.realise import LLMBackend

    return LLMBackend.from_options(name, options)


__all__ = ["Backend", "TemplateBackend", "get_backend"]
