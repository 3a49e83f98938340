"""`synth.generate(config)`: the whole run. The CLI's `synth generate` only wraps it.

world → plan → units (sample, render, realise, tokenize, per-sample filters; in
workers) → corpus filters (dedup, contamination, balance; in order, here) → shards
and manifest. The eval probes are made first, so the contamination guard knows them.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth import __version__, gc_policy
from synth.backends.base import add_counters, llm_summary
from synth.curriculum.schedule import Schedule, make_schedule, stage_mixes
from synth.curriculum.tier import TierConfig
from synth.errors import RunStopped, UserError
from synth.executors import LocalExecutor
from synth.filters.rejected import write_rejected
from synth.generation.config import GenerateConfig
from synth.generation.outdir import discard_partials, prepare_out
from synth.generation.resolve import Resolved, resolve
from synth.generation.unit import Producer, UnitResult
from synth.row import SCHEMA, Row
from synth.shards.atomic import sha256_file, write_pickle
from synth.shards.manifest import MANIFEST_VERSION, write_manifest
from synth.shards.writer import ShardWriter, write_dataset_files


def generate(config: GenerateConfig) -> dict[str, Any]:
    """Generate a corpus; returns its manifest. Raises UserError for bad input."""
    run = resolve(config)
    old = prepare_out(run)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if old is None:
        # The folder is ours from the first moment: a run killed this early resumes too.
        write_manifest(
            out,
            {
                "version": MANIFEST_VERSION,
                "status": "running",
                "fingerprint": run.fingerprint,
                "resolved": run.resolved,
            },
        )
    if old is not None and old.get("status") == "complete":
        print(
            f"{out}: already complete ({old['totals']['tokens']:,} tokens); nothing to do",
            file=sys.stderr,
        )
        return old
    return _Generation(run, out, old).run()


@dataclass
class _State:
    """Everything a run carries from unit to unit; saved whenever a shard closes, so a
    killed run resumes from its last complete shard with exactly the same state."""

    stage: int = 0  # the stage being written
    next_unit: int = 0  # the next planned unit to write
    next_extra: int = 0  # make-up units decided so far (their indices follow the plan's)
    pending: list = field(default_factory=list)  # make-up units decided, not yet written
    stage_kept: list = field(default_factory=list)  # tokens written per stage
    stage_produced: list = field(
        default_factory=list
    )  # tokens drawn per stage (before corpus filters)
    kept_tokens: int = 0
    produced_tokens: int = 0
    # The ledger: attempts (drawn) = rows kept + rejected (by a filter, per-sample or
    # corpus) + trimmed (passed the filters it met but was not needed: drawn past a unit's
    # token target, or past a stage's share or the budget).
    attempts: int = 0
    rejected: int = 0
    trimmed: int = 0
    shards: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    rows: int = 0
    sample_stats: list = field(default_factory=list)
    corpus: Any = None
    seconds: dict = field(default_factory=dict)  # CPU seconds per step, summed over units
    llm: dict = field(default_factory=dict)  # LLM backend counters, summed over units
    stalls: int = 0  # make-up rounds in a row that added almost nothing
    carry: Any = None  # rows of the open shard when a shard closed inside a unit


STATE = Path(".synth") / "state.pkl"
CORPUS_BATCH = 256  # rows per corpus-filter batch
MAKEUP_MARGIN = 1.05  # make-up units draw this much more than the shortfall over the keep rate
MAX_STALLS = 3  # make-up rounds in a row that keep under 2% of what they drew: the run stops


class _Generation:
    def __init__(self, run: Resolved, out: Path, resume_from: dict | None):
        self.run_ = run
        self.out = out
        self.resume_from = resume_from
        self.cfg = run.tier
        self.started = time.time()

    def run(self) -> dict[str, Any]:
        from synth.filters import build_corpus_chain
        from synth.generation.probes import write_probes

        run, cfg = self.run_, self.cfg
        # An LLM backend batches inside one process (one model in memory): 1 worker by default.
        workers = run.config.workers or (
            os.cpu_count() or 1 if run.config.backend == "template" else 1
        )
        plan = make_schedule(cfg, run.budget, entities=run.active_entities, kinds=run.kinds)
        producer = Producer(run.setup, run.lib, run.tokenizer)
        probes = write_probes(producer, self.out / "eval", cfg, run.active_entities)
        st = self._resume_state() if self.resume_from is not None else None
        if st is None:
            discard_partials(self.out, keep=[])
            st = _State(
                corpus=build_corpus_chain(cfg.filters, probes=probes, mixes=stage_mixes(cfg))
            )
        n = len(plan.stage_tokens)
        st.stage_kept = st.stage_kept or [0] * n
        st.stage_produced = st.stage_produced or [0] * n
        stage_acc = _StageAccumulator(cfg, run.stage_concepts, st.stages, st.rows)
        writer = ShardWriter(self.out, SCHEMA, run.shard_tokens, shards=list(st.shards))
        writer.restore(st.carry)
        self.manifest = self._manifest(plan, st, stage_acc, "running")
        bar = _progress(run.config, run.budget)
        bar.update(st.kept_tokens)
        if hasattr(producer.backend, "on_progress") and workers == 1:
            from synth.backends.realise import progress_text

            # the LLM part of the progress line, refreshed while a batch generates
            def show(p, st=st):
                bar.set_postfix_str(
                    f"{ledger_text(st.rejected, st.attempts)}, {progress_text(p)}", refresh=True
                )

            producer.backend.on_progress = show
        self._bar, self._writer, self._stage_acc, self._plan = bar, writer, stage_acc, plan
        try:
            with gc_policy.settled(), self._executor(workers, producer) as ex:
                for s in range(st.stage, n):
                    st.stage = s
                    self._write_stage(ex, plan, st, s)
                if writer.close_shard() is not None:
                    self._checkpoint(plan, st, stage_acc, writer)
        except KeyboardInterrupt:
            bar.close()
            raise RunStopped(
                "interrupted; complete shards are kept: re-run the same command to resume"
            ) from None
        except OSError as e:
            bar.close()
            raise RunStopped(
                f"cannot write to {self.out} ({e.strerror or e}); complete shards are kept: free space and re-run the same command to resume"
            ) from None
        bar.close()
        self.manifest = self._manifest(plan, st, stage_acc, "complete")
        write_dataset_files(
            self.out, [s.file for s in writer.shards], SCHEMA, f"synth {cfg.tier} corpus"
        )
        write_rejected(self.out, self.manifest["filters"])
        write_manifest(self.out, self.manifest)
        (self.out / STATE).unlink(missing_ok=True)
        return self.manifest

    # -- one stage: its planned units, then make-up units while it is short --------------

    def quota(self, plan: Schedule, st: _State, s: int) -> int:
        """The tokens stage `s` must hold: its planned share; the last stage whatever the
        budget still needs (each stage ends within one row of its share)."""
        if s == len(plan.stage_tokens) - 1:
            return self.run_.budget - sum(st.stage_kept[:s])
        return plan.stage_tokens[s]

    def _write_stage(self, ex, plan: Schedule, st: _State, s: int) -> None:
        first, last = plan.stage_units[s]
        planned = [u for u in plan.units[first : last + 1] if u.index >= st.next_unit]
        if planned:
            self._consume(ex.run(iter(planned)), plan, st, s)
        st.next_unit = max(st.next_unit, last + 1)
        quota = self.quota(plan, st, s)
        template = replace(plan.units[last], tail=True)
        while st.stage_kept[s] < quota:
            if not st.pending:
                st.pending = self._makeup(plan, st, s, quota)
            before_kept, before_made = st.stage_kept[s], st.stage_produced[s]
            units = [replace(template, index=i, tokens=tok) for i, tok in st.pending]
            self._consume(ex.run(iter(units)), plan, st, s)
            if st.stage_kept[s] >= quota:
                st.pending = []
                break
            gained = st.stage_kept[s] - before_kept
            drawn = max(1, st.stage_produced[s] - before_made)
            st.stalls = st.stalls + 1 if gained < 0.02 * drawn else 0
            if st.stalls >= MAX_STALLS:
                raise RunStopped(self._stalled(plan, st, s, quota))
        st.stalls = 0

    def _makeup(self, plan: Schedule, st: _State, s: int, quota: int) -> list[list[int]]:
        """Units that should fill what stage `s` still lacks at its keep rate so far:
        decided from the state alone, so a resumed run decides the same."""
        short = quota - st.stage_kept[s]
        rate = st.stage_kept[s] / st.stage_produced[s] if st.stage_produced[s] else 1.0
        need = int(short / max(rate, 0.02) * MAKEUP_MARGIN) + 1
        n = max(1, math.ceil(need / plan.unit_tokens))
        out = []
        for k in range(n):
            lo, hi = need * k // n, need * (k + 1) // n
            out.append([len(plan.units) + st.next_extra, max(1, hi - lo)])
            st.next_extra += 1
        return out

    def _stalled(self, plan: Schedule, st: _State, s: int, quota: int) -> str:
        name = self.cfg.stages[s].name
        reasons = st.corpus.stats().get("rejected", {}) if st.corpus is not None else {}
        top = ", ".join(f"{r} {k:,}" for r, k in sorted(reasons.items(), key=lambda x: -x[1])[:3])
        return (
            f"stage {name!r} holds {st.stage_kept[s]:,} of its {quota:,} tokens and the corpus "
            f"filters keep almost nothing more of what is drawn ({top}): the world says too "
            "little for this budget; give a smaller --tokens or a larger world, or pass --allow-repeat"
        )

    def _consume(self, results: Iterator[UnitResult], plan: Schedule, st: _State, s: int) -> bool:
        """Write unit results in order until stage `s` holds its quota; True if it does."""
        writer, stage_acc, bar = self._writer, self._stage_acc, self._bar
        for res in results:
            quota = self.quota(plan, st, s)
            t0 = time.perf_counter()
            table, unused = self._corpus_filter(
                res.table, st.corpus, res.rows, quota - st.stage_kept[s]
            )
            t1 = time.perf_counter()
            st.produced_tokens += res.tokens
            st.stage_produced[s] += res.tokens
            tokens = (
                int(pa.compute.sum(table.column("n_tokens")).as_py() or 0) if table.num_rows else 0
            )
            st.kept_tokens += tokens
            st.stage_kept[s] += tokens
            st.attempts += res.attempts
            st.trimmed += res.trimmed + unused
            st.rejected += res.rejected + (res.table.num_rows - unused - table.num_rows)
            st.sample_stats = [merge_sample_stats(st.sample_stats + [res.filter_stats])]
            stage_acc.add(table)
            if res.unit < len(plan.units):
                st.next_unit = res.unit + 1
            else:
                st.pending = [p for p in st.pending if p[0] != res.unit]
            st.llm = add_counters(st.llm, res.llm)
            if writer.write_unit(res.unit, table, tokens):
                self._checkpoint(plan, st, stage_acc, writer)
            for k, v in res.seconds.items():
                st.seconds[k] = st.seconds.get(k, 0.0) + v
            st.seconds["corpus_filters"] = st.seconds.get("corpus_filters", 0.0) + t1 - t0
            st.seconds["write"] = st.seconds.get("write", 0.0) + time.perf_counter() - t1
            bar.update(tokens)
            bar.set_postfix_str(ledger_text(st.rejected, st.attempts), refresh=False)
            if st.stage_kept[s] >= quota:
                return True
        return False

    def _executor(self, workers: int, producer: Producer):
        c = self.run_.config
        if c.executor == "ray":
            from synth.executors.ray import RayExecutor

            return RayExecutor(Producer, self.run_.setup, c.ray_address, c.workers)
        return LocalExecutor(Producer, self.run_.setup, workers, producer if workers == 1 else None)

    def _resume_state(self) -> _State | None:
        """The state saved with the last complete shard; shards after it are discarded."""
        path = self.out / STATE
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            st: _State = pickle.load(f)
        for s in st.shards:
            p = self.out / s.file
            if not p.is_file() or sha256_file(p) != s.sha256:
                raise UserError(
                    f"--out: {p} is missing or damaged (sha256 differs from the manifest); pass --overwrite to start over"
                )
        discard_partials(self.out, keep=[s.file for s in st.shards])
        print(
            f"{self.out}: resuming after {len(st.shards)} complete shard(s), {st.kept_tokens:,} tokens",
            file=sys.stderr,
        )
        return st

    def _corpus_filter(
        self, table: pa.Table, corpus, rows: list[Row] | None, limit: int
    ) -> tuple[pa.Table, int]:
        """(the rows the corpus filters keep, up to `limit` tokens with the one that crosses
        it; how many rows were cut at the limit). Slices of the chain's own batch size: the
        batches (near-dedup hashes a batch at once) are the same as for the whole table, and
        only one slice is ever Python rows (unless the unit was made in this process and
        brought its rows along). Rows after the limit are not filtered at all."""
        tokens = table.column("n_tokens").to_pylist() if table.num_rows else []
        mask: list[bool] = []
        kept = trimmed = 0
        for start in range(0, table.num_rows, CORPUS_BATCH):
            if kept >= limit:
                trimmed += table.num_rows - start
                break
            if rows is not None:
                batch = rows[start : start + CORPUS_BATCH]
            else:
                batch = [Row(**rec) for rec in table.slice(start, CORPUS_BATCH).to_pylist()]
            keep = {id(r) for r in corpus.filter(batch, batch_size=CORPUS_BATCH)}
            for i, r in enumerate(batch):
                ok = id(r) in keep
                if ok and kept >= limit:
                    ok = False
                    trimmed += 1
                elif ok:
                    kept += tokens[start + i]
                mask.append(ok)
        mask += [False] * (table.num_rows - len(mask))
        return (table if all(mask) else table.filter(pa.array(mask))), trimmed

    def _checkpoint(self, plan, st: _State, stage_acc, writer) -> None:
        st.shards = list(writer.shards)
        st.carry = writer.carry
        st.stages, st.rows = stage_acc.stages, stage_acc.rows
        (self.out / STATE).parent.mkdir(exist_ok=True)
        write_pickle(self.out / STATE, st)
        self.manifest = self._manifest(plan, st, stage_acc, "running")
        write_manifest(self.out, self.manifest)
        write_dataset_files(self.out, [s.file for s in writer.shards], SCHEMA)

    def _manifest(self, plan: Schedule, st: _State, stage_acc, status: str) -> dict:
        run, cfg = self.run_, self.cfg
        elapsed = time.time() - self.started
        c = run.config
        return {
            "version": MANIFEST_VERSION,
            "synth": __version__,
            "status": status,
            "fingerprint": run.fingerprint,
            "command_line": c.command_line,
            "config": {
                k: v
                for k, v in asdict(c).items()
                if k not in ("progress", "command_line", "ray_address")
            },
            "resolved": run.resolved,
            "tier": cfg.tier,
            "seed": c.seed,
            "tokenizer": run.resolved["tokenizer"],
            "chat_format": run.settings.chat_format,
            "backend": c.backend,
            "model": c.model,
            "budget": run.budget,
            "totals": {
                "tokens": st.kept_tokens
                if status == "complete"
                else sum(s.tokens for s in st.shards),
                "rows": sum(s.rows for s in st.shards),
                "shards": len(st.shards),
                # drawn = rows + rejected (the filters' counts, summed) + trimmed
                "drawn": st.attempts,
                "rejected": st.rejected,
                "trimmed": st.trimmed,
            },
            "shards": [s.to_json() for s in st.shards],
            "read_in_order": True,
            "order_note": "Rows are in curriculum order (shard 0 first). Read shards in order without a global shuffle to keep the curriculum.",
            "stages": stage_acc.to_json(),
            "capacity": run.capacity.to_json() if run.capacity is not None else None,
            "schedule": {
                "units": len(plan.units),
                "unit_tokens": plan.unit_tokens,
                "active_entities": run.active_entities,
                "makeup_units": st.next_extra,
                # every stage's planned share of the budget and what it holds
                "stage_shares": [
                    {
                        "name": s.name,
                        "planned": round(plan.stage_tokens[i] / run.budget, 4),
                        "delivered": round(st.stage_kept[i] / max(1, st.kept_tokens), 4),
                    }
                    for i, s in enumerate(cfg.stages)
                ],
            },
            "filters": {"sample": merge_sample_stats(st.sample_stats), "corpus": st.corpus.stats()},
            "timing": {
                "seconds": round(elapsed, 3),
                "tokens_per_second": round(st.kept_tokens / elapsed, 1) if elapsed else None,
                "steps_seconds": {k: round(v, 3) for k, v in sorted(st.seconds.items())},
            },
            "resume": {"next_unit": st.next_unit},
            **({"llm": llm_summary(getattr(st, "llm", {}))} if c.backend != "template" else {}),
        }


def rejected_share(rejected: int, drawn: int) -> float:
    """Rejected samples over all drawn: the progress bar's figure, and the CLI's closing
    note's (rows trimmed to meet the budget were not rejected, but they were drawn)."""
    return rejected / max(1, drawn)


def ledger_text(rejected: int, drawn: int) -> str:
    """The share of what was drawn that the filters rejected, as the progress bar and the
    closing note both say it: "rejected 1.2% of 39,024 drawn"."""
    return f"rejected {rejected_share(rejected, drawn):.1%} of {drawn:,} drawn"


def merge_sample_stats(stats: list[dict]) -> dict:
    from synth.filters import merge_stats

    return merge_stats(stats) if stats else {}


class _StageAccumulator:
    def __init__(
        self, cfg: TierConfig, concepts: list[list[str]], stages: list | None = None, rows: int = 0
    ):
        self.cfg = cfg
        self.rows = rows
        self.stages = stages or [
            {
                "name": s.name,
                "concepts": c,
                "difficulty": list(s.difficulty),
                "replay": s.replay,
                "tokens": 0,
                "rows": 0,
                "templates": {},
                "row_range": None,
                "replay_rows": 0,
            }
            for s, c in zip(cfg.stages, concepts)
        ]

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        stages = table.column("stage").to_pylist()
        tids = table.column("template").to_pylist()
        toks = table.column("n_tokens").to_pylist()
        reps = table.column("replay").to_pylist()
        for i, (s, t, n, rep) in enumerate(zip(stages, tids, toks, reps)):
            st = self.stages[s]
            st["tokens"] += n
            st["rows"] += 1
            st["templates"][t] = st["templates"].get(t, 0) + 1
            st["replay_rows"] += int(rep)
            row = self.rows + i
            st["row_range"] = [row, row] if st["row_range"] is None else [st["row_range"][0], row]
        self.rows += len(stages)

    def to_json(self) -> list[dict]:
        return self.stages


def _progress(config: GenerateConfig, total: int):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="tok",
        unit_scale=True,
        desc=f"synth {config.tier}",
        disable=not config.progress,
        mininterval=0.5,
        file=sys.stderr,
    )
