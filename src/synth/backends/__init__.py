"""Backends turn a rendered sample into the final sample.

`template` (the default) keeps the render as it is: no GPU, no network, exact text.
LLM backends realise or paraphrase the render; what they return is verified against
the gold answer by the same filters.
"""

from synth.backends.base import Backend, get_backend

__all__ = ["Backend", "get_backend"]
