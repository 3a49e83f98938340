"""`synth.generate(config)`: the whole run. The CLI's `synth generate` only wraps it.

world → plan → units (sample, render, realise, tokenize, per-sample filters; in
workers) → corpus filters (dedup, contamination, balance; in order, here) → shards
and manifest. The eval probes are made first, so the contamination guard knows them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth import __version__
from synth.config import TierConfig, load_tier
from synth.curriculum.concepts import build_graph
from synth.curriculum.plan import Plan, make_plan
from synth.errors import RunStopped, UserError
from synth.executors import LocalExecutor
from synth.produce import Producer, Settings, check_templates, needs_world
from synth.row import SCHEMA, Row
from synth.shards.atomic import write_json
from synth.shards.writer import ShardWriter, write_dataset_files
from synth.templating import TemplateLibrary
from synth.tokenizer import load_tokenizer
from synth.units import parse_count
from synth.world.fictional import build_world

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
TOKENS_PER_COVERED_ENTITY = 2000  # stage tokens a covering stage needs per entity it states


@dataclass
class GenerateConfig:
    """What `synth generate` takes; every field has the CLI option of the same name."""

    tier: str = "command"
    out: str = "outputs/command"
    tokens: str | int | None = None
    seed: int = 0
    workers: int | None = None
    shard_tokens: str | int = "100M"
    tokenizer: str = "qwen2.5"
    model_format: str = "qwen2.5"
    backend: str = "template"
    model: str | None = None
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
    if config.workers is not None and config.workers < 1:
        raise UserError(f"--workers: must be at least 1, got {config.workers}")
    lib = TemplateLibrary(config.templates, builtin=not config.templates_only)
    check_templates(tier, lib)
    graph = build_graph(tier, lib)
    tok = load_tokenizer(config.tokenizer)
    world = build_world(config.seed, tier.world) if needs_world(tier, lib) else None
    entities = kinds = 0
    if world is not None:
        covering = [s for s in tier.stages if "entities" in s.covers]
        cover_tokens = min((budget * s.share for s in covering), default=budget)
        entities = max(1, min(len(world.entities), int(cover_tokens // TOKENS_PER_COVERED_ENTITY)))
        kinds = len(world.kinds)
    settings = Settings(
        tier=config.tier,
        seed=config.seed,
        tokenizer=config.tokenizer,
        chat_format=config.model_format,
        backend=config.backend,
        model=config.model,
        template_dirs=[str(Path(d).resolve()) for d in config.templates],
        builtin_templates=not config.templates_only,
        active_entities=entities if world is not None else None,
    )
    resolved = {
        "tier": tier.tier,
        "curriculum": _sha(Path(tier.source).read_bytes()),
        "budget": budget,
        "seed": config.seed,
        "tokenizer": tok.fingerprint,
        "chat_format": config.model_format,
        "backend": config.backend,
        "model": config.model,
        "shard_tokens": shard_tokens,
        "templates": {tid: _sha(lib.spec(tid).source.encode()) for tid in sorted(tier.templates)},
        "partials": {str(p.name): _sha(p.read_bytes()) for d in lib.dirs for p in sorted(d.rglob("_*.j2"))},
        "world": tier.world,
        "synth": __version__,
    }
    fp = _sha(json.dumps(resolved, sort_keys=True).encode())
    return Run(config, tier, lib, budget, shard_tokens, settings, resolved, fp, entities, kinds, graph.stage_introduces)


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def _differences(old: dict, new: dict) -> list[str]:
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        if old.get(k) != new.get(k):
            if isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
                sub = [f"{k}.{s}" for s in sorted(set(old[k]) | set(new[k])) if old[k].get(s) != new[k].get(s)]
                out.extend(sub[:5])
            else:
                out.append(f"{k} ({old.get(k)!r} → {new.get(k)!r})")
    return out


OUR_FILES = ("data-", "manifest.json", "state.json", "dataset_info.json")
OUR_DIRS = ("eval", "rejected")


def _prepare_out(run: Run) -> dict | None:
    """Check the output folder; returns the manifest of a run to resume, if any."""
    out = Path(run.config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a directory")
    manifest_path = out / MANIFEST
    if out.is_dir() and any(out.iterdir()):
        if run.config.overwrite:
            for p in out.iterdir():
                if p.is_dir() and p.name in OUR_DIRS:
                    shutil.rmtree(p)
                elif p.is_file() and p.name.startswith(OUR_FILES):
                    p.unlink()
            return None
        if not manifest_path.is_file():
            raise UserError(f"--out: {out} is not empty and holds no synth corpus; choose another folder or pass --overwrite")
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(f"--out: {manifest_path} is unreadable ({e}); pass --overwrite to start over") from None
        if old.get("fingerprint") != run.fingerprint:
            diff = ", ".join(_differences(old.get("resolved", {}), run.resolved)) or "unknown"
            raise UserError(f"--out: {out} holds a different corpus (differs in: {diff}); pass --overwrite to replace it")
        return old
    return None


def generate(config: GenerateConfig) -> dict[str, Any]:
    """Generate a corpus; returns its manifest. Raises UserError for bad input."""
    run = resolve(config)
    old = _prepare_out(run)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if old is not None and old.get("status") == "complete":
        print(f"{out}: already complete ({old['totals']['tokens']:,} tokens); nothing to do", file=sys.stderr)
        return old
    return _Generation(run, out, old).run()


class _Generation:
    def __init__(self, run: Run, out: Path, resume_from: dict | None):
        self.run_ = run
        self.out = out
        self.resume_from = resume_from
        self.cfg = run.tier
        self.started = time.time()

    def run(self) -> dict[str, Any]:
        from synth.eval_split import write_probes
        from synth.filters import build_corpus_chain, merge_stats

        run, cfg = self.run_, self.cfg
        workers = run.config.workers or os.cpu_count() or 1
        plan = make_plan(cfg, run.budget, entities=run.active_entities, kinds=run.kinds)
        producer = Producer.from_settings(run.settings)
        probes = write_probes(producer, self.out / "eval", cfg, run.active_entities)
        corpus = build_corpus_chain(cfg.filters, probes=probes)
        writer = ShardWriter(self.out, SCHEMA, run.shard_tokens)
        sample_stats: list[dict] = []
        stage_acc = _StageAccumulator(cfg, run.stage_concepts)
        kept_tokens = 0
        attempts = rejected = 0
        self.manifest = self._manifest(plan, writer, stage_acc, corpus, sample_stats, kept_tokens, "running")
        bar = _progress(run.config, run.budget)
        try:
            with LocalExecutor(run.settings, workers, producer if workers == 1 else None) as ex:
                units = plan.units[:-1]
                results = ex.run(units)
                last = plan.units[-1]
                tail_results = self._tail(ex, last, lambda: kept_tokens)
                for res in _chain_iter(results, tail_results):
                    table = self._corpus_filter(res.table, corpus)
                    tokens = int(pa.compute.sum(table.column("n_tokens")).as_py() or 0) if table.num_rows else 0
                    kept_tokens += tokens
                    attempts += res.attempts
                    rejected += res.rejected + (res.table.num_rows - table.num_rows)
                    sample_stats.append(res.filter_stats)
                    stage_acc.add(table, writer_offset=sum(s.rows for s in writer.shards) + writer._rows)
                    if writer.write_unit(res.unit, table, tokens) is not None:
                        self._checkpoint(plan, writer, stage_acc, corpus, sample_stats, kept_tokens)
                    bar.update(tokens)
                    bar.set_postfix_str(f"rejected {rejected / max(1, rejected + stage_acc.rows):.1%}", refresh=False)
                writer.close_shard()
        except KeyboardInterrupt:
            bar.close()
            raise RunStopped("interrupted; complete shards are kept") from None
        bar.close()
        self.manifest = self._manifest(plan, writer, stage_acc, corpus, sample_stats, kept_tokens, "complete")
        self.manifest["totals"].update(drawn=attempts, rejected=rejected)
        write_dataset_files(self.out, [s.file for s in writer.shards], SCHEMA, f"synth {cfg.tier} corpus")
        _write_rejected(self.out, merge_stats(sample_stats + [corpus.stats()]))
        write_json(self.out / MANIFEST, self.manifest)
        return self.manifest

    def _tail(self, ex: LocalExecutor, last, kept):
        """The tail unit, then further tails while corpus filters left the budget short."""
        index = last.index
        unit = last
        while True:
            remaining = self.run_.budget - kept()
            if remaining <= 0:
                return
            yield ex.run_one(unit, remaining)
            index += 1
            unit = _replace(last, index=index)

    def _corpus_filter(self, table: pa.Table, corpus) -> pa.Table:
        if not table.num_rows:
            return table
        mask = [corpus.reason(Row(**rec)) is None for rec in table.to_pylist()]
        return table if all(mask) else table.filter(pa.array(mask))

    def _checkpoint(self, plan, writer, stage_acc, corpus, sample_stats, kept_tokens) -> None:
        self.manifest = self._manifest(plan, writer, stage_acc, corpus, sample_stats, kept_tokens, "running")
        write_json(self.out / MANIFEST, self.manifest)
        write_dataset_files(self.out, [s.file for s in writer.shards], SCHEMA)

    def _manifest(self, plan: Plan, writer, stage_acc, corpus, sample_stats, kept_tokens, status) -> dict:
        from synth.filters import merge_stats

        run, cfg = self.run_, self.cfg
        elapsed = time.time() - self.started
        c = run.config
        return {
            "version": MANIFEST_VERSION,
            "synth": __version__,
            "status": status,
            "fingerprint": run.fingerprint,
            "command_line": c.command_line,
            "config": {k: v for k, v in asdict(c).items() if k not in ("progress", "command_line")},
            "resolved": run.resolved,
            "tier": cfg.tier,
            "seed": c.seed,
            "tokenizer": run.resolved["tokenizer"],
            "chat_format": c.model_format,
            "backend": c.backend,
            "model": c.model,
            "budget": run.budget,
            "totals": {
                "tokens": kept_tokens,
                "rows": sum(s.rows for s in writer.shards),
                "shards": len(writer.shards),
            },
            "shards": [s.to_json() for s in writer.shards],
            "read_in_order": True,
            "order_note": "Rows are in curriculum order (shard 0 first). Read shards in order without a global shuffle to keep the curriculum.",
            "stages": stage_acc.to_json(),
            "plan": {"units": len(plan.units), "unit_tokens": plan.unit_tokens, "active_entities": run.active_entities},
            "filters": merge_stats(sample_stats + [corpus.stats()]),
            "timing": {"seconds": round(elapsed, 3), "tokens_per_second": round(kept_tokens / elapsed, 1) if elapsed else None},
            "resume": {"next_unit": writer.shards[-1].units[1] + 1 if writer.shards else 0},
        }


class _StageAccumulator:
    def __init__(self, cfg: TierConfig, concepts: list[list[str]]):
        self.cfg = cfg
        self.stages = [
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
        self.rows = 0

    def add(self, table: pa.Table, writer_offset: int) -> None:
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


def _chain_iter(*iters):
    for it in iters:
        yield from it


def _replace(unit, **kw):
    from dataclasses import replace

    return replace(unit, **kw)


def _write_rejected(out: Path, stats: dict) -> None:
    examples = [ex for f in stats.values() if isinstance(f, dict) for ex in f.get("examples", [])]
    d = out / "rejected"
    d.mkdir(exist_ok=True)
    from synth.shards.atomic import write_bytes

    write_bytes(d / "rejected.jsonl", "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples).encode())
