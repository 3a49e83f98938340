"""`synth.generate(config)`: the whole run. The CLI's `synth generate` only wraps it.

world → plan → units (sample, render, realise, tokenize, per-sample filters; in
workers) → corpus filters (dedup, contamination, balance; in order, here) → shards
and manifest. The eval probes are made first, so the contamination guard knows them.

Stages. Each stage holds its planned share of the budget (within one row): its planned
units run, then make-up units (the stage's last unit again under new indices, sized from
the shortfall at the keep rate so far) while the corpus filters leave it short; rows past
the share are trimmed. What a stage decides depends only on the saved state, so a
resumed run decides the same.

Checkpoints. The run's state (`state.RunState`) is saved whenever a shard closes and
every `checkpoint_every` seconds (60 by default) between, with the open shard flushed to
disk (a state so large that saving it takes over 1/CHECKPOINT_SHARE of that is saved
less often): a run killed, interrupted or stopped by a full disk resumes from its
last checkpoint, however large its shards, and ends byte-identical to an uninterrupted
run (when a checkpoint happens changes no decision). A stopped run says what its last
checkpoint holds.

Bounds. A world too small for its budget gives duplicates that the corpus filters
reject, and make-up units would run for ever: a stage stops the run when MAX_STALLS
make-up rounds in a row keep under 2% of what they drew, or when the draw its keep rate
forecasts would take the run past MAX_DRAWN times its budget, naming the filters' main
reasons. (The capacity check refuses most such runs before they start; these bounds
catch what it cannot see, such as a template that says the same thing every time.)
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth import __version__, gc_policy
from synth.backends.base import add_counters, llm_summary
from synth.curriculum.schedule import Schedule, fit_units, make_schedule, stage_mixes
from synth.curriculum.tier import TierConfig
from synth.errors import RunStopped, UserError
from synth.executors import LocalExecutor
from synth.filters.rejected import write_rejected
from synth.generation.config import GenerateConfig
from synth.generation.outdir import claim_out, discard_partials, prepare_out
from synth.generation.resolve import Resolved, resolve
from synth.generation.state import STATE, RunState, load_run, save_run
from synth.generation.unit import Producer, UnitResult
from synth.row import SCHEMA, Row
from synth.shards.atomic import sha256_file
from synth.shards.manifest import MANIFEST_VERSION, write_manifest
from synth.shards.verify import describe_shards
from synth.shards.writer import ShardWriter, write_dataset_files


def generate(config: GenerateConfig) -> dict[str, Any]:
    """Generate a corpus; returns its manifest. Raises UserError for bad input."""
    run = resolve(config)
    out = Path(config.out)
    prepare_out(run, check=True)  # refused before anything is made or locked
    lock = claim_out(out)
    try:
        old = prepare_out(run, lock=lock.path)
        if old is not None and old.get("status") == "complete":
            tokens = (old.get("totals") or {}).get("tokens", 0)
            print(f"{out}: already complete ({tokens:,} tokens); nothing to do", file=sys.stderr)
            return old
        return _Generation(run, out, old).run()
    finally:
        lock.release()


CORPUS_BATCH = 256  # rows per corpus-filter batch
MAKEUP_MARGIN = 1.05  # make-up units draw this much more than the shortfall over the keep rate
MAX_STALLS = 3  # make-up rounds in a row that keep under 2% of what they drew: the run stops
MAX_DRAWN = 20  # tokens drawn, in budgets, that a run may take to reach its budget
CHECKPOINT_SHARE = 20  # time between checkpoints, at least, in checkpoints' own time


class _Generation:
    def __init__(self, run: Resolved, out: Path, resume_from: dict | None):
        self.run_ = run
        self.out = out
        self.resume_from = resume_from
        self.cfg = run.tier
        self.started = time.time()
        self.st: RunState | None = None
        self.checkpointed = time.monotonic()
        self.checkpoint_cost = 0.0  # seconds the last checkpoint took

    def run(self) -> dict[str, Any]:
        bar = _progress(self.run_.config, self.run_.budget)
        writer: ShardWriter | None = None
        try:
            if self.resume_from is None:
                # The folder is ours from the first moment: a run killed this early resumes.
                write_manifest(self.out, self._first_manifest())
            plan, st, stage_acc, writer, producer = self._start(bar)
            self._loop(plan, st, stage_acc, writer, producer, bar)
            bar.close()
            self.manifest = self._manifest(plan, st, stage_acc, "complete")
            write_dataset_files(
                self.out, [s.file for s in writer.shards], SCHEMA, f"synth {self.cfg.tier} corpus"
            )
            write_rejected(self.out, self.manifest["filters"])
            write_manifest(self.out, self.manifest)
        except KeyboardInterrupt:
            bar.close()
            if writer is not None:
                writer.abort()
            raise RunStopped(f"interrupted; re-run the same command: {self._saved()}") from None
        except OSError as e:
            bar.close()
            if writer is not None:
                writer.abort()
            raise RunStopped(
                f"cannot write to {self.out} ({e.strerror or _short(e)}); synth's partial files"
                f" are removed: free space and re-run the same command: {self._saved()}"
            ) from None
        finally:
            bar.close()
        (self.out / STATE).unlink(missing_ok=True)
        return self.manifest

    def _saved(self) -> str:
        """What re-running the same command starts from, truthfully."""
        st = self.st
        if not (self.out / STATE).is_file():
            return "it starts again (no checkpoint was saved yet)"
        if st is None:  # stopped before the saved state was read
            return "it resumes from the last checkpoint, kept in .synth/"
        return (
            f"it resumes from the last checkpoint ({st.saved_tokens:,} of"
            f" {self.run_.budget:,} tokens)"
        )

    def _first_manifest(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "status": "running",
            "fingerprint": self.run_.fingerprint,
            "resolved": self.run_.resolved,
        }

    def _start(self, bar):
        from synth.filters import build_corpus_chain
        from synth.generation.probes import write_probes

        run, cfg = self.run_, self.cfg
        costly = run.config.backend != "template"  # every sample a model call: smaller units
        plan = make_schedule(
            cfg, run.budget, entities=run.active_entities, kinds=run.kinds, costly=costly
        )
        producer = Producer(run.setup, run.lib, run.tokenizer)
        probes = write_probes(producer, self.out / "eval", cfg, run.active_entities)
        self.eval_shards = describe_shards(self.out / "eval")  # for `synth verify`
        corpus = build_corpus_chain(cfg.filters, probes=probes, mixes=stage_mixes(cfg))
        st = load_run(self.out, run.fingerprint, corpus) if self.resume_from is not None else None
        writer = ShardWriter(self.out, SCHEMA, run.shard_tokens)
        if st is None:
            if self.resume_from is not None:
                print(
                    f"{self.out}: the run stopped before its first checkpoint; starting again",
                    file=sys.stderr,
                )
            discard_partials(self.out, keep=[])
            st = RunState(corpus=corpus)
        else:
            st = self._resume(st, writer)
        self.st = st
        n = len(plan.stage_tokens)
        st.stage_kept = st.stage_kept or [0] * n
        st.stage_produced = st.stage_produced or [0] * n
        writer.shards = list(st.shards)
        stage_acc = _StageAccumulator(cfg, run.stage_concepts, st.stages, st.rows)
        self.manifest = self._manifest(plan, st, stage_acc, "running")
        bar.update(st.kept_tokens)
        return plan, st, stage_acc, writer, producer

    def _resume(self, st: RunState, writer: ShardWriter) -> RunState:
        """Check the shards the state lists, carry on with its open shard; whatever was
        written after the checkpoint goes."""
        for s in st.shards:
            p = self.out / s.file
            if not p.is_file() or sha256_file(p) != s.sha256:
                raise UserError(
                    f"--out: {p} is missing or damaged (sha256 differs from the manifest); pass --overwrite to start over"
                )
        keep = [s.file for s in st.shards]
        if st.open_shard is not None:
            try:
                writer.reopen(st.open_shard)
            except (ValueError, OSError, pa.ArrowException) as e:
                if isinstance(e, OSError) and not isinstance(e, FileNotFoundError):
                    raise
                raise UserError(f"--out: {_short(e)}; pass --overwrite to start over") from None
            keep.append(st.open_shard["file"] + ".partial")
        discard_partials(self.out, keep=keep)
        print(
            f"{self.out}: resuming from the last checkpoint ({len(st.shards)} complete shard(s),"
            f" {st.saved_tokens:,} tokens)",
            file=sys.stderr,
        )
        return st

    def _loop(self, plan, st: RunState, stage_acc, writer: ShardWriter, producer, bar) -> None:
        run = self.run_
        # An LLM backend batches inside one process (one model in memory): 1 worker by default.
        workers = run.config.workers or (
            os.cpu_count() or 1 if run.config.backend == "template" else 1
        )
        self._postfix = lambda: ledger_text(st.rejected, st.attempts)
        if hasattr(producer.backend, "on_progress") and workers == 1:
            from synth.backends.realise import progress_text

            # the LLM part of the progress line, refreshed while a batch generates; a unit's
            # rows count as soon as the model's reply is verified (producer.live_*)
            def llm_postfix(p=None, st=st):
                rows = stage_acc.rows + producer.live_rows
                done = st.kept_tokens + producer.live_tokens
                p = p or producer.backend.progress()
                llm = progress_text(p, rows, done, run.budget)
                return f"{ledger_text(st.rejected, st.attempts)}, {llm}"

            def show(p, st=st):
                bar.n = st.kept_tokens + producer.live_tokens
                bar.set_postfix_str(llm_postfix(p), refresh=True)

            producer.backend.on_progress = show
            self._postfix = llm_postfix
        self._bar, self._writer, self._stage_acc, self._plan = bar, writer, stage_acc, plan
        with gc_policy.settled(), self._executor(workers, producer) as ex:
            for s in range(st.stage, len(plan.stage_tokens)):
                st.stage = s
                self._write_stage(ex, plan, st, s)
            writer.close_shard()
            self._checkpoint(plan, st, stage_acc, writer)

    # -- one stage: its planned units, then make-up units while it is short --------------

    def quota(self, plan: Schedule, st: RunState, s: int) -> int:
        """The tokens stage `s` must hold: its planned share; the last stage whatever the
        budget still needs (each stage ends within one row of its share)."""
        if s == len(plan.stage_tokens) - 1:
            return self.run_.budget - sum(st.stage_kept[:s])
        return plan.stage_tokens[s]

    def _write_stage(self, ex, plan: Schedule, st: RunState, s: int) -> None:
        first, last = plan.stage_units[s]
        quota = self.quota(plan, st, s)
        start = max(first, st.next_unit)
        if st.stage_kept[s] < quota and start <= last:
            planned = (plan.units[i] for i in range(start, last + 1))
            if self.run_.config.backend != "template":  # costly rows: aim at the quota
                planned = (
                    u for u in fit_units(plan.units[first : last + 1], quota) if u.index >= start
                )
            self._consume(ex.run(planned), plan, st, s)
        st.next_unit = max(st.next_unit, last + 1)
        template = replace(plan.units[last], tail=True)
        while st.stage_kept[s] < quota:
            if not st.pending:  # a new round (a resumed run may be inside one)
                st.pending = self._makeup(plan, st, s, quota)
                st.round_start = [st.stage_kept[s], st.stage_produced[s]]
            units = (replace(template, index=i, tokens=tok) for i, tok in list(st.pending))
            self._consume(ex.run(units), plan, st, s)
            if st.stage_kept[s] >= quota:
                st.pending = []
                break
            gained = st.stage_kept[s] - st.round_start[0]
            drawn = max(1, st.stage_produced[s] - st.round_start[1])
            st.stalls = st.stalls + 1 if gained < 0.02 * drawn else 0
            if st.stalls >= MAX_STALLS:
                raise RunStopped(self._starved(st, s, quota))
        st.stalls = 0

    def _makeup(self, plan: Schedule, st: RunState, s: int, quota: int) -> list[list[int]]:
        """Units that should fill what stage `s` still lacks at its keep rate so far:
        decided from the state alone, so a resumed run decides the same."""
        short = quota - st.stage_kept[s]
        rate = st.stage_kept[s] / st.stage_produced[s] if st.stage_produced[s] else 1.0
        need = int(short / max(rate, 0.02) * MAKEUP_MARGIN) + 1
        if st.produced_tokens + short / max(rate, 1e-9) > MAX_DRAWN * self.run_.budget:
            raise RunStopped(self._starved(st, s, quota))
        n = max(1, math.ceil(need / plan.unit_tokens))
        out = []
        for k in range(n):
            lo, hi = need * k // n, need * (k + 1) // n
            out.append([len(plan.units) + st.next_extra, max(1, hi - lo)])
            st.next_extra += 1
        return out

    def _starved(self, st: RunState, s: int, quota: int) -> str:
        """Why a stage cannot be filled, in one line (see Bounds above)."""
        reasons = st.corpus.stats().get("rejected", {}) if st.corpus is not None else {}
        top = sorted(reasons.items(), key=lambda rn: (-rn[1], rn[0]))[:2]
        why = ", ".join(f"{r} {n:,}" for r, n in top) or "no reason recorded"
        rate = st.stage_kept[s] / max(1, st.stage_produced[s])
        return (
            f"the corpus filters keep {rate:.1%} of what stage {self.cfg.stages[s].name!r} draws"
            f" ({why}), too little to reach --tokens {self.run_.budget:,}"
            f" ({st.stage_kept[s]:,} of the stage's {quota:,} kept): the world or the templates"
            " say too little for this budget; choose a smaller --tokens or a larger world,"
            " or pass --allow-repeat"
        )

    def _consume(self, results: Iterator[UnitResult], plan: Schedule, st: RunState, s: int) -> bool:
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
            closed = writer.write_unit(res.unit, table, tokens)
            for k, v in res.seconds.items():
                st.seconds[k] = st.seconds.get(k, 0.0) + v
            st.seconds["corpus_filters"] = st.seconds.get("corpus_filters", 0.0) + t1 - t0
            st.seconds["write"] = st.seconds.get("write", 0.0) + time.perf_counter() - t1
            bar.update(st.kept_tokens - bar.n)  # (an LLM run's bar counted live rows too)
            bar.set_postfix_str(self._postfix(), refresh=False)
            # A state that takes long to save (a 10B-token run's dedup tables) is saved
            # less often: checkpoints take at most 1/CHECKPOINT_SHARE of the time.
            wait = max(self.run_.config.checkpoint_every, CHECKPOINT_SHARE * self.checkpoint_cost)
            if closed or time.monotonic() - self.checkpointed >= wait:
                self._checkpoint(plan, st, stage_acc, writer)
            if st.stage_kept[s] >= quota:
                return True
        return False

    def _executor(self, workers: int, producer: Producer):
        c = self.run_.config
        if c.executor == "ray":
            from synth.executors.ray import RayExecutor

            return RayExecutor(Producer, self.run_.setup, c.ray_address, c.workers)
        return LocalExecutor(Producer, self.run_.setup, workers, producer if workers == 1 else None)

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

    def _checkpoint(self, plan, st: RunState, stage_acc, writer: ShardWriter) -> None:
        """Save what a resumed run needs: the open shard flushed, the state, the manifest."""
        t0 = time.monotonic()
        st.open_shard = writer.checkpoint()
        st.shards = list(writer.shards)
        st.stages, st.rows = stage_acc.stages, stage_acc.rows
        save_run(self.out, st, self.run_.fingerprint)
        st.saved_tokens = sum(s.tokens for s in st.shards) + (
            st.open_shard["tokens"] if st.open_shard else 0
        )
        self.manifest = self._manifest(plan, st, stage_acc, "running")
        write_manifest(self.out, self.manifest)
        write_dataset_files(self.out, [s.file for s in writer.shards], SCHEMA)
        gc_policy.give_back()
        self.checkpointed = time.monotonic()
        self.checkpoint_cost = self.checkpointed - t0

    def _manifest(self, plan: Schedule, st: RunState, stage_acc, status: str) -> dict:
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
                if k not in ("progress", "command_line", "ray_address", "checkpoint_every")
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
            "eval": {"shards": self.eval_shards},
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
        # an LLM run says its own ETA (from the acceptance rate) after the counts
        bar_format=None
        if config.backend == "template"
        else "{l_bar}{bar:12}| {n_fmt}/{total_fmt} tok [{elapsed}{postfix}]",
    )


def _short(e: BaseException, n: int = 120) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= n else text[: n - 3] + "..."
