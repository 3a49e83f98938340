"""Local processes (the default): `--workers N`, results in order, bounded in flight."""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Iterable, Iterator

from synth import gc_policy
from synth.curriculum.plan import Unit
from synth.produce import Producer, Settings, UnitResult

_PRODUCER: Producer | None = None


def _init(settings: Settings) -> None:
    global _PRODUCER
    _PRODUCER = Producer.from_settings(settings)
    gc_policy.settle()


def _run(unit: Unit, target: int | None) -> UnitResult:
    assert _PRODUCER is not None
    return _PRODUCER.produce(unit, target)


class LocalExecutor:
    def __init__(self, settings: Settings, workers: int = 1, producer: Producer | None = None):
        self.settings = settings
        self.workers = max(1, workers)
        self._producer = producer
        self._pool = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            # spawn: tokenizer and template state are rebuilt per process, never forked mid-use
            ctx = mp.get_context("spawn")
            self._pool = ctx.Pool(self.workers, initializer=_init, initargs=(self.settings,))
        elif self._producer is None:
            self._producer = Producer.from_settings(self.settings)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            # Every wanted result is in by now; tails that ran ahead of the budget are not.
            self._pool.terminate()
            self._pool.join()

    def run(self, units: Iterable[Unit]) -> Iterator[UnitResult]:
        """Results in plan order; at most 2 × workers units in flight (backpressure)."""
        if self._pool is None:
            for u in units:
                yield self._producer.produce(u)
            return
        window: deque = deque()
        for u in units:
            window.append(self._pool.apply_async(_run, (u, None)))
            if len(window) >= 2 * self.workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
