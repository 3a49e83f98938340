"""Concept layering: a tier's curriculum (`tier`), the concept DAG its templates declare
(`concepts`), the schedule that says what fills each position of the corpus
(`schedule`), and a corpus checked against it (`check`)."""

from synth.curriculum.schedule import Schedule, Unit, make_schedule
from synth.curriculum.tier import TierConfig, load_tier

__all__ = ["Schedule", "TierConfig", "Unit", "load_tier", "make_schedule"]
