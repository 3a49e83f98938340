"""Resource planning for training on a tier: `synth plan`.

`models` knows architectures and counts parameters, `gpus` knows cards, `estimate` turns
both into memory, time, generation and disk figures, `build` assembles them into a plan
and `report` prints it.
"""

from __future__ import annotations

from synth.plan.build import DEFAULT_BUDGETS, build_plan, plan_json, tier_budget
from synth.plan.estimate import Setup, estimate_memory
from synth.plan.models import Architecture, count_params, resolve_model

__all__ = [
    "DEFAULT_BUDGETS",
    "Architecture",
    "Setup",
    "build_plan",
    "count_params",
    "estimate_memory",
    "plan_json",
    "resolve_model",
    "tier_budget",
]
