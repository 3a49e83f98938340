"""The filter chain: small single-purpose steps, run in order, first rejection wins.

Per-sample filters (stateless; safe to run in worker processes, whose stats are merged
with `FilterChain.merge`): length, language, entropy, compression, repetition, answer,
steps.
Corpus filters (stateful; one process, rows in a fixed order): exact_dedup,
contamination, near_dedup, balance, diversity (which only measures).

A tier's `filters:` mapping configures them; every key is optional (defaults shown):

    filters:
      length: {min: 8, max: 32768}
      entropy: {min: 3.0, max: 5.6, min_chars: 100}
      compression: {min: 0.15, max: 0.45, slack: 6.0, min_chars: 200}
      repetition: {dup_line_frac: 0.3, loop_repeats: 4}  # see repetition.py
      language: {min_share: {en: 0.9, ru: 0.75}}   # or one number for both
      answer: {enabled: true}
      steps: {enabled: true}
      exact_dedup: {}
      near_dedup: {bands: 14, rows: 8, ngram: 5, skeleton_share: 0.02, calibration: 200,
                   similarity: 0.8, sample_rows: 20000, boilerplate_rows: 10}  # see near_corpus
      contamination: {near: true, min_jaccard: 0.7}
      balance: {max_share: 0.5, min_rows: 1000}
      diversity: {reservoir: 200}
      disabled: [balance]                  # or `enabled: false` in a filter's mapping

Each filter's module says how its defaults were calibrated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from synth.errors import UserError
from synth.filters.answer import AnswerFilter
from synth.filters.balance import BalanceFilter
from synth.filters.base import (
    Filter,
    FilterChain,
    configure,
    content_of,
    merge_stats,
    response_of,
    sample_content,
)
from synth.filters.compression import CompressionFilter
from synth.filters.contamination import ContaminationFilter, Probe
from synth.filters.diversity import DiversityFilter
from synth.filters.entropy import EntropyFilter
from synth.filters.exact_dedup import ExactDedupFilter, U64Set
from synth.filters.language import LanguageFilter
from synth.filters.length import LengthFilter
from synth.filters.near_dedup import MinHasher, NearDedupFilter, TemplateSkeletons
from synth.filters.repetition import RepetitionFilter
from synth.filters.steps import StepsFilter

SAMPLE_FILTERS: dict[str, type] = {
    f.name: f
    for f in (
        LengthFilter,
        LanguageFilter,
        EntropyFilter,
        CompressionFilter,
        RepetitionFilter,
        AnswerFilter,
        StepsFilter,
    )
}
CORPUS_FILTERS: dict[str, type] = {
    f.name: f
    for f in (
        ExactDedupFilter,
        ContaminationFilter,
        NearDedupFilter,
        BalanceFilter,
        DiversityFilter,
    )
}
WHERE = "filters"

__all__ = [
    "CORPUS_FILTERS",
    "SAMPLE_FILTERS",
    "Filter",
    "FilterChain",
    "MinHasher",
    "Probe",
    "TemplateSkeletons",
    "U64Set",
    "build_chain",
    "build_corpus_chain",
    "build_sample_chain",
    "content_of",
    "merge_stats",
    "response_of",
    "sample_content",
]


def _check(cfg: dict[str, Any] | None) -> tuple[dict[str, Any], set[str]]:
    """The config mapping and the set of disabled filter names; unknown keys raise."""
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise UserError(f"{WHERE}: must be a mapping, got {type(cfg).__name__}")
    known = {**SAMPLE_FILTERS, **CORPUS_FILTERS}
    for key in cfg:
        if key != "disabled" and key not in known:
            names = ", ".join([*known, "disabled"])
            raise UserError(f"{WHERE}: unknown key {key!r} (known: {names})")
    disabled = cfg.get("disabled") or []
    if not isinstance(disabled, (list, tuple)) or not all(isinstance(d, str) for d in disabled):
        raise UserError(f"{WHERE}.disabled: must be a list of filter names")
    for d in disabled:
        if d not in known:
            raise UserError(f"{WHERE}.disabled: unknown filter {d!r} (known: {', '.join(known)})")
    off = set(disabled)
    for name in known:
        sub = cfg.get(name)
        if isinstance(sub, dict) and "enabled" in sub:
            if not isinstance(sub["enabled"], bool):
                raise UserError(f"{WHERE}.{name}.enabled: must be true or false")
            if not sub["enabled"]:
                off.add(name)
    return cfg, off


def build_sample_chain(cfg: dict[str, Any] | None = None) -> FilterChain:
    """The per-sample filters: stateless, one chain per worker process."""
    cfg, off = _check(cfg)
    return FilterChain(
        [
            configure(cls, cfg.get(name), f"{WHERE}.{name}")
            for name, cls in SAMPLE_FILTERS.items()
            if name not in off
        ]
    )


def build_corpus_chain(
    cfg: dict[str, Any] | None = None,
    probes: Iterable[str | Probe] = (),
    mixes: list[dict[str, float]] | None = None,
) -> FilterChain:
    """The corpus filters: stateful, one chain, rows in a fixed order. `probes`: the eval
    probes' texts, or `Probe`s (text and formal) to be compared by task identity too.

    near_dedup and contamination share one `TemplateSkeletons` (per-template skeleton
    calibration), built from near_dedup's settings; contamination is added only when
    there are probes. `mixes` (each stage's planned share of rows per template) lets
    balance hold every template near its planned share.
    """
    cfg, off = _check(cfg)
    probes = list(probes)
    # Built even when disabled: it validates its keys and owns the skeleton model.
    near = configure(NearDedupFilter, cfg.get("near_dedup"), f"{WHERE}.near_dedup")
    filters: list[Any] = []
    if "exact_dedup" not in off:
        filters.append(configure(ExactDedupFilter, cfg.get("exact_dedup"), f"{WHERE}.exact_dedup"))
    if probes and "contamination" not in off:
        filters.append(
            configure(
                ContaminationFilter,
                cfg.get("contamination"),
                f"{WHERE}.contamination",
                probes=probes,
                skeletons=near.skeletons,
                owns_skeletons="near_dedup" in off,
            )
        )
    elif cfg.get("contamination") is not None:  # still validated without probes
        configure(ContaminationFilter, cfg["contamination"], f"{WHERE}.contamination")
    if "near_dedup" not in off:
        filters.append(near)
    if "balance" not in off:
        balance = configure(BalanceFilter, cfg.get("balance"), f"{WHERE}.balance")
        balance.mixes = mixes
        filters.append(balance)
    if "diversity" not in off:
        filters.append(configure(DiversityFilter, cfg.get("diversity"), f"{WHERE}.diversity"))
    return FilterChain(filters)


def build_chain(
    cfg: dict[str, Any] | None = None, *, probes: Iterable[str | Probe] = ()
) -> FilterChain:
    """Every filter in one chain: the per-sample ones, then the corpus ones."""
    sample = build_sample_chain(cfg)
    corpus = build_corpus_chain(cfg, probes)
    return FilterChain([*sample.filters, *corpus.filters])
