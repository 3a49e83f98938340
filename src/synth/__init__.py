"""synth: seeded synthetic worlds → curriculum-ordered, token-budgeted fine-tuning corpora.

import synth
synth.generate(synth.GenerateConfig(tier="ontology", out="outputs/ontology", tokens="5M"))
"""

__version__ = "0.1.0"

__all__ = ["GenerateConfig", "generate", "__version__"]


def __getattr__(name: str):
    # Lazy, so `import synth` stays cheap for tools that only need a submodule.
    if name in ("GenerateConfig", "generate"):
        from synth import generation as _g

        return getattr(_g, name)
    raise AttributeError(name)
