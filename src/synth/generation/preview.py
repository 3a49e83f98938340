"""`synth generate --preview N`: the first items a run would realise, shown, not written.

Before paying for a run (hours on a CPU, or rented GPUs) a user wants to see what the
model makes of the prompts: N items are drawn exactly as the run draws its first ones
(the first unit of each stage in turn, the same templates, difficulties and seeds),
realised through the run's backend with every option it would use, and returned with
the prompt the model got, each reply with its verdict, and the row's final verdict (the
per-sample filters after the realiser). Nothing is written to --out: responses are
cached in memory only (unless `--llm-option cache=FILE` names a file).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from synth.backends.base import counters_of, diff_counters
from synth.backends.realise import REALISED_BY, TRACE
from synth.curriculum.schedule import make_schedule
from synth.errors import UserError
from synth.generation.config import GenerateConfig
from synth.generation.resolve import resolve
from synth.generation.unit import Producer

MAX_PREVIEW = 1000


@dataclass
class PreviewItem:
    """One realised item: what was asked, what came back, and what the run would do."""

    index: int
    id: str
    template: str
    stage: str
    difficulty: int
    gold: str | None
    mode: str | None  # the realisation mode, None when the row keeps its render
    prompt: list[dict[str, str]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)  # {"reply", "verdict"}
    verdict: str | None = None  # None: kept; else the reason it is rejected
    text: str = ""  # the row as a trainer would see it
    tokens: int = 0


def preview(config: GenerateConfig, n: int) -> tuple[list[PreviewItem], dict[str, Any]]:
    """Realise the first `n` items of the run `config` describes; returns them and the
    backend's counters for the preview (requests, generated tokens, seconds)."""
    if n < 1 or n > MAX_PREVIEW:
        raise UserError(f"--preview: give a number of items from 1 to {MAX_PREVIEW}, got {n}")
    run = resolve(config)
    settings = run.settings
    options = dict(settings.backend_options)
    if "cache" not in config.llm_options:
        options.pop("cache", None)  # in memory: nothing is written to --out
    setup = replace(run.setup, settings=replace(settings, backend_options=options))
    producer = Producer(setup, run.lib, run.tokenizer)
    realiser = getattr(producer.backend, "realiser", None)
    if realiser is not None:
        realiser.trace = True
    plan = make_schedule(
        run.tier,
        run.budget,
        entities=run.active_entities,
        kinds=run.kinds,
        costly=config.backend != "template",
    )
    before = counters_of(producer.backend)
    t0 = time.perf_counter()
    drawn = list(_draw(producer, plan, n))
    rows = producer.finish([row for row, _ in drawn])
    reasons = [producer.chain.reason(r) for r in rows]
    seconds = time.perf_counter() - t0
    items = []
    for i, ((_, stage), row, reason) in enumerate(zip(drawn, rows, reasons)):
        trace = row.meta.get(TRACE) or {}
        items.append(
            PreviewItem(
                index=i,
                id=row.id,
                template=row.template,
                stage=run.tier.stages[stage].name,
                difficulty=row.difficulty,
                gold=row.meta.get("answer_text") or row.answer,
                mode=row.meta.get(REALISED_BY),
                prompt=trace.get("prompt") or [],
                attempts=trace.get("attempts") or [],
                verdict=reason,
                text=row.text,
                tokens=row.n_tokens,
            )
        )
    stats = diff_counters(counters_of(producer.backend), before)
    return items, {**stats, "seconds": seconds}


def _draw(producer: Producer, plan, n: int) -> Iterator[tuple[Any, int]]:
    """The run's first items: item k from stage k mod (stages), each stage's from its
    first unit in the order that unit draws them."""
    stages = len(plan.stage_units)
    per_stage = [n // stages + (1 if s < n % stages else 0) for s in range(stages)]
    wanted: dict[int, list] = {}
    for s, count in enumerate(per_stage):
        if not count:
            continue
        unit = plan.units[plan.stage_units[s][0]]
        counters: dict[str, int] = defaultdict(int)
        scope = producer.scope(unit)
        rows = []
        for _, tid, diff, is_replay in producer.positions(
            unit, producer.mixes(unit), 0, count, 0.0
        ):
            k = counters[tid]
            counters[tid] += 1
            row, _ = producer.item(tid, (unit.index, k), diff, scope, unit.stage, position=k)
            row.replay = is_replay
            rows.append(row)
        wanted[s] = rows
    for k in range(n):
        s = k % stages
        yield wanted[s][k // stages], s
