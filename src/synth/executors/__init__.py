"""Executors run work units somewhere and hand back their results in schedule order.

They know nothing of what a unit does: they are given `make_worker(setup)`, which builds,
once per process, an object whose `produce(unit, target)` makes a unit's result (in a run,
`synth.generation.unit.Producer`). The writer consumes their results one at a time, so
memory is bounded by the units in flight.
"""

from synth.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
