"""Training the tiny model from scratch: seeded, stage by stage, within a time budget.

Determinism: the data order comes from a numpy generator and the weights from
torch's, both seeded; on CPU with a fixed thread count the same seed and step count
give the same numbers. `--minutes` picks the step count from a short timing of
throwaway steps before training starts (recorded in the report); pass `--steps` to
repeat a run exactly.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synth.efficacy.data import Corpus, Vocab, Windows, stage_schedule
from synth.efficacy.model import ModelConfig, TinyLM


@dataclass(frozen=True)
class TrainConfig:
    batch: int = 8
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    curve_points: int = 8  # learning-curve checkpoints (probe accuracy on a subset)
    bf16: bool = False  # autocast matmuls to bfloat16 (1.6x faster where the CPU has avx512_bf16)

    def to_json(self) -> dict:
        return asdict(self)


def lr_at(step: int, total: int, c: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio` of the peak."""
    if step < c.warmup:
        return c.lr * (step + 1) / c.warmup
    frac = (step - c.warmup) / max(1, total - c.warmup)
    return c.lr * (
        c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
    )


def cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (else autocast would be slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _autocast(device: str, c: TrainConfig):
    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=c.bf16)


def make_optimizer(model: TinyLM, c: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": c.weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=c.lr, betas=(0.9, 0.99))


def seconds_per_step(
    model: TinyLM, windows: Windows, c: TrainConfig, steps: int = 3, device: str = "cpu"
) -> float:
    """Time a few steps on a throwaway copy, so the real run's order does not depend on
    the clock."""
    m = copy.deepcopy(model)
    opt = make_optimizer(m, c)
    rng = np.random.default_rng(12345)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        x, y = windows.batch(0 if len(windows.stages) == 1 else -1, c.batch, rng)
        with _autocast(device, c):
            loss = m.loss(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()  # wait for the device
        if i:  # the first step pays for allocation
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def train(
    corpus: Corpus,
    vocab: Vocab,
    mc: ModelConfig,
    c: TrainConfig,
    steps: int,
    seed: int,
    deadline: float | None = None,
    device: str = "cpu",
    checkpoint: Callable[[TinyLM, int], dict[str, Any]] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[TinyLM, dict[str, Any]]:
    """Train for `steps` steps (stage by stage); returns the model and the training
    record: losses, the learning curve (with `checkpoint`'s figures), time."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TinyLM(mc).to(device)
    windows = Windows(corpus, vocab, mc.block)
    opt = make_optimizer(model, c)
    schedule = stage_schedule(corpus, steps)
    stage_of = [s for s, n in enumerate(schedule) for _ in range(n)]
    marks = sorted({max(1, round(steps * (i + 1) / c.curve_points)) for i in range(c.curve_points)})
    curve: list[dict[str, Any]] = []
    window_loss: list[float] = []
    first_loss: float | None = None
    t0 = time.perf_counter()
    done = 0
    stopped_early = False
    for step in range(steps):
        if deadline is not None and time.monotonic() > deadline:
            stopped_early = True
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, c)
        x, y = windows.batch(stage_of[step], c.batch, rng)
        with _autocast(device, c):
            loss = model.loss(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        value = loss.item()
        first_loss = value if first_loss is None else first_loss
        window_loss.append(value)
        done = step + 1
        if progress is not None:
            progress(done, steps, value)
        if done in marks:
            point = {
                "step": done,
                "units_seen": done * c.batch * mc.block,
                "stage": stage_of[step],
                "train_loss": round(float(np.mean(window_loss)), 4),
                "minutes": round((time.perf_counter() - t0) / 60, 2),
            }
            window_loss = []
            if checkpoint is not None:
                point.update(checkpoint(model, done))
            curve.append(point)
    if window_loss:  # stopped between checkpoints: the loss so far still counts
        curve.append(
            {
                "step": done,
                "units_seen": done * c.batch * mc.block,
                "stage": stage_of[done - 1],
                "train_loss": round(float(np.mean(window_loss)), 4),
                "minutes": round((time.perf_counter() - t0) / 60, 2),
            }
        )
    record = {
        "steps": done,
        "planned_steps": steps,
        "stopped_early": stopped_early,
        "stage_steps": schedule,
        "units_seen": done * c.batch * mc.block,
        "epochs": round(done * c.batch * mc.block / max(1, windows.units), 2),
        "first_loss": round(first_loss or 0.0, 4),
        "final_loss": curve[-1]["train_loss"] if curve else None,
        "train_minutes": round((time.perf_counter() - t0) / 60, 2),
        "curve": curve,
    }
    return model, record
