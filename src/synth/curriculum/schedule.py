"""The schedule: the corpus cut into stages, and stages into work units.

A unit is a slice of a stage with a token target, a template mix, a difficulty ramp
and (for the ontology tier) the slice of the world it must state first. Its rows depend
only on the config, the seed and the unit's index, so any process can produce it and
the corpus is the same bytes whatever the number of workers.

Budget arithmetic: every unit but the last stops *before* its target would be exceeded,
so the units together come in just under the budget; the tail unit (run last, with the
remainder as its target) stops at the first sample that reaches it. The corpus thus
meets the budget and exceeds it by less than one sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from synth.curriculum.tier import TierConfig

MIN_UNIT_TOKENS = 20_000
# A unit is held whole in memory (its rows, then its table), so its size caps the
# working set: past 64 x MAX the budget adds units, not memory.
MAX_UNIT_TOKENS = 250_000
UNITS_PER_BUDGET = 64  # enough units for every core, few enough that per-unit cost is small


@dataclass(slots=True)  # a 10B-token plan has tens of thousands of units
class Unit:
    index: int
    stage: int
    tokens: int
    mix: dict[str, float]  # template -> weight, this stage's templates
    replay: float  # share of rows drawn from earlier stages' templates
    replay_mix: dict[str, float]
    replay_difficulty: tuple[int, int]
    difficulty: tuple[float, float]  # difficulty at the unit's start and end (ramp)
    introduce_entities: tuple[int, int] = (0, 0)
    introduce_kinds: tuple[int, int] = (0, 0)
    known_entities: int = 0
    known_kinds: int = 0
    tail: bool = False  # fills whatever the budget still needs

    @property
    def id(self) -> str:
        return f"u{self.index:06d}"


@dataclass
class Schedule:
    units: list[Unit]
    unit_tokens: int
    stage_units: list[tuple[int, int]] = field(default_factory=list)  # [first, last] per stage
    stage_tokens: list[int] = field(default_factory=list)  # each stage's share of the budget


def unit_tokens_for(budget: int) -> int:
    """Unit size from the budget alone (never from the worker count: that would change
    the bytes)."""
    return max(MIN_UNIT_TOKENS, min(MAX_UNIT_TOKENS, budget // UNITS_PER_BUDGET))


def _split_range(n: int, parts: int, i: int) -> tuple[int, int]:
    return (n * i // parts, n * (i + 1) // parts)


def make_schedule(
    cfg: TierConfig,
    budget: int,
    *,
    entities: int = 0,
    kinds: int = 0,
    unit_tokens: int | None = None,
) -> Schedule:
    """Lay out units stage by stage. `entities`/`kinds`: world sizes that stages with
    `covers:` must state, sliced across their units in order."""
    ut = unit_tokens or unit_tokens_for(budget)
    units: list[Unit] = []
    stage_units = []
    known_e = known_k = 0
    shares = [s.share for s in cfg.stages]
    stage_tokens = [int(budget * x) for x in shares]
    stage_tokens[-1] = budget - sum(stage_tokens[:-1])
    for si, stage in enumerate(cfg.stages):
        st = stage_tokens[si]
        n = max(1, math.ceil(st / ut))
        earlier = [t for s in cfg.stages[:si] for t in s.templates]
        replay_mix = {t: cfg.templates[t] for t in dict.fromkeys(earlier)}
        replay_diff = (
            (
                min(s.difficulty[0] for s in cfg.stages[:si]),
                max(s.difficulty[1] for s in cfg.stages[:si]),
            )
            if si
            else (1, 1)
        )
        covers = stage.covers
        lo, hi = stage.difficulty
        mix = dict(stage.templates)  # one dict shared by the stage's units
        first = len(units)
        for ui in range(n):
            intro_e = _split_range(entities, n, ui) if "entities" in covers else (0, 0)
            intro_k = _split_range(kinds, n, ui) if "kinds" in covers else (0, 0)
            units.append(
                Unit(
                    index=len(units),
                    stage=si,
                    tokens=_split_range(st, n, ui)[1] - _split_range(st, n, ui)[0],
                    mix=mix,
                    replay=stage.replay if replay_mix else 0.0,
                    replay_mix=replay_mix,
                    replay_difficulty=replay_diff,
                    difficulty=(lo + (hi - lo) * ui / n, lo + (hi - lo) * (ui + 1) / n),
                    introduce_entities=intro_e,
                    introduce_kinds=intro_k,
                    known_entities=intro_e[0] if "entities" in covers else known_e,
                    known_kinds=intro_k[0] if "kinds" in covers else known_k,
                )
            )
        if "entities" in covers:
            known_e = entities
        if "kinds" in covers:
            known_k = kinds
        stage_units.append((first, len(units) - 1))
    units[-1].tail = True
    return Schedule(units, ut, stage_units, stage_tokens)


def stage_mixes(cfg: TierConfig) -> list[dict[str, float]]:
    """Each stage's planned share of rows per template: its own templates by weight, and
    (at the stage's replay rate) the earlier stages' templates by their tier weights."""
    out = []
    for si, stage in enumerate(cfg.stages):
        own = dict(stage.templates)
        total = sum(own.values()) or 1.0
        earlier = {t: cfg.templates[t] for s in cfg.stages[:si] for t in s.templates}
        replay = stage.replay if earlier else 0.0
        mix = {t: (1 - replay) * w / total for t, w in own.items()}
        etotal = sum(earlier.values()) or 1.0
        for t, w in earlier.items():
            mix[t] = mix.get(t, 0.0) + replay * w / etotal
        out.append(mix)
    return out
