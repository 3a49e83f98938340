"""`synth efficacy`: does a corpus teach its world? Checked on a laptop before GPU days.

A tiny word-level transformer is trained from scratch on a corpus (or on a compact
ontology world generated for the purpose, through the real `synth.generate`), then asked
the corpus's held-out probes by greedy decoding. Accuracy on stated facts, derived facts
by proof depth and reversed relations, each beside its majority-class chance, tells
whether the design (renderings, shuffling, QA mixing, derived statements) lets facts be
learned and used. PyTorch is an optional extra: pip install 'synth[efficacy]'.
"""

from synth.efficacy.design import Design
from synth.efficacy.run import EfficacyConfig, run_efficacy

__all__ = ["Design", "EfficacyConfig", "run_efficacy"]
