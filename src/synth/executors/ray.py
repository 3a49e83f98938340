"""Ray (`--executor ray [--ray-address ADDR]`): the same units as Ray tasks on an
existing cluster, or on a local one started for the run. Results come back in plan
order to the one writer, so the corpus is byte-identical to the local executor's.

CPU backends run units as tasks (each Ray worker process keeps its producer between
tasks). GPU backends get one actor per GPU holding the engine (`num_gpus=1`), so a
cluster of GPU nodes generates in parallel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from synth import gc_policy
from synth.curriculum.plan import Unit
from synth.errors import UserError
from synth.produce import Producer, Settings, UnitResult

GPU_BACKENDS = {"vllm", "hf"}


def _ray():
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'synth[ray]'") from None
    return ray


_PRODUCER: tuple[Settings, Producer] | None = None


def _produce(settings: Settings, unit: Unit, target: int | None) -> UnitResult:
    global _PRODUCER
    if _PRODUCER is None or _PRODUCER[0] != settings:
        _PRODUCER = (settings, Producer.from_settings(settings))
        gc_policy.settle()
    return _PRODUCER[1].produce(unit, target)


class _Engine:
    """An actor holding one producer (and its model) on one GPU."""

    def __init__(self, settings: Settings):
        self.producer = Producer.from_settings(settings)
        gc_policy.settle()

    def produce(self, unit: Unit, target: int | None) -> UnitResult:
        return self.producer.produce(unit, target)


class RayExecutor:
    def __init__(self, settings: Settings, address: str | None = None, workers: int | None = None):
        self.settings = settings
        self.address = address
        self.workers = workers
        self._started = False

    def __enter__(self) -> RayExecutor:
        ray = _ray()
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
        if self.settings.backend in GPU_BACKENDS:
            gpus = int(ray.cluster_resources().get("GPU", 0))
            if gpus:
                engine = ray.remote(num_gpus=1)(_Engine)
                self._actors = [engine.remote(self.settings) for _ in range(gpus)]
        self._slots = len(self._actors) or int(ray.cluster_resources().get("CPU", 1))
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            _ray().shutdown()

    def _submit(self, i: int, unit: Unit, target: int | None):
        if self._actors:
            return self._actors[i % len(self._actors)].produce.remote(unit, target)
        return self._task.remote(self.settings, unit, target)

    def run(self, units: Iterable[Unit]) -> Iterator[UnitResult]:
        """Results in plan order; at most 2 × slots units in flight."""
        ray = _ray()
        window: deque = deque()
        for i, u in enumerate(units):
            window.append(self._submit(i, u, None))
            if len(window) >= 2 * self._slots:
                yield ray.get(window.popleft())
        while window:
            yield ray.get(window.popleft())
