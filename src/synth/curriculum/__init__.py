"""Concept layering: the plan that says what fills each position of the corpus."""

from synth.curriculum.plan import Plan, Unit, make_plan

__all__ = ["Plan", "Unit", "make_plan"]
