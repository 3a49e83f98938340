"""Ray (`--executor ray [--ray-address ADDR]`): the same units as Ray tasks on an
existing cluster, or on a local one started for the run. Results come back in plan
order to the one writer, so the corpus is byte-identical to the local executor's.

CPU backends run units as tasks (each Ray worker process keeps its producer between
tasks). GPU backends get one actor per GPU holding the engine (`num_gpus=1`), so a
cluster of GPU nodes generates in parallel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from synth import gc_policy
from synth.curriculum.schedule import Unit
from synth.errors import UserError

GPU_BACKENDS = {"vllm", "hf"}


def require_ray():
    """The `ray` module, or a UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'synth[ray]'") from None
    return ray


_WORKER: tuple[str, Any] | None = None


def _produce(make_worker: Callable[[Any], Any], setup: Any, unit: Unit, target: int | None) -> Any:
    """A task: the worker process keeps its worker between tasks of the same run (setups
    are told apart by `setup.key`)."""
    global _WORKER
    if _WORKER is None or _WORKER[0] != setup.key:
        _WORKER = (setup.key, make_worker(setup))
        gc_policy.settle()
    return _WORKER[1].produce(unit, target)


class _Engine:
    """An actor holding one producer (and its model) on one GPU."""

    def __init__(self, make_worker: Callable[[Any], Any], setup: Any):
        self.worker = make_worker(setup)
        gc_policy.settle()

    def produce(self, unit: Unit, target: int | None) -> Any:
        return self.worker.produce(unit, target)


class RayExecutor:
    def __init__(
        self,
        make_worker: Callable[[Any], Any],
        setup: Any,
        address: str | None = None,
        workers: int | None = None,
    ):
        self.make_worker = make_worker
        self.setup = setup
        self.address = address
        self.workers = workers
        self._started = False

    def __enter__(self) -> RayExecutor:
        ray = require_ray()
        if not ray.is_initialized():
            try:
                if self.address:
                    ray.init(address=self.address, log_to_driver=False)
                else:
                    ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            except ConnectionError as e:
                raise UserError(
                    f"--ray-address: cannot connect to a Ray cluster at {self.address}: {e}"
                ) from None
            self._started = True
        self._task = ray.remote(_produce)
        self._actors = []
        # The setup (the world included) goes to the object store once, not with each task.
        self._setup = ray.put(self.setup)
        if self.setup.settings.backend in GPU_BACKENDS:
            gpus = int(ray.cluster_resources().get("GPU", 0))
            if gpus:
                engine = ray.remote(num_gpus=1)(_Engine)
                self._actors = [engine.remote(self.make_worker, self._setup) for _ in range(gpus)]
        self._slots = len(self._actors) or int(ray.cluster_resources().get("CPU", 1))
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            require_ray().shutdown()

    def _submit(self, i: int, unit: Unit, target: int | None):
        if self._actors:
            return self._actors[i % len(self._actors)].produce.remote(unit, target)
        return self._task.remote(self.make_worker, self._setup, unit, target)

    def run(self, units: Iterable[Unit]) -> Iterator[Any]:
        """Results in plan order; at most 2 × slots units in flight."""
        ray = require_ray()
        window: deque = deque()
        for i, u in enumerate(units):
            window.append(self._submit(i, u, None))
            if len(window) >= 2 * self._slots:
                yield ray.get(window.popleft())
        while window:
            yield ray.get(window.popleft())
