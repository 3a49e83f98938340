"""Resource planning for training on a tier: `synth plan`.

`models` knows architectures and counts parameters, `gpus` knows cards, `estimate` turns
both into memory, time, generation and disk figures, and `cli` prints them.
"""

from __future__ import annotations

from synth.plan.cli import DEFAULT_BUDGETS, build_plan, plan, tier_budget
from synth.plan.estimate import Setup, estimate_memory
from synth.plan.models import Architecture, count_params, resolve_model

__all__ = [
    "DEFAULT_BUDGETS",
    "Architecture",
    "Setup",
    "build_plan",
    "count_params",
    "estimate_memory",
    "plan",
    "resolve_model",
    "tier_budget",
]
