"""Executors run work units somewhere and hand back their results in plan order.

They know nothing of what a unit does (that is `synth.produce`); the writer consumes
their results one at a time, so memory is bounded by the units in flight.
"""

from synth.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
