"""`synth qa`: a dataset review that a person reads before spending GPU hours.

    from synth.qa import QAConfig, run_qa
    q = run_qa(QAConfig(path="outputs/ontology", out="report"))   # report/index.html, qa.json

`run_qa` is what the `synth qa` command calls. It reads the corpus once, streaming
(exact counts), measures the costly things on bounded samples, runs `synth verify`
and `synth curriculum check` on synth corpora, and writes a self-contained HTML page and
`qa.json` with the same figures; the verdict at the top lists the problems worst first.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from synth.errors import UserError
from synth.filters.base import sample_content
from synth.qa.frames import FrameMeter
from synth.qa.metrics import (
    DIVERSITY_CHARS,
    DIVERSITY_ROWS,
    Filters,
    Findings,
    Pass,
    check_formal,
    diversity,
    filters_for,
    int_hist,
    near_duplicate_clusters,
    repetition_limits,
    repetition_summary,
    verdict,
)
from synth.qa.read import Corpus, RowReader, column_batches, open_corpus
from synth.row import Row
from synth.tokenizer import load_tokenizer

__all__ = ["QAConfig", "run_qa"]


@dataclass
class QAConfig:
    """What `synth qa` takes; each field has the CLI option of the same name."""

    path: str
    out: str = "qa-report"
    tokenizer: str = "qwen2.5"
    sample: int = 5  # rows per template in the sample browser
    metrics_sample: int = 5_000  # rows sampled for repetition, near duplicates, diversity
    eval: str | None = None  # probes for data synth did not make (synth corpora: PATH/eval)
    chat_format: str = "qwen2.5"  # how messages-only rows become text to count tokens on
    progress: bool = False


def run_qa(config: QAConfig) -> dict[str, Any]:
    """Review a corpus; writes OUT/index.html and OUT/qa.json and returns the latter."""
    if config.sample < 0 or config.metrics_sample < 1:
        raise UserError("--sample must be >= 0 and --metrics-sample >= 1")
    started = time.perf_counter()
    corpus = open_corpus(config.path, config.eval)
    tok = load_tokenizer(config.tokenizer)
    filters = filters_for(corpus.manifest)
    probes = _read_all(corpus.probes, config) if corpus.probes is not None else None
    p = Pass(filters, config.metrics_sample, config.sample, probes)
    frames = FrameMeter()
    read_errors = _stream(corpus, p, frames, tok, config)
    pass_seconds = time.perf_counter() - started
    q = _assemble(corpus, p, filters, probes, config, tok.name, read_errors)
    q["frames"] = frames.to_json()
    q["formatting"] = frames.formatting_json()
    q["timing"] = _timing(corpus, p, pass_seconds, time.perf_counter() - started)
    q["timing"]["frames_seconds"] = round(frames.seconds, 3)
    q["verdict"] = verdict(q)
    _write(q, Path(config.out))
    return q


def _read_all(corpus: Corpus, config: QAConfig) -> list[Row]:
    """The eval probes (small by nature: held in memory)."""
    reader = RowReader(config.chat_format)
    return [r for _, rows in reader.rows(corpus) for r in rows]


def _stream(corpus: Corpus, p: Pass, frames: FrameMeter, tok, config: QAConfig) -> list[str]:
    """The one pass over the corpus. A synth shard that cannot be read is a finding (the
    verdict shows it); in data synth did not make it is an error."""
    reader = RowReader(config.chat_format)
    errors: list[str] = []
    bar = _progress(config, corpus)
    for path in corpus.files:
        try:
            for cols in column_batches(path):
                rows = reader.convert(cols, path)
                p.add(rows, tok.count([r.text for r in rows]), path.name)
                frames.add(rows)
                bar.update(len(rows))
        except UserError as e:
            if not corpus.is_synth:
                raise
            errors.append(str(e))
    bar.close()
    return errors


def _progress(config: QAConfig, corpus: Corpus):
    from tqdm import tqdm

    total = (corpus.manifest or {}).get("totals", {}).get("rows")
    return tqdm(
        total=total, unit=" rows", disable=not config.progress, file=sys.stderr, dynamic_ncols=True
    )


# --- the figures --------------------------------------------------------------------------


def _assemble(
    corpus: Corpus,
    p: Pass,
    filters: Filters,
    probes: list[Row] | None,
    config: QAConfig,
    tokenizer: str,
    read_errors: list[str],
) -> dict[str, Any]:
    sample: list[Row] = p.sample.items()
    if p.contamination is not None:
        p.contamination.add_sample(sample)
    m = corpus.manifest or {}
    return {
        "qa_version": 1,
        "corpus": {
            "path": str(corpus.path),
            "kind": corpus.kind,
            "files": [str(f) for f in corpus.files],
            "tier": m.get("tier"),
            "manifest_status": m.get("status"),
            "notes": corpus.notes + filters.notes,
        },
        "config": asdict(config),
        "read_errors": read_errors,
        "totals": _totals(corpus, p),
        "tokens": {
            "tokenizer": tokenizer,
            "same_tokenizer": bool(m) and str(m.get("tokenizer", "")).split(":")[0] == tokenizer,
            "n_tokens_column": {**p.n_tokens_diff.to_json(), "compared": p.n_tokens_compared},
        },
        "sampling": {
            "metric_sample": len(sample),
            "rows": p.rows,
            "sampled": len(sample) < p.rows,
            "per_template": DIVERSITY_ROWS,
            "exact": "rows, tokens, languages, templates, stages, token/entropy/compression "
            "histograms, filter bands, exact duplicates, correctness, exact contamination: every row",
            "sampled_metrics": "repetition, near-duplicate clusters, corpus distinct-n, probe "
            "questions contained in / near-duplicated by train rows: the metric sample; "
            "per-template and per-stage distinct-n: 200 rows each; sentence frames: 100k "
            "sentences per template and overall (bottom-k by position hash); lists and "
            "repeated sentences: every row",
        },
        "filters": {"source": filters.source, "bands": _bands(filters)},
        "distributions": {
            "tokens": int_hist(p.token_counts),
            "entropy": p.entropy.to_json(),
            "compression": {
                **p.compression.to_json(),
                "median_bytes": _median(p.compression_bytes),
            },
            "repetition": repetition_summary(
                sample, filters.repetition, filters.repetition_enabled
            ),
        },
        "quality": {
            "outside_bands": {k: v.to_json() for k, v in sorted(p.bands.items())},
            "empty": p.empty.to_json(),
            "language_mismatch": p.lang_mismatch.to_json(),
        },
        "diversity": _diversity(p, sample, filters),
        "curriculum": _curriculum(corpus, p) if p.has_stage else None,
        "correctness": _correctness(p, probes),
        "contamination": p.contamination.to_json() if p.contamination else None,
        "verify": _verify(corpus),
        "samples": _samples(p),
    }


def _totals(corpus: Corpus, p: Pass) -> dict[str, Any]:
    groups = {k: v for k, v in p.groups.items()}
    return {
        "rows": p.rows,
        "tokens": p.tokens,
        "characters": p.chars,
        "shards": len(corpus.files),
        "files": p.files,
        "languages": dict(p.langs.most_common()),
        "language_tokens": dict(p.lang_tokens.most_common()),
        "languages_guessed": p.lang_guessed,
        "templates": len([k for k in groups if not k.startswith("(")]),
        "per_template": {
            k: {"rows": g.rows, "tokens": g.tokens, "exact_dups": g.exact_dups}
            for k, g in sorted(groups.items(), key=lambda kv: -kv[1].rows)
        },
        "stages": len(p.stages),
    }


def _bands(f: Filters) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.length:
        out["length"] = {"min": f.length.min, "max": f.length.max}
    if f.entropy:
        out["entropy"] = {
            "min": f.entropy.min,
            "max": f.entropy.max,
            "min_chars": f.entropy.min_chars,
        }
    if f.compression:
        c = f.compression
        out["compression"] = {
            "min": c.min,
            "max": c.max,
            "slack": c.slack,
            "min_chars": c.min_chars,
        }
    if f.repetition_enabled:
        out["repetition"] = repetition_limits(f.repetition)
    return out


def _median(values: list[int]) -> int | None:
    return sorted(values)[len(values) // 2] if values else None


def _diversity(p: Pass, sample: list[Row], filters: Filters) -> dict[str, Any]:
    templates = diversity({k: res.items() for k, res in p.per_group.items()})
    for k, d in templates.items():
        g = p.groups.get(k)
        if g is not None:
            d.update(rows=g.rows, tokens=g.tokens, exact_dups=g.exact_dups)
    stages = diversity({k: res.items() for k, res in sorted(p.per_stage.items())})
    # The corpus figure on as many rows as each template's: distinct-n falls as a sample grows.
    corpus_texts = [sample_content(r)[:DIVERSITY_CHARS] for r in sample[:DIVERSITY_ROWS]]
    return {
        "corpus": diversity({"all": corpus_texts})["all"],
        "templates": templates,
        "stages": stages,
        "exact_duplicates": p.exact_dups.to_json(),
        "near_duplicates": near_duplicate_clusters(sample, filters.near),
    }


def _curriculum(corpus: Corpus, p: Pass) -> dict[str, Any]:
    names = [
        s.get("name", str(i)) for i, s in enumerate((corpus.manifest or {}).get("stages") or [])
    ]
    stages = []
    for i, g in sorted(p.stages.items()):
        first, before = p.stage_first[i]
        stages.append({
            "stage": i, "name": names[i] if i < len(names) else str(i),
            "rows": g.rows, "tokens": g.tokens, "first_row": first, "tokens_before": before,
        })  # fmt: skip
    cum, shard_ends = 0, []
    for f in p.files:
        cum += f["tokens"]
        shard_ends.append(cum)
    return {
        "stages": stages,
        "order": p.order.to_json(),
        "shard_ends": shard_ends,
        "concepts": len(p.concepts_first),
        "concept_first_row": dict(sorted(p.concepts_first.items(), key=lambda kv: kv[1])),
        "check": _check(corpus) if corpus.is_synth else None,
    }


def _check(corpus: Corpus) -> dict[str, Any]:
    """`synth curriculum check` on the folder (a second streaming pass of its own)."""
    from synth.curriculum.check import check_corpus

    try:
        rep = check_corpus(corpus.path)
    except (
        UserError,
        OSError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        pa.ArrowException,
    ) as e:
        return {"error": f"curriculum check could not run: {e}", "problems": []}
    return {
        "rows": rep.rows,
        "facts_checked": rep.facts_checked,
        "stage_difficulty": [round(d, 3) for d in rep.stage_difficulty],
        "stage_replay": [round(r, 4) for r in rep.stage_replay],
        "problems": rep.problems,
    }


def _correctness(p: Pass, probes: list[Row] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "checked": p.formal_checked,
        "by_template": dict(p.formal_by_group.most_common()),
        "mismatches": p.wrong.to_json(),
        "answers_checked": p.answer_checked,
        "unstated": p.unstated.to_json(),
        "steps": {"checked": p.steps_checked, "miswritten": p.miswritten.to_json()},
    }
    if probes:
        wrong = Findings()
        checked = 0
        for r in probes:
            if r.formal:
                checked += 1
                why = check_formal(r)
                if why is not None:
                    wrong.add(r, why, answer=r.answer)
        out["probes"] = {"checked": checked, "mismatches": wrong.to_json()}
    return out


def _verify(corpus: Corpus) -> dict[str, Any]:
    if not corpus.is_synth:
        return {"ran": False, "problems": []}
    from synth.shards.verify import verify_corpus

    try:
        problems = verify_corpus(corpus.path)
    except (UserError, OSError, KeyError, TypeError, pa.ArrowException) as e:
        problems = [f"verify could not run: {e}"]
    shards = [
        {k: s.get(k) for k in ("file", "rows", "tokens", "bytes", "sha256", "stages")}
        for s in (corpus.manifest or {}).get("shards", [])
    ]
    return {"ran": True, "problems": problems, "shards": shards}


def _samples(p: Pass) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for k, res in sorted(p.browse.items()):
        out[k] = [
            {
                "id": r.id,
                "where": r.meta.get("where"),
                "stage": r.stage,
                "difficulty": r.difficulty,
                "n_tokens": r.n_tokens,
                "answer": r.answer,
                "lang": r.lang,
                "messages": r.messages,
                "text": None if r.messages else r.text,
                "truncated": bool(r.meta.get("trimmed")),
            }
            for r in sorted(res.items(), key=lambda r: r.meta["pos"])
        ]
    return out


def _timing(corpus: Corpus, p: Pass, pass_seconds: float, seconds: float) -> dict[str, Any]:
    gen = ((corpus.manifest or {}).get("timing") or {}).get("tokens_per_second")
    return {
        "seconds": round(seconds, 3),
        "pass_seconds": round(pass_seconds, 3),
        "rows_per_second": round(p.rows / seconds, 1) if seconds else None,
        "tokens_per_second": round(p.tokens / seconds, 1) if seconds else None,
        "generation_tokens_per_second": gen,
    }


def _write(q: dict[str, Any], out: Path) -> None:
    from synth.qa.report import render_html
    from synth.shards.atomic import write_bytes

    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / "qa.json", json.dumps(q, indent=1, ensure_ascii=False, default=str).encode())
    write_bytes(out / "index.html", render_html(q).encode())
