"""Backends turn a rendered sample into the final sample.

`template` (the default) keeps the render as it is: no GPU, no network, exact text.
LLM backends (`hf`, `openai`, `vllm`: synth.backends.realise and one engine module
each) have a model realise the render, then verify what it wrote against the gold
answer and the formal facts; see docs/llm.md.
"""

from synth.backends.base import Backend, TemplateBackend, get_backend

__all__ = ["Backend", "TemplateBackend", "get_backend"]
