"""`synth filter`: the generation filter chain over a corpus synth did not make.

`run.filter_corpus` reads, filters and reports; `output` stages and writes the kept rows.
"""

from synth.filtering.run import FilterConfig, filter_corpus

__all__ = ["FilterConfig", "filter_corpus"]
