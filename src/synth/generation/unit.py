"""Producing one work unit: sample → render → realise → format → tokenize → filter.

This is the part of a run that workers execute. A producer is made once per process
from the run's `WorkerSetup` (plain settings, the tier fitted to the world, the world),
which the parent resolved and sends to each worker; the template library and the
tokenizer are loaded from their files in each process. Everything a unit returns (an
Arrow table and counters) depends only on the setup and the unit.

Batches. With the template backend a candidate costs a render: a unit draws BATCH
positions at a time and cuts the last batches to what its remaining tokens need. With
an LLM backend a candidate costs a model call (seconds on a CPU, up to `retries` + 1
of them), and drawing 64 of them for a 600-token run's one-row stage is what made such
a run take half an hour and write nothing. There a unit draws what its budget needs
(`_llm_positions`): positions = remaining tokens / tokens per row kept so far (one
position until a row is kept), and each round draws, per template, about (empty
positions) / (its keep rate so far in this unit) candidates at once, so an engine gets
a batch it can work on in parallel (`_fill_costly`). Every number comes from the unit's
own rows (never from timing or the worker count), so the bytes stay those of the config.
While a unit is made, `live_rows`/`live_tokens` count the rows it has accepted (a row
counts as soon as the model's reply is verified): the progress line shows them before
the unit is written.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

import pyarrow as pa

from synth.backends import get_backend
from synth.backends.base import counters_of, diff_counters
from synth.backends.realise import REALISED_BY
from synth.chat import get_format, with_system
from synth.curriculum.schedule import Unit
from synth.curriculum.tier import TierConfig
from synth.errors import RunStopped
from synth.families.base import Scope
from synth.rng import derive_seed, rng_for
from synth.row import Row, rows_to_table
from synth.templating import TemplateLibrary
from synth.templating.item import render_item
from synth.tokenizer import Tokenizer, load_tokenizer
from synth.world.model import World

BATCH = 64  # candidate rows rendered and tokenized together (a constant: part of the output)
MIN_BATCH = 8  # the smallest batch near the end of a unit
MAX_TRIES = 50  # consecutive rejections of one template before the run stops
# LLM backends (see the module's note): candidates per round, per empty position at most,
# and the keep rate assumed before a template has shown its own (kept + 1) / (drawn + 2).
LLM_ROUND = 64
LLM_PER_POSITION = 8
# `formal` as compact JSON; one encoder for every row (json.dumps with options builds one per call)
_FORMAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass
class Settings:
    """The run's plain values a producer needs (picklable, compared cheaply)."""

    tier: str
    seed: int
    tokenizer: str = "qwen2.5"
    chat_format: str = "qwen2.5"
    system_prompt: str | None = None
    backend: str = "template"
    model: str | None = None
    backend_options: dict[str, Any] = field(
        default_factory=dict
    )  # LLM backends: see synth.backends.options
    template_dirs: list[str] = field(default_factory=list)
    builtin_templates: bool = True
    active_entities: int | None = None
    langs: dict[str, float] = field(default_factory=lambda: {"en": 1.0})
    world_file: str | None = (
        None  # a user's world (YAML spec or RDF/OWL) instead of a fictional one
    )


@dataclass
class WorkerSetup:
    """What every process that produces units needs, resolved once by the parent: the
    run's settings, the tier fitted to the world, and the world cut to what the budget
    states. A worker receives it once, when it starts; `key` (the run's fingerprint)
    tells two setups apart without comparing worlds."""

    settings: Settings
    tier: TierConfig
    world: World | None
    key: str


class SmoothRoundRobin:
    """Interleaves templates in proportion to their weights with no long runs
    (nginx's smooth weighted round robin): A:2,B:1 gives A B A A B A ..."""

    def __init__(self, weights: dict[str, float]):
        self.items = list(weights.items())
        self.total = sum(weights.values())
        self.current = [0.0] * len(self.items)

    def next(self) -> str:
        best = 0
        for i, (_, w) in enumerate(self.items):
            self.current[i] += w
            if self.current[i] > self.current[best]:
                best = i
        self.current[best] -= self.total
        return self.items[best][0]


@dataclass
class UnitResult:
    unit: int
    table: pa.Table
    tokens: int
    filter_stats: dict[str, Any]
    attempts: int = 0  # samples drawn: kept + rejected + trimmed
    rejected: int = 0  # samples the per-sample filters rejected
    seconds: dict[str, float] = field(default_factory=dict)  # where the unit's time went
    llm: dict[str, float] = field(default_factory=dict)  # LLM backend counters for this unit
    trimmed: int = 0  # samples that passed the filters, drawn past the unit's token target
    # The table's rows as objects, while the result stays in the process that made it:
    # the corpus filters then need not rebuild them from the table (≈3% of a run). They
    # are the table's values exactly (nothing but shard columns is set on them).
    rows: list[Row] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "rows": None}  # another process rebuilds them from the table


class Producer:
    def __init__(
        self,
        setup: WorkerSetup,
        lib: TemplateLibrary | None = None,
        tokenizer: Tokenizer | None = None,
        sample_chain: Callable | None = None,
    ):
        """`lib` and `tokenizer`: the parent passes the ones it resolved; a worker loads
        its own from the settings."""
        settings, world = setup.settings, setup.world
        self.s = settings
        self.cfg = setup.tier
        self.world = world
        self.lib = lib or TemplateLibrary(
            settings.template_dirs, builtin=settings.builtin_templates
        )
        self.tok = tokenizer or load_tokenizer(settings.tokenizer)
        self.fmt = get_format(settings.chat_format)
        self.backend = get_backend(
            settings.backend, model=settings.model, library=self.lib, **settings.backend_options
        )
        self._chain_factory = sample_chain or self._default_chain
        self.chain = self._chain_factory()
        # a candidate costs a model call: draw what the budget needs (see the module's note)
        self.costly = settings.backend != "template"
        self.live_rows = self.live_tokens = 0  # rows of the unit being made, accepted so far
        self._room: dict[int, list[int]] = {}  # candidate -> its group's empty positions left
        if hasattr(self.backend, "on_verdict"):
            self.backend.on_verdict = self._verdict
        self.seconds: dict[str, float] = defaultdict(float)
        self.active_entities = (
            settings.active_entities
            if settings.active_entities is not None
            else (len(world.entities) if world else 0)
        )

    def _default_chain(self):
        from synth.filters import FilterChain, build_sample_chain

        chain = build_sample_chain(self.cfg.filters)
        if self.s.backend == "template":
            return chain
        from synth.backends.realise import RealiseFilter

        # First: a row the LLM could not realise is rejected with the realiser's reason.
        return FilterChain([RealiseFilter(), *chain.filters])

    # -- one item ---------------------------------------------------------------------

    def item(
        self,
        tid: str,
        key: tuple,
        difficulty: int,
        scope: Scope,
        stage: int,
        split: str = "train",
        position: int = 0,
    ) -> tuple[Row, Any]:
        """Draw and render one item. `key` names it uniquely within the run. The item's
        language is drawn apart from its content, so the same key gives the same facts
        and answer in every language (parallel corpora)."""
        seed = derive_seed(self.s.seed, self.cfg.tier, split, tid, *key)
        spec = self.lib.spec(tid, self._lang(seed))
        sample = render_item(
            self.lib,
            spec,
            self.world,
            rng_for(seed),
            difficulty,
            scope,
            split=split,
            position=position,
            seconds=self.seconds,
        )
        draw, text, messages = sample.draw, sample.text, sample.messages
        if messages is not None and self.s.system_prompt:
            messages = with_system(messages, self.s.system_prompt)
        if messages is not None:
            text = self.fmt(messages)
        row = Row(
            id=f"{self.cfg.tier}/{tid}/{'-'.join(map(str, key))}",
            text=text,
            messages=messages,
            n_tokens=0,
            tier=self.cfg.tier,
            kind=spec.kind,
            template=tid,
            lang=spec.lang,
            stage=stage,
            concepts=spec.all_concepts,
            difficulty=int(draw.difficulty),
            answer=draw.answer,
            formal=_FORMAL_JSON.encode(draw.formal) if draw.formal is not None else None,
            seed=seed,
        )
        if draw.answer is not None and self.world is not None:
            # What the text states as the answer, in the row's language (the column keeps
            # the language-neutral symbol, the same in every language; a yes/no answer is
            # matched by the answer filter in any language).
            a = draw.answer
            row.meta["answer_text"] = (
                a if a in ("true", "false", "unknown") else self.world.surface(a, spec.lang)
            )
        return row, draw

    def _lang(self, seed: int) -> str:
        langs = self.s.langs
        if len(langs) == 1:
            return next(iter(langs))
        u = _frac(derive_seed(seed, "lang"))
        total = sum(langs.values())
        acc = 0.0
        for lang, share in langs.items():
            acc += share / total
            if u < acc:
                return lang
        return lang

    def finish(self, rows: list[Row], realise: bool = True) -> list[Row]:
        """Realise through the backend (unless `realise` is False: eval probes keep their
        render), apply the chat format to what the backend rewrote, count tokens."""
        t0 = perf_counter()
        if realise:
            rows = self.backend.realise(rows)
        for r in rows:
            if r.messages is not None and REALISED_BY in r.meta:  # item() formatted the rest
                r.text = self.fmt(r.messages)
        t1 = perf_counter()
        for r, n in zip(rows, self.tok.count([r.text for r in rows])):
            r.n_tokens = n
        self.seconds["realise"] += t1 - t0
        self.seconds["tokenize"] += perf_counter() - t1
        return rows

    # -- one unit ---------------------------------------------------------------------

    def produce(self, unit: Unit, target: int | None = None) -> UnitResult:
        """Fill a unit up to its token target (see curriculum.plan for the arithmetic)."""
        target = unit.tokens if target is None else target
        self.chain = self._chain_factory()  # stats per unit, merged by the writer
        mixes = self.mixes(unit)
        counters: dict[str, int] = defaultdict(int)
        scope = self.scope(unit)
        kept: list[Row] = []
        total = 0
        pos = 0
        self.attempts = self.rejected = 0
        self.seconds = defaultdict(float)
        self.live_rows = self.live_tokens = 0
        self._tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # tid: [kept, drawn]
        llm_before = counters_of(self.backend)
        done = target <= 0
        while not done:
            progress = min(1.0, total / target) if target else 1.0
            if self.costly:
                size = _llm_positions(total, len(kept), target, unit.tail, self.cfg.sample_tokens)
                if not size:
                    break
            else:
                size = _batch_size(total, len(kept), target)
            want = self.positions(unit, mixes, pos, size, progress)
            pos += len(want)
            fill = self._fill_costly if self.costly else self._fill
            slots = fill(unit, want, counters, scope)
            for row in slots:
                n = row.n_tokens
                if unit.tail:
                    kept.append(row)
                    total += n
                    if total >= target:
                        done = True
                        break
                else:
                    if total + n > target:
                        done = True
                        break
                    kept.append(row)
                    total += n
            self.live_rows, self.live_tokens = len(kept), total
        self.live_rows = self.live_tokens = 0  # the run counts the unit's rows from here
        llm = diff_counters(counters_of(self.backend), llm_before)
        for r in kept:
            r.meta = {}  # what only the sample filters read; the corpus filters see shard columns
        return UnitResult(
            unit.index,
            rows_to_table(kept),
            total,
            self.chain.stats(),
            self.attempts,
            self.rejected,
            trimmed=self.attempts - self.rejected - len(kept),  # the others passed, unused
            seconds=dict(self.seconds),
            llm=llm,
            rows=kept,
        )

    def mixes(self, unit: Unit) -> tuple[SmoothRoundRobin, SmoothRoundRobin | None]:
        """The unit's template rotations: its stage's templates, and the replay of earlier
        stages' (None without replay)."""
        replay = unit.replay_mix and unit.replay > 0
        return SmoothRoundRobin(unit.mix), SmoothRoundRobin(unit.replay_mix) if replay else None

    def scope(self, unit: Unit) -> Scope:
        """What of the world the unit's items may use and must introduce."""
        return Scope(
            known_entities=min(unit.known_entities, self.active_entities),
            known_kinds=unit.known_kinds,
            introduce_entities=(
                min(unit.introduce_entities[0], self.active_entities),
                min(unit.introduce_entities[1], self.active_entities),
            ),
            introduce_kinds=unit.introduce_kinds,
        )

    def positions(
        self,
        unit: Unit,
        mixes: tuple[SmoothRoundRobin, SmoothRoundRobin | None],
        pos: int,
        size: int,
        progress: float,
    ) -> list[tuple[int, str, int, bool]]:
        """Positions `pos`..`pos + size - 1` of the unit: (position, template, difficulty,
        replay), the rotations advanced past them; `progress` (0..1) sets the ramp."""
        main, replay = mixes
        d0, d1 = unit.difficulty
        want = []
        for p in range(pos, pos + size):
            is_replay = replay is not None and math.floor((p + 1) * unit.replay) > math.floor(
                p * unit.replay
            )
            tid = replay.next() if replay is not None and is_replay else main.next()
            if is_replay:
                lo, hi = unit.replay_difficulty
                ramp = lo + (hi - lo) * _frac(derive_seed(unit.index, p))
            else:
                ramp = d0 + (d1 - d0) * progress
            # Randomised rounding keeps integer difficulties whose mean follows the ramp.
            diff = int(ramp) + (
                1 if _frac(derive_seed("d", unit.index, p)) < ramp - int(ramp) else 0
            )
            want.append((p, tid, max(1, diff), is_replay))
        return want

    def _fill(
        self,
        unit: Unit,
        want: list[tuple[int, str, int, bool]],
        counters: dict[str, int],
        scope: Scope,
    ) -> list[Row]:
        """Rows for the wanted positions, in order; a rejected sample is replaced by the
        next item of the same template."""
        out: list[Row | None] = [None] * len(want)
        todo = list(range(len(want)))
        tries = defaultdict(int)
        while todo:
            rows = []
            for i in todo:
                _, tid, diff, is_replay = want[i]
                rows.append(self._draw(unit, tid, diff, is_replay, counters, scope))
            self.attempts += len(rows)
            rows = self.finish(rows)
            retry = []
            for i, row, reason in zip(todo, rows, self._judge(rows)):
                if reason is None:
                    out[i] = row
                else:
                    self.rejected += 1
                    tries[i] += 1
                    if tries[i] >= MAX_TRIES:
                        raise _stuck(reason, row)
                    retry.append(i)
            todo = retry
        return [r for r in out if r is not None]

    def _fill_costly(
        self,
        unit: Unit,
        want: list[tuple[int, str, int, bool]],
        counters: dict[str, int],
        scope: Scope,
    ) -> list[Row]:
        """`_fill` for candidates that cost a model call: each round draws, for every
        group of empty positions alike (template, difficulty, replay), about (empty
        positions) / (the template's keep rate in this unit) candidates, realises them
        in one batch, and fills the group's positions in order with those that pass;
        one that passes with its group already full is not used."""
        out: list[Row | None] = [None] * len(want)
        streak: dict[str, int] = defaultdict(int)  # rejections of a template in a row
        while True:
            groups: dict[tuple[str, int, bool], list[int]] = {}
            for i, (_, tid, diff, is_replay) in enumerate(want):
                if out[i] is None:
                    groups.setdefault((tid, diff, is_replay), []).append(i)
            if not groups:
                return [r for r in out if r is not None]
            draws = _llm_draws(
                {g: len(slots) for g, slots in groups.items()},
                {g: self._tally[g[0]] for g in groups},
            )
            rows, owner = [], []
            for g, n in draws.items():
                tid, diff, is_replay = g
                room = [len(groups[g])]  # shared by the group's candidates
                for _ in range(n):
                    row = self._draw(unit, tid, diff, is_replay, counters, scope)
                    rows.append(row)
                    owner.append(g)
                    self._room[id(row)] = room
            self.attempts += len(rows)
            try:
                rows = self.finish(rows)
            finally:
                self._room = {}
            for g, row, reason in zip(owner, rows, self._judge(rows)):
                tally = self._tally[g[0]]
                tally[1] += 1
                if reason is None:
                    tally[0] += 1
                    streak[g[0]] = 0
                    if groups[g]:
                        out[groups[g].pop(0)] = row
                    continue
                self.rejected += 1
                streak[g[0]] += 1
                if streak[g[0]] >= MAX_TRIES:
                    raise _stuck(reason, row)

    def _draw(
        self, unit: Unit, tid: str, diff: int, is_replay: bool, counters: dict[str, int],
        scope: Scope,
    ) -> Row:  # fmt: skip
        """The template's next item in this unit (its counter moves on)."""
        k = counters[tid]
        counters[tid] += 1
        row, _ = self.item(tid, (unit.index, k), diff, scope, unit.stage, position=k)
        row.replay = is_replay
        return row

    def _judge(self, rows: list[Row]) -> list[str | None]:
        """The sample filters' reason for each row (None: kept), timed."""
        t0 = perf_counter()
        reasons = [self.chain.reason(row) for row in rows]
        self.seconds["sample_filters"] += perf_counter() - t0
        return reasons

    def _verdict(self, row: Row, reason: str | None) -> None:
        """The backend verified (reason None) or rejected a row: a verified row that the
        sample filters will keep too (a model's worked steps can still be wrong) counts in
        the unit's live figures at once, with its tokens as the run will count them, up to
        the empty positions of its group (a spare that passes is not counted)."""
        room = self._room.get(id(row))
        if reason is not None or (room is not None and room[0] <= 0):
            return
        text = self.fmt(row.messages) if row.messages is not None else row.text
        n = self.tok.count([text])[0]
        if self.chain.check(replace(row, text=text, n_tokens=n)) is not None:
            return
        if room is not None:  # no more than its group has positions for
            room[0] -= 1
        self.live_rows += 1
        self.live_tokens += n


def _stuck(reason: str, row: Row) -> RunStopped:
    """The stop when a filter rejects a template's samples MAX_TRIES times in a row."""
    return RunStopped(
        f"filter {reason!r} rejected {MAX_TRIES} samples of template {row.template} in a row; "
        f"last rejected: {row.id}: {row.text[:200]!r}"
    )


def _llm_positions(
    total: int, rows: int, target: int, tail: bool, sample_tokens: tuple[int, int]
) -> int:
    """Positions to fill next when a candidate is a model call: the rows the remaining
    tokens need at this unit's mean row length. Before a row is kept, one position per
    longest sample the tier allows (so at least one). A unit that is not its stage's
    tail stops when less than half a row is left (the next row would not fit; the stage
    makes it up), and asks for whole rows only (the one that crosses is not kept)."""
    left = target - total
    if left <= 0:
        return 0
    if not rows:
        return max(1, min(BATCH, left // max(1, sample_tokens[1])))
    need = left * rows / total
    if tail:
        return min(BATCH, math.ceil(need))
    if need < 0.5:
        return 0
    return min(BATCH, max(1, math.floor(need)))


def _llm_draws(
    empty: dict[tuple, int], tallies: dict[tuple, list[int]], cap: int = LLM_ROUND
) -> dict[tuple, int]:
    """Candidates to draw per group of empty positions: empty / keep rate, where the keep
    rate is the group's template's (kept + 1) / (drawn + 2) in this unit; at most
    LLM_PER_POSITION per position and `cap` in all (scaled down, at least one a group)."""
    draws = {}
    for g, e in empty.items():
        kept, drawn = tallies[g]
        draws[g] = min(e * LLM_PER_POSITION, -(-e * (drawn + 2) // (kept + 1)))  # ceil, exact
    total = sum(draws.values())
    if total > cap:
        draws = {g: max(1, n * cap // total) for g, n in draws.items()}
    return draws


def _batch_size(total: int, rows: int, target: int) -> int:
    """Near the end of a unit, draw about what the remaining tokens need (at the mean
    row length so far, with a margin) instead of a full batch: rows drawn past the
    target are thrown away. It depends on the unit's own rows only, so the bytes do not
    change with the worker count."""
    if not rows:
        return BATCH
    need = (target - total) * rows / total
    return max(MIN_BATCH, min(BATCH, math.ceil(need * 1.2) + 2))


def _frac(x: int) -> float:
    return (x % 1_000_003) / 1_000_003
