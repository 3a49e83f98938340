"""`synth.generate(config)`: the whole run. The CLI's `synth generate` only wraps it.

world → plan → units (sample, render, realise, tokenize, per-sample filters; in
workers) → corpus filters (dedup, contamination, balance; in order, here) → shards
and manifest. The eval probes are made first, so the contamination guard knows them.

Checkpoints. The run's state (`state.RunState`) is saved whenever a shard closes and
every `checkpoint_every` seconds (60 by default) between, with the open shard flushed to
disk (a state so large that saving it takes over 1/CHECKPOINT_SHARE of that is saved
less often): a run killed, interrupted or stopped by a full disk resumes from its
last checkpoint, however large its shards, and ends byte-identical to an uninterrupted
run (when a checkpoint happens changes no decision). A stopped run says what its last
checkpoint holds.

Bounds. A world too small for its budget gives duplicates that the corpus filters
reject, and the tail units that make up for them would run for ever: once `MIN_TAILS`
tail units show what they keep, a run that would need to draw more than `MAX_DRAWN`
times its budget at that rate stops, naming the filters' main reasons (the built-in
tiers at 1M tokens pass their corpus filters 1.0 times their budget).
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth import __version__, gc_policy
from synth.backends.base import add_counters, llm_summary
from synth.curriculum.schedule import Schedule, Unit, make_schedule
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
MIN_TAILS = 4  # tail units that show their keep rate before it can stop a run
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
        plan = make_schedule(cfg, run.budget, entities=run.active_entities, kinds=run.kinds)
        producer = Producer(run.setup, run.lib, run.tokenizer)
        probes = write_probes(producer, self.out / "eval", cfg, run.active_entities)
        self.eval_shards = describe_shards(self.out / "eval")  # for `synth verify`
        corpus = build_corpus_chain(cfg.filters, probes=probes)
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
        if hasattr(producer.backend, "on_progress") and workers == 1:
            from synth.backends.realise import progress_text

            # the LLM part of the progress line, refreshed while a batch generates
            def show(p, st=st, stage_acc=stage_acc):
                bar.set_postfix_str(
                    f"rejected {rejected_share(st.rejected, stage_acc.rows):.1%}, {progress_text(p)}",
                    refresh=True,
                )

            producer.backend.on_progress = show
        tails = [0, 0, 0]  # tail units consumed, tokens they drew, tokens kept of them
        with gc_policy.settled(), self._executor(workers, producer) as ex:
            for res in self._results(ex, plan, st):
                t0 = time.perf_counter()
                table = _first_tokens(
                    self._corpus_filter(res.table, st.corpus, res.rows),
                    run.budget - st.kept_tokens,
                )
                t1 = time.perf_counter()
                st.produced_tokens += res.tokens
                tokens = (
                    int(pa.compute.sum(table.column("n_tokens")).as_py() or 0)
                    if table.num_rows
                    else 0
                )
                st.kept_tokens += tokens
                st.attempts += res.attempts
                st.rejected += res.rejected + (res.table.num_rows - table.num_rows)
                st.sample_stats = [merge_sample_stats(st.sample_stats + [res.filter_stats])]
                stage_acc.add(table)
                st.next_unit = res.unit + 1
                st.llm = add_counters(st.llm, res.llm)
                closed = writer.write_unit(res.unit, table, tokens) is not None
                for k, v in res.seconds.items():
                    st.seconds[k] = st.seconds.get(k, 0.0) + v
                st.seconds["corpus_filters"] = st.seconds.get("corpus_filters", 0.0) + t1 - t0
                st.seconds["write"] = st.seconds.get("write", 0.0) + time.perf_counter() - t1
                bar.update(tokens)
                bar.set_postfix_str(
                    f"rejected {rejected_share(st.rejected, stage_acc.rows):.1%}",
                    refresh=False,
                )
                if st.kept_tokens >= run.budget:
                    break
                # A state that takes long to save (a 10B-token run's dedup tables) is saved
                # less often: checkpoints take at most 1/CHECKPOINT_SHARE of the time.
                wait = max(run.config.checkpoint_every, CHECKPOINT_SHARE * self.checkpoint_cost)
                due = time.monotonic() - self.checkpointed >= wait
                if closed or due:
                    self._checkpoint(plan, st, stage_acc, writer)
                if res.unit >= len(plan.units):
                    tails = [tails[0] + 1, tails[1] + res.tokens, tails[2] + tokens]
                self._check_progress(st, tails)
            writer.close_shard()
            self._checkpoint(plan, st, stage_acc, writer)

    def _check_progress(self, st: RunState, tails: list[int]) -> None:
        """Stop a run the corpus filters keep starving (see Bounds above). `tails`: tokens
        drawn and kept by the tail units so far."""
        budget = self.run_.budget
        (n, drawn, kept), short = tails, budget - st.kept_tokens
        need = st.produced_tokens + (short * drawn / kept if kept else float("inf"))
        if st.produced_tokens <= MAX_DRAWN * budget and (
            n < MIN_TAILS or need <= MAX_DRAWN * budget
        ):
            return
        reasons = st.corpus.stats().get("rejected", {})
        top = sorted(reasons.items(), key=lambda rn: (-rn[1], rn[0]))[:2]
        why = ", ".join(f"{r} {c:,}" for r, c in top) or "no reason recorded"
        raise RunStopped(
            f"the corpus filters keep {kept / max(1, drawn):.1%} of what the last units drew"
            f" ({why}), too little to reach --tokens {budget:,} ({st.kept_tokens:,} kept):"
            " the world or the templates have too little to say; choose a smaller --tokens"
            " or a larger world"
        )

    def _executor(self, workers: int, producer: Producer):
        c = self.run_.config
        if c.executor == "ray":
            from synth.executors.ray import RayExecutor

            return RayExecutor(Producer, self.run_.setup, c.ray_address, c.workers)
        return LocalExecutor(Producer, self.run_.setup, workers, producer if workers == 1 else None)

    def _results(self, ex, plan: Schedule, st: RunState) -> Iterator[UnitResult]:
        """Unit results in index order: the planned units from where the run stands, then
        tail units (the last unit again under new indices, full size) while corpus filters
        leave the budget short. The consumer stops at the budget, so what is written never
        depends on how many units ran ahead; tails are submitted only while the budget
        still looks short counting what the units in flight should keep, so little is
        made to be thrown away."""
        budget, last = self.run_.budget, plan.units[-1]
        planned = plan.units.since(st.next_unit)
        tail = replace(last, tokens=plan.unit_tokens, tail=False)
        next_index = max(last.index + 1, st.next_unit)
        ahead: deque[int] = deque()  # tokens of the units in flight

        def units() -> Iterator[Unit]:
            nonlocal next_index
            for u in planned:
                ahead.append(u.tokens)
                yield u
            # Tails while what the units in flight should add (their tokens at the keep
            # rate so far) leaves the budget short.
            while budget - st.kept_tokens > sum(ahead) * (
                st.kept_tokens / max(1, st.produced_tokens) or 1.0
            ):
                ahead.append(tail.tokens)
                yield replace(tail, index=next_index)
                next_index += 1

        while st.kept_tokens < budget:
            for res in ex.run(units()):
                ahead.popleft()
                yield res

    def _corpus_filter(self, table: pa.Table, corpus, rows: list[Row] | None = None) -> pa.Table:
        # Slices of the chain's own batch size: the batches (near-dedup hashes a batch at
        # once) are the same as for the whole table, and only one slice is ever Python rows
        # (unless the unit was made in this process and brought its rows along).
        mask: list[bool] = []
        for start in range(0, table.num_rows, CORPUS_BATCH):
            if rows is not None:
                batch = rows[start : start + CORPUS_BATCH]
            else:
                batch = [Row(**rec) for rec in table.slice(start, CORPUS_BATCH).to_pylist()]
            kept = {id(r) for r in corpus.filter(batch, batch_size=CORPUS_BATCH)}
            mask.extend(id(r) in kept for r in batch)
        return table if all(mask) else table.filter(pa.array(mask))

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
                "drawn": st.attempts,
                "rejected": st.rejected,
            },
            "shards": [s.to_json() for s in st.shards],
            "eval": {"shards": self.eval_shards},
            "read_in_order": True,
            "order_note": "Rows are in curriculum order (shard 0 first). Read shards in order without a global shuffle to keep the curriculum.",
            "stages": stage_acc.to_json(),
            "plan": {
                "units": len(plan.units),
                "unit_tokens": plan.unit_tokens,
                "active_entities": run.active_entities,
            },
            "filters": {"sample": merge_sample_stats(st.sample_stats), "corpus": st.corpus.stats()},
            "timing": {
                "seconds": round(elapsed, 3),
                "tokens_per_second": round(st.kept_tokens / elapsed, 1) if elapsed else None,
                "steps_seconds": {k: round(v, 3) for k, v in sorted(st.seconds.items())},
            },
            "resume": {"next_unit": st.next_unit},
            **({"llm": llm_summary(st.llm)} if c.backend != "template" else {}),
        }


def rejected_share(rejected: int, rows: int) -> float:
    """Rejected samples over all that reached the filters: the progress bar's figure, and
    the CLI's closing note's."""
    return rejected / max(1, rejected + rows)


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


def _short(e: BaseException, n: int = 120) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= n else text[: n - 3] + "..."


def _first_tokens(table: pa.Table, tokens: int) -> pa.Table:
    """The leading rows that reach `tokens` (the one that crosses it included)."""
    if not table.num_rows or tokens <= 0:
        return table.slice(0, 0)
    cum = pa.compute.cumulative_sum(table.column("n_tokens"))
    n = pa.compute.sum(pa.compute.less(cum, tokens)).as_py() or 0
    return table.slice(0, min(table.num_rows, n + 1))
