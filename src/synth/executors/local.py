"""Local processes (the default): `--workers N`, results in order, bounded in flight."""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from synth import gc_policy
from synth.curriculum.schedule import Unit

_WORKER: Any = None


def _init(make_worker: Callable[[Any], Any], setup: Any) -> None:
    global _WORKER
    _WORKER = make_worker(setup)
    gc_policy.settle()


def _run(unit: Unit, target: int | None) -> Any:
    assert _WORKER is not None
    return _WORKER.produce(unit, target)


class LocalExecutor:
    """`workers` processes, each with one worker built from `setup` when it starts; with
    one worker, `worker` (the caller's own, already built) runs the units in this process."""

    def __init__(
        self,
        make_worker: Callable[[Any], Any],
        setup: Any,
        workers: int = 1,
        worker: Any = None,
    ):
        self.make_worker = make_worker
        self.setup = setup
        self.workers = max(1, workers)
        self._worker = worker
        self._pool = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            # spawn: tokenizer and template state are rebuilt per process, never forked mid-use
            ctx = mp.get_context("spawn")
            self._pool = ctx.Pool(
                self.workers, initializer=_init, initargs=(self.make_worker, self.setup)
            )
        elif self._worker is None:
            self._worker = self.make_worker(self.setup)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            # Every wanted result is in by now; tails that ran ahead of the budget are not.
            self._pool.terminate()
            self._pool.join()

    def run(self, units: Iterable[Unit]) -> Iterator[Any]:
        """Results in schedule order; at most 2 × workers units in flight (backpressure)."""
        if self._pool is None:
            for u in units:
                yield self._worker.produce(u)
            return
        window: deque = deque()
        for u in units:
            window.append(self._pool.apply_async(_run, (u, None)))
            if len(window) >= 2 * self.workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
