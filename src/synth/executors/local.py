"""Local processes (the default): `--workers N`, results in order, bounded in flight.

Stopping. Ctrl-C reaches every process of the terminal's group: workers ignore it, so
none dies holding the pool's task-queue lock (which made `Pool.terminate` wait for ever),
and the parent alone stops the run. Workers leave as soon as the parent is gone (killed
with SIGKILL, say) instead of finishing their units and writing tracebacks about a
broken pipe. `__exit__` gives the pool `SHUTDOWN_SECONDS` to stop, then kills what is left.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from synth import gc_policy
from synth.curriculum.schedule import Unit

_WORKER: Any = None
SHUTDOWN_SECONDS = 10.0


def _init(make_worker: Callable[[Any], Any], setup: Any) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    parent = mp.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    _WORKER = make_worker(setup)
    gc_policy.settle()


def _exit_with(sentinel: int) -> None:
    """Leave, quietly, when the parent process is gone."""
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(0)


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
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # Every wanted result is in by now; tails that ran ahead of the budget are not.
        procs = list(getattr(pool, "_pool", ()))  # the worker processes
        stopper = threading.Thread(target=_terminate, args=(pool,), daemon=True)
        stopper.start()
        stopper.join(SHUTDOWN_SECONDS)
        if stopper.is_alive():  # a pool wedged by a worker that died mid-protocol
            for p in procs:
                if p.is_alive():
                    p.kill()

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


def _terminate(pool: Any) -> None:
    pool.terminate()
    pool.join()
