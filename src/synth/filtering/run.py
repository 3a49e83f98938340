"""`synth filter`: the filter chain of generation, run over a corpus synth did not make.

    from synth.filtering.run import FilterConfig, filter_corpus
    report = filter_corpus(FilterConfig(path="data/train.jsonl", out="clean/"))

The corpus is read once, streaming, with the reader of `synth qa` (a synth folder, an
HF `save_to_disk` folder, Arrow / Parquet / JSONL files with `text` or `messages`); each
batch of rows goes through the same chain as generation's (`synth.filters.build_chain`:
the per-sample filters, then exact and near dedup, contamination, balance, diversity)
and the kept rows are written with all their columns. Memory holds a batch and what the
dedup indexes keep (a few tens of bytes a row), never the corpus.

Thresholds. The default profile, `outside`, is synth.filters' own defaults — calibrated
on human prose and code (Python docs, Russian prose; see each filter's module), so they
suit text synth did not make — with `balance` off: capping a group's share is how
generation keeps a curriculum mixed, not a way to clean someone's data. `--tier NAME`
takes a tier's `filters:` instead (e.g. command's 30..600-token length band), and
`--config FILE` overrides either, key by key.

What outside rows lack:
- language: rows without a `lang` value get the corpus language, decided from the first
  batch (en or ru by script, when 80% of the rows with enough letters agree); `--lang
  en|ru` declares it, `--lang none` turns the check off. Other scripts are not judged.
- answer: checked only on rows with an `answer` column value.
- steps: checked only on rows whose `formal` column records worked steps (synth's own).
- contamination: probes and rows that both carry `formal` are compared by task identity,
  the rest by their text.
- groups: near-dedup counts what it finds per group and says what its threshold means
  for each group's rows; rows are compared across groups, on what is not boilerplate
  (passages learned from a sample of the whole corpus, read once before the filtering
  pass: synth.filters.near_corpus). The group is `--group COLUMN` if given, else the
  `template` column if there is one, else all rows form one group.

Tokens are counted with `--tokenizer` on the row's `text` (for messages-only rows, the
chat rendered with `--chat-format`), so `length` judges what a trainer would see.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from synth import __version__, safe_yaml
from synth.errors import RunStopped, UserError
from synth.filtering.output import FORMATS, Sink, Staging, check_out, conform
from synth.filters import (
    CORPUS_FILTERS,
    SAMPLE_FILTERS,
    FilterChain,
    Probe,
    build_chain,
    content_of,
)
from synth.filters.language import CYRILLIC_RE, LATIN_RE, LETTERS_RE
from synth.filters.near_corpus import grouping_label
from synth.filters.rejected import write_rejected
from synth.qa.read import Corpus, RowReader, file_schema, open_corpus, record_batches, unify
from synth.row import Row
from synth.shards.atomic import write_json
from synth.shards.writer import DEFAULT_SHARD_BYTES
from synth.tokenizer import load_tokenizer

__all__ = ["FilterConfig", "filter_corpus"]

OUTSIDE = "outside"
OUTSIDE_PROFILE: dict[str, Any] = {"balance": {"enabled": False}}
LANG_MODES = ("auto", "en", "ru", "none")
KNOWN = (*SAMPLE_FILTERS, *CORPUS_FILTERS)
AUTO_AGREE = 0.8  # share of judged rows that must share a script for `--lang auto`
AUTO_MIN_LETTERS = 20


@dataclass
class FilterConfig:
    """What `synth filter` takes; each field has the CLI option of the same name."""

    path: str
    out: str
    tier: str = OUTSIDE
    config: str | None = None  # a YAML file with a `filters:` mapping
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    eval: str | None = None
    tokenizer: str = "qwen2.5"
    format: str = "hf"
    lang: str = "auto"
    group: str | None = None
    chat_format: str = "qwen2.5"
    overwrite: bool = False
    progress: bool = False
    shard_bytes: int = DEFAULT_SHARD_BYTES


def filter_corpus(config: FilterConfig) -> dict[str, Any]:
    """Filter a corpus into OUT; returns what OUT/filter.json holds. UserError for bad
    input, raised before OUT is touched where it can be known up front, and otherwise
    with OUT left as it was."""
    started = time.perf_counter()
    if config.format not in FORMATS:
        raise UserError(f"--format: {config.format!r} is not one of {', '.join(FORMATS)}")
    if config.lang not in LANG_MODES:
        raise UserError(f"--lang: {config.lang!r} is not one of {', '.join(LANG_MODES)}")
    filters_cfg, profile = filter_settings(config)
    corpus = open_corpus(config.path, config.eval)
    out = Path(config.out)
    inputs = [corpus.path] + ([corpus.probes.path] if corpus.probes is not None else [])
    check_out(out, inputs, config.overwrite)
    tok = load_tokenizer(config.tokenizer)
    schema = corpus_schema(corpus, config.chat_format)
    group = _group_column(config.group, schema, corpus)
    probes = _probe_texts(corpus.probes) if corpus.probes is not None else []
    chain = build_chain(filters_cfg, probes=probes)
    staging = Staging(out)
    sink: Sink | None = None
    try:
        sink = Sink(staging.dir, config.format, schema, config.shard_bytes)
        run = _Run(config, chain, tok, sink, schema, group)
        sampled = time.perf_counter()
        _calibrate_near(chain, corpus, config, group)
        run.seconds["near_dedup_sample"] = time.perf_counter() - sampled
        run.stream(corpus)
        files = sink.close(f"{corpus.path} filtered by synth filter")
        stats = chain.stats()
        report = _report(
            config, corpus, profile, filters_cfg, chain, stats, run, files, schema, group
        )
        report["timing"] = run.timing(time.perf_counter() - started)
        write_rejected(staging.dir, {"chain": stats})
        write_json(staging.dir / "filter.json", report)
        staging.commit()
    except KeyboardInterrupt:
        _abandon(sink, staging)
        raise RunStopped(f"interrupted; {out} left as it was") from None
    except BaseException:
        _abandon(sink, staging)
        raise
    return report


def _calibrate_near(chain: FilterChain, corpus: Corpus, config: FilterConfig, group: str) -> None:
    """near_dedup learns the boilerplate from a sample of the whole corpus, read once first."""
    for f in chain.filters:
        if f.name == "near_dedup":
            rows = RowReader(config.chat_format, group_column=group).rows(corpus)
            f.calibrate(
                (r for _, batch in rows for r in batch), grouping_label(group, config.group)
            )


def _abandon(sink: Sink | None, staging: Staging) -> None:
    if sink is not None:
        sink.abort()
    staging.abandon()


# --- settings -------------------------------------------------------------------------


def filter_settings(config: FilterConfig) -> tuple[dict[str, Any], str]:
    """The `filters:` mapping to build the chain from, and where it came from."""
    if config.tier == OUTSIDE:
        cfg, source = (
            copy.deepcopy(OUTSIDE_PROFILE),
            "outside (synth.filters defaults, balance off)",
        )
    else:
        from synth.curriculum.tier import TIERS, load_tier

        if config.tier not in TIERS and not config.tier.endswith((".yaml", ".yml")):
            names = ", ".join((OUTSIDE, *TIERS))
            raise UserError(
                f"--tier: unknown profile {config.tier!r}; choose one of {names} or give a curricula YAML file"
            )
        t = load_tier(config.tier)
        cfg, source = copy.deepcopy(t.filters), f"tier {t.tier} ({t.source})"
    if config.config:
        cfg = merge_filters(cfg, load_filters_file(Path(config.config)))
        source += f" + {config.config}"
    only, skip = _names(config.only, "--only"), _names(config.skip, "--skip")
    if only and skip:
        raise UserError("--only and --skip: give one or the other")
    off = set(cfg.get("disabled") or [])
    if only:
        off |= set(KNOWN) - set(only)
        for name in only:  # --only wins over `enabled: false` in the profile
            if isinstance(cfg.get(name), dict):
                cfg[name] = {**cfg[name], "enabled": True}
            off.discard(name)
    off |= set(skip)
    if config.lang == "none":
        off.add("language")
    cfg["disabled"] = [n for n in KNOWN if n in off]
    build_chain(cfg)  # validated now, before anything is read
    return cfg, source


def _names(values: tuple[str, ...], option: str) -> list[str]:
    """Filter names from a repeatable, comma-separated option; unknown ones are an error."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    for n in names:
        if n not in KNOWN:
            raise UserError(f"{option}: unknown filter {n!r} (known: {', '.join(KNOWN)})")
    return names


def load_filters_file(path: Path) -> dict[str, Any]:
    """The `filters:` mapping of a YAML file (a curricula file qualifies), validated."""
    if not path.is_file():
        raise UserError(f"--config: {path}: no such file")
    try:
        raw = safe_yaml.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"--config: {path}{at}: invalid YAML: {getattr(e, 'problem', e)}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--config: {path}: unreadable ({e})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("filters"), dict):
        raise UserError(f"--config: {path}: needs a `filters:` mapping (see README, Filters)")
    try:
        build_chain(raw["filters"])
    except UserError as e:
        raise UserError(f"--config: {path}: {e}") from None
    return raw["filters"]


def merge_filters(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, key by key inside each filter's mapping; `disabled`
    lists add up."""
    out = copy.deepcopy(base)
    for name, value in over.items():
        if name == "disabled":
            out["disabled"] = [*(out.get("disabled") or []), *value]
        elif isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = {**out[name], **value}
        else:
            out[name] = copy.deepcopy(value)
    return out


# --- the input --------------------------------------------------------------------------


def corpus_schema(corpus: Corpus, chat_format: str) -> pa.Schema:
    """One schema for every file's rows (JSONL is read through for it here, so a
    malformed line stops the run before OUT is touched); each file must have rows."""
    schema: pa.Schema | None = None
    for path in corpus.files:
        s = file_schema(path)
        # The reader's own check: 'text' or a chat column, else an error naming the columns.
        RowReader(chat_format, group_column="").convert({n: [] for n in s.names}, path)
        schema = s if schema is None else unify(schema, s, path)
    if schema is None:
        raise UserError(f"{corpus.path}: no files to read")
    return schema


def _group_column(group: str | None, schema: pa.Schema, corpus: Corpus) -> str:
    if group is None:
        return "template" if "template" in schema.names else ""
    if group not in schema.names:
        have = ", ".join(schema.names)
        raise UserError(f"--group: no column {group!r} in {corpus.path} (columns: {have})")
    return group


def _probe_texts(probes: Corpus) -> list[Probe]:
    """The eval probes' texts and formal forms (few by nature: held in memory). Chats are
    rendered as ChatML, the form the contamination guard splits into turns."""
    reader = RowReader("chatml")
    return [Probe(r.text, r.formal) for _, rows in reader.rows(probes) for r in rows]


def detect_language(rows: list[Row]) -> tuple[str | None, dict[str, int]]:
    """en or ru when AUTO_AGREE of the rows with enough letters are mostly in its script."""
    votes = {"en": 0, "ru": 0, "other": 0}
    for r in rows:
        text = content_of(r)
        letters = len(text) - len(LETTERS_RE.sub("", text))
        if letters < AUTO_MIN_LETTERS:
            continue
        latin = len(text) - len(LATIN_RE.sub("", text))
        cyrillic = len(text) - len(CYRILLIC_RE.sub("", text))
        key = "en" if latin * 2 >= letters else "ru" if cyrillic * 2 >= letters else "other"
        votes[key] += 1
    judged = sum(votes.values())
    for lang in ("en", "ru"):
        if judged and votes[lang] >= AUTO_AGREE * judged:
            return lang, votes
    return None, votes


# --- the pass ---------------------------------------------------------------------------


class _Run:
    """The one streaming pass: read a batch, count tokens, filter, write what is kept."""

    def __init__(
        self,
        config: FilterConfig,
        chain: FilterChain,
        tok: Any,
        sink: Sink,
        schema: pa.Schema,
        group: str,
    ) -> None:
        self.config, self.chain, self.tok, self.sink = config, chain, tok, sink
        self.schema, self.group = schema, group
        self.rows = self.kept = self.tokens = self.kept_tokens = 0
        self.seconds = {"read": 0.0, "tokenize": 0.0, "filter": 0.0, "write": 0.0}
        self.lang: str | None = config.lang if config.lang in ("en", "ru") else None
        self.lang_votes: dict[str, int] | None = None
        self.files: list[dict[str, Any]] = []

    def stream(self, corpus: Corpus) -> None:
        reader = RowReader(self.config.chat_format, group_column=self.group)
        extra = (self.group,) if self.group else ()
        bar = _progress(self.config)
        try:
            for path in corpus.files:
                before = self.rows
                t0 = time.perf_counter()
                for batch, cols in record_batches(path, self.schema, extra):
                    rows = reader.convert(cols, path)
                    self.seconds["read"] += time.perf_counter() - t0
                    self._batch(batch, rows)
                    bar.update(len(rows))
                    bar.set_postfix_str(f"rejected {self.rejection_rate:.1%}", refresh=False)
                    t0 = time.perf_counter()
                self.files.append({"file": str(path), "rows": self.rows - before})
        finally:
            bar.close()

    @property
    def rejection_rate(self) -> float:
        return (self.rows - self.kept) / self.rows if self.rows else 0.0

    def _batch(self, batch: pa.RecordBatch, rows: list[Row]) -> None:
        t0 = time.perf_counter()
        counts = self.tok.count([r.text for r in rows])
        t1 = time.perf_counter()
        for r, n in zip(rows, counts, strict=True):
            r.n_tokens = n
        self._set_language(rows)
        kept = {id(r) for r in self.chain.filter(rows, batch_size=max(1, len(rows)))}
        mask = [id(r) in kept for r in rows]
        t2 = time.perf_counter()
        table = conform(batch.filter(pa.array(mask, pa.bool_())), self.schema)
        kept_tokens = sum(n for n, k in zip(counts, mask, strict=True) if k)
        self.sink.write(table, kept_tokens)
        self.seconds["tokenize"] += t1 - t0
        self.seconds["filter"] += t2 - t1
        self.seconds["write"] += time.perf_counter() - t2
        self.rows += len(rows)
        self.kept += table.num_rows
        self.tokens += sum(counts)
        self.kept_tokens += kept_tokens

    def _set_language(self, rows: list[Row]) -> None:
        if self.config.lang == "none":
            return
        if self.config.lang == "auto" and self.lang_votes is None:
            self.lang, self.lang_votes = detect_language([r for r in rows if not r.lang])
        if self.lang is not None:
            for r in rows:
                if not r.lang:
                    r.lang = self.lang

    def timing(self, seconds: float) -> dict[str, Any]:
        return {
            "seconds": round(seconds, 3),
            "rows_per_second": round(self.rows / seconds, 1) if seconds else None,
            "steps_seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def _progress(config: FilterConfig):
    from tqdm import tqdm

    return tqdm(
        unit=" rows",
        desc="synth filter",
        disable=not config.progress,
        mininterval=0.5,
        file=sys.stderr,
        dynamic_ncols=True,
    )


# --- the report -------------------------------------------------------------------------


def _report(
    config: FilterConfig,
    corpus: Corpus,
    profile: str,
    cfg: dict[str, Any],
    chain: FilterChain,
    stats: dict[str, Any],
    run: _Run,
    files: list[dict[str, Any]],
    schema: pa.Schema,
    group: str,
) -> dict[str, Any]:
    notes = list(corpus.notes)
    if corpus.probes is None and "contamination" not in cfg["disabled"]:
        notes.append("no eval probes (--eval): contamination not checked")
    lang: dict[str, Any] = {"mode": config.lang, "assigned": run.lang}
    if run.lang_votes is not None:
        lang["votes_first_batch"] = run.lang_votes
        if run.lang is None and sum(run.lang_votes.values()):
            notes.append("--lang auto: no one script in the first batch; language not checked "
                         "on rows without a `lang` value (pass --lang en or ru)")  # fmt: skip
    return {
        "synth": __version__,
        "input": {
            "path": str(corpus.path),
            "kind": corpus.kind,
            "files": run.files,
            "probes": str(corpus.probes.path) if corpus.probes is not None else None,
        },
        "output": {
            "path": config.out,
            "format": config.format,
            "columns": schema.names,
            "files": files,
        },
        "profile": profile,
        "thresholds": _thresholds(chain),
        "disabled": [n for n in KNOWN if n not in chain.names],  # off, or (contamination) no probes
        "language": lang,
        "group_column": group or None,
        "tokenizer": run.tok.name,
        "chat_format": config.chat_format,
        "totals": {
            "rows": run.rows,
            "kept": run.kept,
            "rejected": run.rows - run.kept,
            "rejection_rate": round(run.rejection_rate, 6),
            "rejected_by_reason": stats["rejected"],
            "tokens": run.tokens,
            "kept_tokens": run.kept_tokens,
        },
        "filters": stats["filters"],
        "notes": notes,
    }


def _thresholds(chain: FilterChain) -> dict[str, Any]:
    """Every setting of every filter that ran, defaults included: what decided."""
    out = {}
    for f in chain.filters:
        if dataclasses.is_dataclass(f):
            params = {
                fl.name: getattr(f, fl.name)
                for fl in dataclasses.fields(f)
                if fl.init and fl.metadata.get("config", True)
            }
            out[f.name] = json.loads(json.dumps(params, default=str))
    return out
