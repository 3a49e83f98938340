"""The schedule: the corpus cut into stages, and stages into work units.

A unit is a slice of a stage with a token target, a template mix, a difficulty ramp
and (for the ontology tier) the slice of the world it must state first. Its rows depend
only on the config, the seed and the unit's index, so any process can produce it and
the corpus is the same bytes whatever the number of workers. Units are made from their
index when asked for (`Units`), so the plan of any budget is as small as its stages.

Budget arithmetic: every unit but the last stops *before* its target would be exceeded,
so the units together come in just under the budget; the tail unit (run last, with the
remainder as its target) stops at the first sample that reaches it. The corpus thus
meets the budget and exceeds it by less than one sample.

Costly samples (an LLM backend: every candidate is a model call). Units are smaller
(`LLM_UNIT_TOKENS`), so a small budget is a few small units and rows are written
early, and each stage's last unit is a tail too: a unit that stops before its target
throws away the sample that would cross it, which a stage of a few rows (a 600-token
run's stages are one row each) pays for with a whole realisation, and then again in
a make-up unit. A stage tail keeps that sample; the stage's quota trims at most that
one row, so nothing realised is drawn to be thrown away.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

from synth.curriculum.tier import TierConfig

MIN_UNIT_TOKENS = 20_000
# A unit is held whole in memory (its rows, then its table), so its size caps the
# working set: past 64 x MAX the budget adds units, not memory.
MAX_UNIT_TOKENS = 250_000
UNITS_PER_BUDGET = 64  # enough units for every core, few enough that per-unit cost is small
# LLM runs: a unit is minutes of model calls on a CPU, not seconds of rendering. 4k tokens
# is about a dozen structural rows; 20k keeps a GPU engine's batches full.
LLM_UNIT_TOKENS = (4_000, 20_000)


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


class Units(Sequence[Unit]):
    """The schedule's units, made on demand from their index: a plan of any budget takes
    the memory of its stages, not of its units (a 1T-token plan has four million)."""

    def __init__(self, stages: list[_StagePlan]) -> None:
        self._stages = stages
        self._firsts = [s.first for s in stages]
        self._n = stages[-1].first + stages[-1].n if stages else 0

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Unit: ...
    @overload
    def __getitem__(self, i: slice) -> list[Unit]: ...
    def __getitem__(self, i: int | slice) -> Unit | list[Unit]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        st = self._stages[bisect.bisect_right(self._firsts, i) - 1]
        return st.unit(i, tail=i == self._n - 1)

    def __iter__(self) -> Iterator[Unit]:
        return self.since(0)

    def since(self, start: int) -> Iterator[Unit]:
        """The units from index `start` on, in order."""
        for i in range(max(0, start), self._n):
            yield self[i]


@dataclass
class _StagePlan:
    """One stage's units: all that is needed to make any of them."""

    first: int  # index of its first unit
    n: int
    tokens: int
    index: int  # the stage's number
    mix: dict[str, float]  # one dict shared by the stage's units
    replay: float
    replay_mix: dict[str, float]
    replay_difficulty: tuple[int, int]
    difficulty: tuple[int, int]
    entities: int  # what the stage must state (0: it covers none)
    kinds: int
    known_entities: int  # what earlier stages stated
    known_kinds: int
    covers_entities: bool
    covers_kinds: bool
    stage_tail: bool = False  # the stage's last unit is a tail (costly samples)

    def unit(self, index: int, tail: bool) -> Unit:
        ui, n = index - self.first, self.n
        lo, hi = self.difficulty
        lo_t, hi_t = _split_range(self.tokens, n, ui)
        intro_e = _split_range(self.entities, n, ui) if self.covers_entities else (0, 0)
        intro_k = _split_range(self.kinds, n, ui) if self.covers_kinds else (0, 0)
        return Unit(
            index=index,
            stage=self.index,
            tokens=hi_t - lo_t,
            mix=self.mix,
            replay=self.replay,
            replay_mix=self.replay_mix,
            replay_difficulty=self.replay_difficulty,
            difficulty=(lo + (hi - lo) * ui / n, lo + (hi - lo) * (ui + 1) / n),
            introduce_entities=intro_e,
            introduce_kinds=intro_k,
            known_entities=intro_e[0] if self.covers_entities else self.known_entities,
            known_kinds=intro_k[0] if self.covers_kinds else self.known_kinds,
            tail=tail or (self.stage_tail and ui == n - 1),
        )


@dataclass
class Schedule:
    units: Units
    unit_tokens: int
    stage_units: list[tuple[int, int]] = field(default_factory=list)  # [first, last] per stage
    stage_tokens: list[int] = field(default_factory=list)  # each stage's share of the budget


def unit_tokens_for(budget: int, costly: bool = False) -> int:
    """Unit size from the budget alone (never from the worker count: that would change
    the bytes); smaller when every sample is a model call (`costly`)."""
    lo, hi = LLM_UNIT_TOKENS if costly else (MIN_UNIT_TOKENS, MAX_UNIT_TOKENS)
    return max(lo, min(hi, budget // UNITS_PER_BUDGET))


def _split_range(n: int, parts: int, i: int) -> tuple[int, int]:
    return (n * i // parts, n * (i + 1) // parts)


def make_schedule(
    cfg: TierConfig,
    budget: int,
    *,
    entities: int = 0,
    kinds: int = 0,
    unit_tokens: int | None = None,
    costly: bool = False,
) -> Schedule:
    """Lay out units stage by stage. `entities`/`kinds`: world sizes that stages with
    `covers:` must state, sliced across their units in order. `costly`: samples are
    model calls (see the module's note)."""
    ut = unit_tokens or unit_tokens_for(budget, costly)
    plans: list[_StagePlan] = []
    stage_units = []
    known_e = known_k = 0
    first = 0
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
        plans.append(
            _StagePlan(
                first=first,
                n=n,
                tokens=st,
                index=si,
                mix=dict(stage.templates),
                replay=stage.replay if replay_mix else 0.0,
                replay_mix=replay_mix,
                replay_difficulty=replay_diff,
                difficulty=stage.difficulty,
                entities=entities,
                kinds=kinds,
                known_entities=known_e,
                known_kinds=known_k,
                covers_entities="entities" in covers,
                covers_kinds="kinds" in covers,
                stage_tail=costly,
            )
        )
        if "entities" in covers:
            known_e = entities
        if "kinds" in covers:
            known_k = kinds
        stage_units.append((first, first + n - 1))
        first += n
    return Schedule(Units(plans), ut, stage_units, stage_tokens)


def fit_units(units: list[Unit], tokens: int) -> list[Unit]:
    """A stage's units cut to aim at `tokens` in all: the last stage's when the stages
    before it ended above their shares (each by less than a row), so that a costly run
    does not realise rows only for the stage's quota to trim them. Targets are taken off
    from the end, units left with nothing are dropped, and the last one is a tail. It
    depends on the stages before only, so a resumed run cuts the same."""
    excess = sum(u.tokens for u in units) - tokens
    if excess <= 0:
        return units
    out = []
    for u in reversed(units):
        cut = min(u.tokens, excess)
        excess -= cut
        if u.tokens > cut:
            out.append(replace(u, tokens=u.tokens - cut))
    out.reverse()
    if out:
        out[-1] = replace(out[-1], tail=True)
    return out


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
