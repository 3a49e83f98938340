"""`synth.generate(config)`: the whole run. The CLI's `synth generate` only wraps it.

world → plan → units (sample, render, realise, tokenize, per-sample filters; in
workers) → corpus filters (dedup, contamination, balance; in order, here) → shards
and manifest. The eval probes are made first, so the contamination guard knows them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth import __version__, gc_policy
from synth.backends.base import add_counters, llm_summary
from synth.backends.options import backend_options, fingerprint_options
from synth.chat import check_tokenizer_fits, get_format, infer_format, resolve_system_prompt
from synth.config import TierConfig, load_tier
from synth.curriculum.concepts import build_graph
from synth.curriculum.plan import Plan, Unit, make_plan
from synth.errors import RunStopped, UserError
from synth.executors import LocalExecutor
from synth.produce import (
    Producer,
    Settings,
    UnitResult,
    check_templates,
    fit_to_world,
    make_world,
    needs_world,
)
from synth.row import SCHEMA, Row
from synth.shards.atomic import sha256_file, write_bytes, write_json, write_pickle
from synth.shards.writer import ShardWriter, write_dataset_files
from synth.templating import TemplateLibrary
from synth.tokenizer import BUILTIN, load_tokenizer
from synth.units import parse_count

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


@dataclass
class GenerateConfig:
    """What `synth generate` takes; every field has the CLI option of the same name."""

    tier: str = "command"
    out: str = "outputs/command"
    tokens: str | int | None = None
    seed: int = 0
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    shard_tokens: str | int = "100M"
    tokenizer: str = "qwen2.5"
    model_format: str | None = None  # None: inferred from `model`
    system_prompt: str | None = None
    backend: str = "template"
    model: str | None = None
    realise: str | None = (
        None  # LLM backends: default realisation mode (else the tier's `realise:`)
    )
    base_url: str | None = None  # openai backend: the server, e.g. http://127.0.0.1:8000/v1
    api_key_env: str | None = None  # openai backend: the variable holding the key (OPENAI_API_KEY)
    llm_options: dict[str, Any] = field(default_factory=dict)  # --llm-option KEY=VALUE
    lang: str = "en"
    world: str | None = None  # a world spec (YAML) or ontology (RDF/OWL); default: fictional
    templates: list[str] = field(default_factory=list)
    templates_only: bool = False
    overwrite: bool = False
    progress: bool = True
    command_line: str | None = None


@dataclass
class Run:
    """A config resolved against the files it names: what the fingerprint covers."""

    config: GenerateConfig
    tier: TierConfig
    lib: TemplateLibrary
    budget: int
    shard_tokens: int
    settings: Settings
    resolved: dict[str, Any]
    fingerprint: str
    active_entities: int
    kinds: int
    stage_concepts: list[list[str]]


def resolve(config: GenerateConfig) -> Run:
    tier = load_tier(config.tier)
    budget = parse_count(config.tokens, "--tokens") if config.tokens is not None else tier.budget
    shard_tokens = parse_count(config.shard_tokens, "--shard-tokens")
    if config.executor not in ("local", "ray"):
        raise UserError(f"--executor: unknown executor {config.executor!r}; choose local or ray")
    if config.executor == "ray":
        from synth.executors.ray import _ray

        _ray()  # a clear error now if Ray is not installed
    if config.workers is not None and config.workers < 1:
        raise UserError(f"--workers: must be at least 1, got {config.workers}")
    lib = TemplateLibrary(config.templates, builtin=not config.templates_only)
    langs = parse_langs(config.lang)
    chat_format = config.model_format or infer_format(config.model)
    get_format(chat_format)  # a clear error now for an unknown format
    system = resolve_system_prompt(config.system_prompt)
    check_templates(tier, lib, langs)
    tok = load_tokenizer(config.tokenizer)
    # Budgets are counted in the target model's tokens: the built-in vocabulary must have
    # the format's markup (a tokenizer.json passed is the user's own choice).
    if config.tokenizer in BUILTIN:
        check_tokenizer_fits(tok, chat_format)
    world = make_world(config.seed, tier, config.world) if needs_world(tier, lib) else None
    entities = kinds = 0
    if world is not None:
        covering = [s for s in tier.stages if "entities" in s.covers]
        cover_tokens = min((budget * s.share for s in covering), default=budget)
        entities = max(1, min(len(world.entities), int(cover_tokens // tier.tokens_per_entity)))
        kinds = len(world.kinds)
        tier, dropped = fit_to_world(tier, lib, world.restricted(entities))
        if dropped and config.progress:
            print(
                f"synth: left out templates with nothing to say about this world: {', '.join(dropped)}",
                file=sys.stderr,
            )
    graph = build_graph(tier, lib)
    llm = backend_options(
        config.backend,
        tier.raw,
        config.out,
        config.realise,
        config.base_url,
        config.api_key_env,
        config.llm_options,
    )
    settings = Settings(
        tier=config.tier,
        seed=config.seed,
        tokenizer=config.tokenizer,
        chat_format=chat_format,
        system_prompt=system,
        backend=config.backend,
        model=config.model,
        backend_options=llm,
        template_dirs=[str(Path(d).resolve()) for d in config.templates],
        builtin_templates=not config.templates_only,
        active_entities=entities if world is not None else None,
        langs=langs,
        world_file=str(Path(config.world).resolve()) if config.world else None,
    )
    resolved = {
        "tier": tier.tier,
        "curriculum": _sha(Path(tier.source).read_bytes()),
        "budget": budget,
        "seed": config.seed,
        "tokenizer": tok.fingerprint,
        "chat_format": chat_format,
        "system_prompt": system,
        "backend": config.backend,
        "model": config.model,
        "shard_tokens": shard_tokens,
        "templates": {
            f"{tid}@{lang}": _sha(lib.spec(tid, lang).source.encode())
            for tid in sorted(tier.templates)
            for lang in langs
        },
        "partials": {
            str(p.name): _sha(p.read_bytes()) for d in lib.dirs for p in sorted(d.rglob("_*.j2"))
        },
        "world": {"file": _sha(Path(config.world).read_bytes())} if config.world else tier.world,
        "langs": langs,
        "synth": __version__,
    }
    if config.backend != "template":  # template runs keep the fingerprints they had
        resolved["llm"] = fingerprint_options(llm)
    fp = _sha(json.dumps(resolved, sort_keys=True).encode())
    return Run(
        config,
        tier,
        lib,
        budget,
        shard_tokens,
        settings,
        resolved,
        fp,
        entities,
        kinds,
        graph.stage_introduces,
    )


def parse_langs(spec: str) -> dict[str, float]:
    """`en`, `ru`, `en,ru` (equal shares) or `en:0.7,ru:0.3`."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, share = part.partition(":")
        if not name.isalpha() or len(name) > 8:
            raise UserError(f"--lang: {part!r} is not a language code (e.g. en, ru, en:0.7,ru:0.3)")
        try:
            out[name] = float(share) if share else 1.0
        except ValueError:
            raise UserError(f"--lang: share {share!r} of {name} is not a number") from None
        if out[name] <= 0:
            raise UserError(f"--lang: share of {name} must be positive")
    if not out:
        raise UserError("--lang: give at least one language, e.g. en")
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def _differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        if old.get(k) != new.get(k):
            if isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
                sub = [
                    f"{k}.{s}"
                    for s in sorted(set(old[k]) | set(new[k]))
                    if old[k].get(s) != new[k].get(s)
                ]
                out.extend(sub[:5])
            else:
                out.append(f"{k} ({old.get(k)!r} → {new.get(k)!r})")
    return out


OUR_FILES = ("data-", "manifest.json", "state.json", "dataset_info.json")
OUR_DIRS = ("eval", "rejected", ".synth")


def _prepare_out(run: Run) -> dict | None:
    """Check the output folder; returns the manifest of a run to resume, if any."""
    out = Path(run.config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a directory")
    manifest_path = out / MANIFEST
    if out.is_dir() and any(out.iterdir()):
        if run.config.overwrite:
            for p in out.iterdir():
                if p.is_dir() and p.name == ".synth":
                    # LLM responses are keyed by what asked for them: still valid, keep them
                    for q in p.iterdir():
                        if not q.name.startswith("llm-cache.sqlite"):
                            shutil.rmtree(q) if q.is_dir() else q.unlink()
                elif p.is_dir() and p.name in OUR_DIRS:
                    shutil.rmtree(p)
                elif p.is_file() and p.name.startswith(OUR_FILES):
                    p.unlink()
            return None
        if not manifest_path.is_file():
            raise UserError(
                f"--out: {out} is not empty and holds no synth corpus; choose another folder or pass --overwrite"
            )
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(
                f"--out: {manifest_path} is unreadable ({e}); pass --overwrite to start over"
            ) from None
        if old.get("fingerprint") != run.fingerprint:
            diff = ", ".join(_differences(old.get("resolved", {}), run.resolved)) or "unknown"
            raise UserError(
                f"--out: {out} holds a different corpus (differs in: {diff}); pass --overwrite to replace it"
            )
        return old
    return None


def generate(config: GenerateConfig) -> dict[str, Any]:
    """Generate a corpus; returns its manifest. Raises UserError for bad input."""
    run = resolve(config)
    old = _prepare_out(run)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if old is None:
        # The folder is ours from the first moment: a run killed this early resumes too.
        write_json(
            out / MANIFEST,
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

    next_unit: int = 0
    kept_tokens: int = 0
    produced_tokens: int = 0  # before corpus filters: their keep rate sizes the tail
    attempts: int = 0
    rejected: int = 0
    shards: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    rows: int = 0
    sample_stats: list = field(default_factory=list)
    corpus: Any = None
    seconds: dict = field(default_factory=dict)  # CPU seconds per step, summed over units
    llm: dict = field(default_factory=dict)  # LLM backend counters, summed over units
    carry: Any = None  # rows of the open shard when a shard closed inside a unit


STATE = Path(".synth") / "state.pkl"
CORPUS_BATCH = 256  # rows per corpus-filter batch


class _Generation:
    def __init__(self, run: Run, out: Path, resume_from: dict | None):
        self.run_ = run
        self.out = out
        self.resume_from = resume_from
        self.cfg = run.tier
        self.started = time.time()

    def run(self) -> dict[str, Any]:
        from synth.eval_split import write_probes
        from synth.filters import build_corpus_chain

        run, cfg = self.run_, self.cfg
        # An LLM backend batches inside one process (one model in memory): 1 worker by default.
        workers = run.config.workers or (
            os.cpu_count() or 1 if run.config.backend == "template" else 1
        )
        plan = make_plan(cfg, run.budget, entities=run.active_entities, kinds=run.kinds)
        producer = Producer.from_settings(run.settings)
        probes = write_probes(producer, self.out / "eval", cfg, run.active_entities)
        st = self._resume_state() if self.resume_from is not None else None
        if st is None:
            _discard_partials(self.out, keep=[])
            st = _State(corpus=build_corpus_chain(cfg.filters, probes=probes))
        stage_acc = _StageAccumulator(cfg, run.stage_concepts, st.stages, st.rows)
        writer = ShardWriter(self.out, SCHEMA, run.shard_tokens, shards=list(st.shards))
        writer.restore(getattr(st, "carry", None))
        self.manifest = self._manifest(plan, st, stage_acc, "running")
        bar = _progress(run.config, run.budget)
        bar.update(st.kept_tokens)
        if hasattr(producer.backend, "on_progress") and workers == 1:
            from synth.backends.realise import progress_text

            # the LLM part of the progress line, refreshed while a batch generates
            def show(p, st=st, stage_acc=stage_acc):
                bar.set_postfix_str(
                    f"rejected {rejected_share(st.rejected, stage_acc.rows):.1%}, {progress_text(p)}",
                    refresh=True,
                )

            producer.backend.on_progress = show
        try:
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
                    st.llm = add_counters(
                        getattr(st, "llm", {}), res.llm
                    )  # states saved before LLM backends lack it
                    if writer.write_unit(res.unit, table, tokens):
                        self._checkpoint(plan, st, stage_acc, writer)
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
        _write_rejected(self.out, self.manifest["filters"])
        write_json(self.out / MANIFEST, self.manifest)
        (self.out / STATE).unlink(missing_ok=True)
        return self.manifest

    def _executor(self, workers: int, producer: Producer):
        c = self.run_.config
        if c.executor == "ray":
            from synth.executors.ray import RayExecutor

            return RayExecutor(self.run_.settings, c.ray_address, c.workers)
        return LocalExecutor(self.run_.settings, workers, producer if workers == 1 else None)

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
        _discard_partials(self.out, keep=[s.file for s in st.shards])
        print(
            f"{self.out}: resuming after {len(st.shards)} complete shard(s), {st.kept_tokens:,} tokens",
            file=sys.stderr,
        )
        return st

    def _results(self, ex, plan: Plan, st: _State) -> Iterator[UnitResult]:
        """Unit results in index order: the planned units from where the run stands, then
        tail units (the last unit again under new indices, full size) while corpus filters
        leave the budget short. The consumer stops at the budget, so what is written never
        depends on how many units ran ahead; tails are submitted only while the budget
        still looks short counting what the units in flight should keep, so little is
        made to be thrown away."""
        budget, last = self.run_.budget, plan.units[-1]
        planned = iter([u for u in plan.units if u.index >= st.next_unit])
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

    def _checkpoint(self, plan, st: _State, stage_acc, writer) -> None:
        st.shards = list(writer.shards)
        st.carry = writer.carry
        st.stages, st.rows = stage_acc.stages, stage_acc.rows
        (self.out / STATE).parent.mkdir(exist_ok=True)
        write_pickle(self.out / STATE, st)
        self.manifest = self._manifest(plan, st, stage_acc, "running")
        write_json(self.out / MANIFEST, self.manifest)
        write_dataset_files(self.out, [s.file for s in writer.shards], SCHEMA)

    def _manifest(self, plan: Plan, st: _State, stage_acc, status: str) -> dict:
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
                "drawn": st.attempts,
                "rejected": st.rejected,
            },
            "shards": [s.to_json() for s in st.shards],
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
            **({"llm": llm_summary(getattr(st, "llm", {}))} if c.backend != "template" else {}),
        }


def rejected_share(rejected: int, rows: int) -> float:
    """Rejected samples over all that reached the filters: the progress bar's figure, and
    the CLI's closing note's."""
    return rejected / max(1, rejected + rows)


def merge_sample_stats(stats: list[dict]) -> dict:
    from synth.filters import merge_stats

    return merge_stats(stats) if stats else {}


def _discard_partials(out: Path, keep: list[str]) -> None:
    """Shard files not recorded as complete, and half-written files, go."""
    for p in out.glob("data-*.arrow*"):
        if p.name not in keep:
            p.unlink()


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


def _first_tokens(table: pa.Table, tokens: int) -> pa.Table:
    """The leading rows that reach `tokens` (the one that crosses it included)."""
    if not table.num_rows or tokens <= 0:
        return table.slice(0, 0)
    cum = pa.compute.cumulative_sum(table.column("n_tokens"))
    n = pa.compute.sum(pa.compute.less(cum, tokens)).as_py() or 0
    return table.slice(0, min(table.num_rows, n + 1))


def _write_rejected(out: Path, stats: dict) -> None:
    """OUT/rejected/rejected.jsonl: the capped examples the filters kept, with reasons."""
    examples = [
        ex
        for chain in stats.values()
        for f in (chain.get("filters") or {}).values()
        for exs in (f.get("examples") or {}).values()
        for ex in exs
    ]
    d = out / "rejected"
    d.mkdir(exist_ok=True)
    write_bytes(
        d / "rejected.jsonl",
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples).encode(),
    )
