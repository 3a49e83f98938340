"""`synth generate` as a library: `synth.generate(GenerateConfig(...))` is what the CLI
calls (the package is `generation`, so that `synth.generate` stays the function).

    config.py   what a run takes (one field per CLI option)
    resolve.py  everything resolved once: tier, templates, tokenizer, world, fingerprint
    outdir.py   the output folder: new, resumed, or refused; one run at a time
    state.py    the resume state: data only (JSON and numpy arrays), checked when read
    run.py      the run: schedule → units (in executors) → corpus filters → shards, manifest
    unit.py     one work unit: draw, render, realise, tokenize, per-sample filters
    probes.py   the held-out eval split
"""

from synth.generation.config import GenerateConfig
from synth.generation.run import generate

__all__ = ["GenerateConfig", "generate"]
