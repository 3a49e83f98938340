"""What `synth qa` measures, built on the filters' own code (synth.filters).

One streaming pass (`Pass.add`) keeps exact counts: rows, tokens, per template / stage /
language, the token, entropy and compression distributions, rows outside each filter
band, exact duplicates, every row with a `formal` re-derived (its answer, the steps of
its derivations, and the worked steps its text writes read against `formal`'s, as the
steps filter reads them), every row checked against
the eval probes, concept coverage and difficulty over the corpus order. Per-sample
metrics that cost more (repetition, near-duplicate clusters, distinct-n) run at the end
on bounded reservoirs: uniform samples chosen by a hash of the row position, so a
corpus larger than memory is summarised in bounded memory and the report says where
it sampled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synth.curriculum.tier import load_tier
from synth.errors import UserError
from synth.filters import build_sample_chain
from synth.filters.answer import AnswerFilter
from synth.filters.base import configure, content_of, parts_of, sample_content
from synth.filters.compression import CompressionFilter, compression_ratio
from synth.filters.contamination import (
    ContaminationFilter,
    Probe,
    probe_parts,
    row_parts,
    task_key,
)
from synth.filters.diversity import diversity_of
from synth.filters.entropy import EntropyFilter, char_entropy
from synth.filters.exact_dedup import U64Set, normalize, text_key
from synth.filters.language import LanguageFilter, script_share
from synth.filters.length import LengthFilter
from synth.filters.near_corpus import review as near_review
from synth.filters.near_dedup import (
    MinHasher,
    NearDedupFilter,
    TemplateSkeletons,
    jaccard_sorted,
    splitmix64,
)
from synth.filters.repetition import (
    ALNUM_RE,
    LINE_RE,
    PARA_RE,
    RepetitionFilter,
    WordStats,
    find_duplicates,
)
from synth.filters.steps import steps_problem
from synth.row import Row
from synth.world.solver import Closure, Contradiction, Rule

EXAMPLES = 20  # ids kept per finding list; counts stay exact
DIVERSITY_ROWS = 200  # the diversity filter's reservoir: compare groups at equal size
DIVERSITY_CHARS = 2000
SAMPLE_CHARS = 32_000  # a sampled row keeps at most this much text
BROWSE_CHARS = 6_000  # a row in the sample browser
MAX_GROUPS = 200  # templates tracked one by one; more are lumped together
OTHER_GROUP = "(other templates)"
ORDER_BINS = 100
# The near-dedup filter streams: it flags copies as they arrive, so a low skeleton share
# (2%) is safe for it. A review sees the whole corpus at once, and a cluster over that
# share of its template would be taken for the template's wording and vanish; at 30%
# clusters up to 30% of a template stay visible (bigger ones show as a collapsed template).
QA_SKELETON_SHARE = 0.3


# --- filter bands --------------------------------------------------------------------


@dataclass
class Filters:
    """The filters whose bands the report draws, configured as the corpus's tier says."""

    source: str
    config: dict[str, Any]
    length: LengthFilter | None
    entropy: EntropyFilter | None
    compression: CompressionFilter | None
    repetition: RepetitionFilter  # its statistics are measured even when the tier turns it off
    repetition_enabled: bool
    language: LanguageFilter | None
    answer: AnswerFilter
    near: NearDedupFilter
    notes: list[str] = field(default_factory=list)


def filters_for(manifest: dict | None) -> Filters:
    """The tier's filter config for a synth corpus (when its tier file loads), else the
    defaults of synth.filters."""
    notes: list[str] = []
    cfg: dict[str, Any] = {}
    source = "synth.filters defaults"
    if manifest is not None:
        tier = (manifest.get("config") or {}).get("tier") or manifest.get("tier")
        try:
            t = load_tier(str(tier))
            cfg, source = t.filters, f"tier {t.tier} ({t.source})"
            sha = hashlib.sha256(Path(t.source).read_bytes()).hexdigest()[:16]
            if sha != (manifest.get("resolved") or {}).get("curriculum", sha):
                notes.append(
                    f"{t.source} changed since the corpus was generated: bands are today's"
                )
        except (UserError, OSError) as e:
            notes.append(f"tier {tier!r} not loadable ({e}); default filter bands shown")
    chain = {f.name: f for f in build_sample_chain(cfg).filters}
    near = configure(NearDedupFilter, cfg.get("near_dedup"), "filters.near_dedup")
    return Filters(
        source=source,
        config=cfg,
        length=chain.get("length"),
        entropy=chain.get("entropy"),
        compression=chain.get("compression"),
        repetition=chain.get("repetition") or RepetitionFilter(),
        repetition_enabled="repetition" in chain,
        language=chain.get("language"),
        answer=AnswerFilter(),
        near=near,
        notes=notes,
    )


# --- streaming building blocks ---------------------------------------------------------


class FineHist:
    """Exact counts in fine fixed bins (plus under/overflow) and exact min/max/mean."""

    def __init__(self, lo: float, hi: float, step: float) -> None:
        self.lo, self.step = lo, step
        self.n_bins = int(round((hi - lo) / step))
        self.counts = np.zeros(self.n_bins, dtype=np.int64)
        self.n, self.total = 0, 0.0
        self.min, self.max = math.inf, -math.inf

    def add(self, values: Sequence[float]) -> None:
        if not len(values):
            return
        v = np.asarray(values, dtype=np.float64)
        self.counts += np.bincount(self._bin(v), minlength=self.n_bins)
        self.n += v.size
        self.total += float(v.sum())
        self.min, self.max = min(self.min, float(v.min())), max(self.max, float(v.max()))

    def _bin(self, v: np.ndarray) -> np.ndarray:
        return np.clip(((v - self.lo) / self.step).astype(np.int64), 0, self.n_bins - 1)

    def quantile(self, q: float) -> float | None:
        if not self.n:
            return None
        i = int(np.searchsorted(np.cumsum(self.counts), q * self.n, side="left"))
        return round(self.lo + (i + 0.5) * self.step, 4)

    def to_json(self, max_bins: int = 40) -> dict[str, Any]:
        if not self.n:
            return {"n": 0, "edges": [], "counts": []}
        a, b = (int(x) for x in self._bin(np.array([self.min, self.max])))
        b += 1  # the bins from the minimum's to the maximum's, both included
        group = max(1, math.ceil((b - a) / max_bins))
        counts = self.counts[a:b]
        pad = (-counts.size) % group
        counts = np.concatenate([counts, np.zeros(pad, dtype=np.int64)]).reshape(-1, group).sum(1)
        edges = [round(self.lo + (a + i * group) * self.step, 6) for i in range(counts.size + 1)]
        return {
            "n": self.n,
            "min": round(self.min, 4),
            "max": round(self.max, 4),
            "mean": round(self.total / self.n, 4),
            "p05": self.quantile(0.05),
            "p50": self.quantile(0.5),
            "p95": self.quantile(0.95),
            "edges": edges,
            "counts": counts.tolist(),
        }


def int_hist(counts: Counter, max_bins: int = 50) -> dict[str, Any]:
    """Histogram and exact quantiles of integer values (token counts) from their Counter."""
    if not counts:
        return {"n": 0, "edges": [], "counts": []}
    values = np.array(sorted(counts), dtype=np.int64)
    freq = np.array([counts[v] for v in values.tolist()], dtype=np.int64)
    n = int(freq.sum())
    cum = np.cumsum(freq)

    def q(p: float) -> int:
        return int(values[int(np.searchsorted(cum, p * n, side="left"))])

    lo, top = int(values[0]), int(values[-1])
    # A long tail would squash the plot: beyond 1.25 x the 99th percentile it is counted
    # as overflow (and said so) rather than drawn.
    hi = min(top, int(1.25 * q(0.99)) + 1) + 1
    inside = values < hi
    width = max(1, math.ceil((hi - lo) / max_bins))
    edges = list(range(lo, hi + width, width))
    binned = np.bincount(
        (values[inside] - lo) // width, weights=freq[inside], minlength=len(edges) - 1
    )
    return {
        "n": n,
        "min": lo,
        "max": top,
        "overflow": int(freq[~inside].sum()),
        "mean": round(float((values * freq).sum()) / n, 2),
        "p05": q(0.05),
        "p50": q(0.5),
        "p95": q(0.95),
        "edges": edges,
        "counts": binned.astype(np.int64).tolist()[: len(edges) - 1],
    }


def priorities(start: int, n: int, salt: int) -> list[int]:
    """Uniform 64-bit priorities for rows start..start+n (bottom-k sampling by position:
    deterministic, no random state)."""
    pos = np.arange(start, start + n, dtype=np.uint64) ^ np.uint64(salt)
    return splitmix64(splitmix64(pos)).tolist()


class Reservoir:
    """The k items with the smallest priority seen so far: a uniform sample of size k."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.seen = 0
        self._heap: list[tuple[int, int, Any]] = []  # (-priority, tiebreak, item)

    def offer(self, prio: int, item: Any) -> None:
        self.seen += 1
        if self.k <= 0:
            return
        entry = (-prio, self.seen, item)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
        elif prio < -self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def would_take(self, prio: int) -> bool:
        return self.k > 0 and (len(self._heap) < self.k or prio < -self._heap[0][0])

    def items(self) -> list[Any]:
        """Sampled items, smallest priority first (any prefix is itself a uniform sample)."""
        return [e[2] for e in sorted(self._heap, key=lambda e: -e[0])]


class OrderBins:
    """Per-chunk sums over the corpus order, at most 2 x `bins` chunks: when full,
    neighbours merge and chunks double in size."""

    FIELDS = ("rows", "tokens", "difficulty_sum", "difficulty_n", "new_concepts")

    def __init__(self, bins: int = ORDER_BINS) -> None:
        self.bins = bins
        self.size = 1
        self.data: list[list[int]] = []

    def add(self, pos: int, tokens: int, difficulty: int, new_concepts: int) -> None:
        i = pos // self.size
        while i >= 2 * self.bins:
            merged = [
                [a + b for a, b in zip(x, y, strict=True)]
                for x, y in zip(self.data[::2], self.data[1::2], strict=False)
            ]
            if len(self.data) % 2:
                merged.append(self.data[-1])
            self.data, self.size = merged, self.size * 2
            i = pos // self.size
        while len(self.data) <= i:
            self.data.append([0] * len(self.FIELDS))
        d = self.data[i]
        d[0] += 1
        d[1] += tokens
        if difficulty >= 0:
            d[2] += difficulty
            d[3] += 1
        d[4] += new_concepts

    def to_json(self) -> dict[str, Any]:
        tok_end = np.cumsum([d[1] for d in self.data]).tolist() if self.data else []
        cover = np.cumsum([d[4] for d in self.data]).tolist() if self.data else []
        return {
            "rows_per_point": self.size,
            "tokens_end": tok_end,
            "rows": [d[0] for d in self.data],
            "difficulty_mean": [round(d[2] / d[3], 3) if d[3] else None for d in self.data],
            "concepts_covered": cover,
        }


# --- per-row measures -----------------------------------------------------------------


class RepetitionMeter(RepetitionFilter):
    """The repetition filter, recording the statistics it compares with its bands.

    The filter exposes only reason codes. This subclass runs the filter's own `check`
    (its preprocessing: fences and `Answer:` lines out, names skipped, min_words) and
    overrides its three rule hooks to record each statistic (with the filter's helpers:
    find_duplicates, WordStats.ngrams/chars, _dup_ngram_chars) before returning the
    parent's own decision, so one call gives the statistics and exactly the filter's
    reason. A row rejected early (a loop) has no statistics for the later rules."""

    def measure(self, text: str) -> tuple[dict[str, float], str | None]:
        self._m: dict[str, float] = {}
        why = self.check(text)
        return self._m, why

    def _loops(self, toks: WordStats) -> bool:
        looped = super()._loops(toks)
        self._m["loop"] = float(looped)
        return looped

    def _gopher_blocks(self, text: str) -> str | None:
        for kind, items in (("para", PARA_RE.split(text.strip())), ("line", LINE_RE.split(text))):
            items = [x for x in items if ALNUM_RE.search(x)]
            dups, chars = find_duplicates(items) if items else (0, 0)
            self._m[f"dup_{kind}_frac"] = dups / len(items) if items else 0.0
            self._m[f"dup_{kind}_char_frac"] = chars / len(text) if text else 0.0
        return super()._gopher_blocks(text)

    def _gopher_ngrams(self, text: str, toks: WordStats) -> str | None:
        if len(toks) >= self.min_words:  # the n-gram rules apply only from min_words words on
            for n in self.top_ngrams:
                h = toks.ngrams(n)
                if h.size:
                    _, first, counts = np.unique(h, return_index=True, return_counts=True)
                    top = int(np.argmax(counts))
                    chars = int(toks.chars(int(first[top]), n)) + n - 1  # words joined by spaces
                    self._m[f"top_{n}_gram"] = (
                        chars * int(counts[top]) / len(text) if counts[top] >= 2 else 0.0
                    )
            for n in self.dup_ngrams:
                if toks.ngrams(n).size:
                    self._m[f"dup_{n}_gram"] = self._dup_ngram_chars(toks, n) / len(text)
        return super()._gopher_ngrams(text, toks)


def meter_for(f: RepetitionFilter) -> RepetitionMeter:
    return RepetitionMeter(**{x.name: getattr(f, x.name) for x in dataclasses.fields(f) if x.init})


def row_repetition(row: Row, meter: RepetitionMeter) -> tuple[dict[str, float], str | None]:
    """Per statistic, the worst message (the filter judges each message on its own), and
    the filter's reason for the row (its first message with one)."""
    worst: dict[str, float] = {}
    reason = None
    for part in parts_of(row):
        stats, why = meter.measure(part)
        reason = reason or why
        for k, v in stats.items():
            worst[k] = max(worst.get(k, 0.0), v)
    return worst, reason


def repetition_limits(f: RepetitionFilter) -> dict[str, float]:
    """The band each repetition statistic is held to (fraction above which it rejects)."""
    limits = {
        "dup_line_frac": f.dup_line_frac,
        "dup_para_frac": f.dup_para_frac,
        "dup_line_char_frac": f.dup_line_char_frac,
        "dup_para_char_frac": f.dup_para_char_frac,
    }
    limits.update({f"top_{n}_gram": v for n, v in f.top_ngrams.items()})
    limits.update({f"dup_{n}_gram": v for n, v in f.dup_ngrams.items()})
    return limits


def guess_script(text: str) -> str:
    """For data without a `lang` column: which script most letters are in."""
    latin, letters = script_share(text, "en")
    if not letters:
        return "no letters"
    if latin >= 0.5:
        return "latin script"
    cyr, n = script_share(text, "ru")
    return "cyrillic script" if n and cyr >= 0.5 else "other script"


# --- correctness ----------------------------------------------------------------------


def derive(formal: dict) -> Any:
    """What `formal` implies: the expected output of an instruction, the answer of a
    query (a `?v` binding for value queries), or for a document the list of stated
    facts that do *not* follow. Raises ValueError for a malformed or contradictory form."""
    if "task" in formal:
        return formal.get("expected")
    try:
        rules = [
            Rule(str(r.get("id", i)), tuple(tuple(p) for p in r["if"]), tuple(r["then"]))
            for i, r in enumerate(formal.get("rules") or [])
        ]
        closure = Closure([tuple(x) for x in formal.get("facts") or []], rules)
    except Contradiction as e:
        raise ValueError(str(e)) from None
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"malformed facts or rules ({e})") from None
    query = formal.get("query")
    if query is None:
        return [s for s in formal.get("states") or [] if tuple(s) not in closure]
    q = tuple(query)
    var = [i for i, t in enumerate(q) if isinstance(t, str) and t.startswith("?")]
    if not var:
        return closure.answer(q, formal.get("assumption") or "closed")
    rel = None if 1 in var else q[1]
    values = {
        fact[var[0]]
        for fact in closure.facts(rel)
        if all(fact[i] == t for i, t in enumerate(q) if i not in var)
    }
    if len(values) != 1:
        raise ValueError(f"value query {list(q)} has {len(values)} answers: {sorted(values)[:5]}")
    return values.pop()


FORMAL_PARSED = "formal_parsed"  # row.meta key: the parsed `formal`, for the frame count


def check_formal(row: Row) -> str | None:
    """Why the row's answer or its worked steps do not re-derive from its formal form
    (None: they do). Leaves the parsed form in row.meta[FORMAL_PARSED] (parsing is a good
    part of the cost; the frame count needs it too and pops it)."""
    return formal_problem(row)[0]


def formal_problem(row: Row) -> tuple[str | None, dict | None]:
    """(`check_formal`'s reason, the parsed formal or None when it does not parse)."""
    try:
        f = json.loads(row.formal or "")
    except json.JSONDecodeError as e:
        return f"formal is not valid JSON ({e.msg})", None
    row.meta[FORMAL_PARSED] = f
    if not isinstance(f, dict):
        return "formal is not a JSON object", None
    try:
        got = derive(f)
    except ValueError as e:
        return str(e), f
    if "task" in f:
        if row.answer is not None and str(got) != row.answer:
            return f"answer {row.answer!r} but the task expects {got!r}", f
        return None, f
    if f.get("query") is None:
        return (f"states facts that do not follow: {got[:3]}" if got else None), f
    if f.get("answer") is not None and str(f["answer"]) != got:
        return f"formal says {f['answer']!r}, re-derived {got!r}", f
    if row.answer is not None and row.answer != got:
        return f"answer {row.answer!r}, re-derived {got!r}", f
    return derivation_problem(f), f


def _unify(pattern: Sequence[Any], fact: Sequence[Any], env: dict[str, Any]) -> dict | None:
    if len(pattern) != len(fact):
        return None
    env = dict(env)
    for p, x in zip(pattern, fact, strict=True):
        if isinstance(p, str) and p.startswith("?"):
            if env.setdefault(p, x) != x:
                return None
        elif p != x:
            return None
    return env


def first_invalid(facts: list, rules: list, steps: list) -> int:
    """The first derivation step (1-based) whose `derives` does not follow by its rule
    from facts given or derived by earlier steps; 0 when every step does."""
    known = {tuple(x) for x in facts}
    by_id = {str(r.get("id")): r for r in rules if isinstance(r, dict)}
    for i, st in enumerate(steps, 1):
        try:
            rule, uses = by_id.get(str(st["rule"])), [tuple(u) for u in st["uses"]]
            premises, derives = rule["if"] if rule else None, tuple(st["derives"])
        except (KeyError, TypeError):
            return i
        if premises is None or len(premises) != len(uses) or not all(u in known for u in uses):
            return i
        env: dict | None = {}
        for p, u in zip(premises, uses, strict=True):
            env = _unify(p, u, env) if env is not None else None
        if env is None or tuple(env.get(t, t) for t in rule["then"]) != derives:
            return i
        known.add(derives)
    return 0


def derivation_problem(f: dict) -> str | None:
    """Why the derivations a logic `formal` records do not hold: each step of the proof
    (and of `steps`, what the text writes when it is not the proof) must follow by its rule
    from facts given or derived before it; the proof must end in the query (answer true)
    or its negation (false); a checked derivation fails first where `first_invalid` says;
    a counterfactual's `original_answer` is the answer without the supposition."""
    proof = f.get("proof") or []
    bad = first_invalid(f.get("facts") or [], f.get("rules") or [], proof)
    if bad:
        return f"proof step {bad} does not follow by its rule from what is known before it"
    q = f.get("query")
    if proof and q is not None:
        last, q = tuple(proof[-1].get("derives") or ()), tuple(q)
        neg = (q[0], q[1][4:] if q[1].startswith("not:") else "not:" + q[1], q[2])
        want = "true" if last == q else "false" if last == neg else None
        if want is None or f.get("answer") not in (None, want):
            return f"the proof ends in {list(last)}, not in the query, answer {f.get('answer')!r}"
    if "steps" in f:
        bad = first_invalid(f.get("facts") or [], f.get("rules") or [], f["steps"] or [])
        if bad != (f.get("first_invalid") or 0):
            where = f"step {bad}" if bad else "no step"
            return f"written step {where} fails, formal says {f.get('first_invalid') or 0}"
    if "original_answer" in f:
        rules = [r for r in f.get("rules") or [] if r.get("id") != f.get("supposed")]
        rules += [f["replaces"]] if f.get("replaces") else []
        try:
            got = derive({**f, "rules": rules})
        except ValueError as e:
            return f"the theory without the supposition: {e}"
        if got != f["original_answer"]:
            return f"original answer {f['original_answer']!r}, re-derived {got!r}"
    return None


@dataclass
class Findings:
    """An exact count with a few examples (id, where, detail)."""

    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    by_group: Counter = field(default_factory=Counter)

    def add(self, row: Row, detail: str, **extra: Any) -> None:
        self.count += 1
        self.by_group[row.template] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(
                {
                    "id": row.id,
                    "template": row.template,
                    "where": row.meta.get("where"),
                    "detail": detail,
                    **extra,
                }
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "examples": self.examples,
            "by_template": dict(self.by_group.most_common()),
        }


# --- contamination --------------------------------------------------------------------


class Contamination:
    """Train rows checked against the eval probes. Every row: exact normalized content or
    question (the contamination filter's `contamination_exact`, same normalization), and
    the same formal task and input (`contamination_task`). The metric sample: the
    contamination filter itself, for a probe question contained in a row and
    near-duplicate questions (MinHash; rows and probes that both carry formal are
    compared by task alone), which cost ~0.5 ms a row."""

    def __init__(self, probes: list[Row], cfg: dict | None) -> None:
        self.texts = [Probe(p.text, p.formal) for p in probes]
        self.cfg = cfg
        self.probes = len(probes)
        self._ids = [p.id for p in probes]
        self._tasks: dict[int, int] = {}
        for i, p in enumerate(probes):
            key = task_key(p.formal)
            if key is not None:
                self._tasks.setdefault(key, i)
        self._keys: dict[int, int] = {}
        self._questions: list[str] = []
        for i, t in enumerate(self.texts):
            content, question = probe_parts(t.text)
            self._questions.append(question)
            for part in (content, question):
                self._keys.setdefault(text_key(normalize(part)), i)
        self.found: dict[str, Findings] = {}
        self.sampled_rows = 0

    def add(self, rows: list[Row]) -> None:
        """The exact and task checks, on every row."""
        for row in rows:
            probe = self._exact_probe(row)
            if probe is not None:
                self._flag(row, "contamination_exact", self._ids[probe])
                continue
            probe = self._task_probe(row)
            if probe is not None:
                self._flag(row, "contamination_task", self._ids[probe])

    def add_sample(self, rows: list[Row]) -> None:
        """The filter's own checks on the metric sample (rows in corpus order, so its
        per-template skeleton calibration sees them as the filter would)."""
        filt = configure(ContaminationFilter, self.cfg, "filters.contamination", probes=self.texts)
        rows = sorted(rows, key=lambda r: r.meta["pos"])
        self.sampled_rows = len(rows)
        for start in range(0, len(rows), 256):
            batch = rows[start : start + 256]
            filt.prepare(batch)
            for row in batch:
                why = filt.reason(row)
                if why is None:
                    continue
                if self._exact_probe(row) is None and self._task_probe(row) is None:  # else counted
                    self._flag(row, why, self._nearest_probe(row, filt))

    def _flag(self, row: Row, why: str, probe: str | None) -> None:
        self.found.setdefault(why, Findings()).add(row, why, probe=probe)

    def _exact_probe(self, row: Row) -> int | None:
        content, question = row_parts(row)
        for part in (content, question):
            i = self._keys.get(text_key(normalize(part)))
            if i is not None:
                return i
        return None

    def _task_probe(self, row: Row) -> int | None:
        if not self._tasks or not row.formal:
            return None
        key = task_key(row.formal)
        return None if key is None else self._tasks.get(key)

    def _nearest_probe(self, row: Row, filt: ContaminationFilter) -> str | None:
        """The probe whose question shares the most shingles with the row's question."""
        hasher = filt.skeletons.hasher  # type: ignore[union-attr]
        mine = hasher.shingles(row_parts(row)[1])
        best, best_j = None, 0.0
        for i, q in enumerate(self._questions[:20_000]):
            j = jaccard_sorted(mine, hasher.shingles(q))
            if j > best_j:
                best, best_j = i, j
        return self._ids[best] if best is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "probes": self.probes,
            "flagged": sum(f.count for f in self.found.values()),
            "near_checked_rows": self.sampled_rows,
            "by_reason": {k: v.to_json() for k, v in sorted(self.found.items())},
        }


# --- the streaming pass ---------------------------------------------------------------


@dataclass
class Group:
    rows: int = 0
    tokens: int = 0
    exact_dups: int = 0


class Pass:
    """Everything measured in one streaming pass over the corpus."""

    def __init__(
        self, filters: Filters, sample_rows: int, browse_rows: int, probes: list[Row] | None
    ) -> None:
        self.f = filters
        self.rows = self.tokens = self.chars = 0
        self.empty = Findings()
        self.token_counts: Counter = Counter()
        self.entropy = FineHist(0.0, 8.0, 0.01)
        self.compression = FineHist(0.0, 1.5, 0.005)
        self.compression_bytes: list[int] = []  # judged rows' sizes, sampled, for the band
        self.bands: dict[str, Findings] = {}
        self.groups: dict[str, Group] = {}
        self.stages: dict[int, Group] = {}
        self.stage_first: dict[int, tuple[int, int]] = {}  # stage -> (first row, tokens before)
        self.langs: Counter = Counter()
        self.lang_tokens: Counter = Counter()
        self.lang_guessed = False
        self.files: list[dict[str, Any]] = []
        self._dedup = U64Set()
        self.exact_dups = Findings()
        self.formal_checked = 0
        self.formal_by_group: Counter = Counter()
        self.wrong = Findings()
        self.steps_checked = 0  # rows whose formal has worked steps, read in their text
        self.miswritten = Findings()
        self.answer_checked = 0
        self.unstated = Findings()
        self.lang_mismatch = Findings()
        self.n_tokens_diff = Findings()
        self.n_tokens_compared = 0
        self.concepts_first: dict[str, int] = {}
        self.order = OrderBins()
        self.has_stage = False
        self.sample = Reservoir(sample_rows)
        self.browse_k = browse_rows
        self.per_group: dict[str, Reservoir] = {}  # texts, for distinct-n
        self.browse: dict[str, Reservoir] = {}  # rows, for the sample browser
        self.per_stage: dict[int, Reservoir] = {}
        self.contamination = (
            Contamination(probes, filters.config.get("contamination")) if probes else None
        )

    # -- per batch ---------------------------------------------------------------------

    def add(self, rows: list[Row], counts: list[int], file: str) -> None:
        if not rows:
            return
        if not self.files or self.files[-1]["file"] != file:
            self.files.append({"file": file, "rows": 0, "tokens": 0})
        self.files[-1]["rows"] += len(rows)
        self.files[-1]["tokens"] += sum(counts)
        contents = [content_of(r) for r in rows]
        prio = priorities(self.rows, len(rows), 0x51A)
        for row, n, content, p in zip(rows, counts, contents, prio, strict=True):
            row.n_tokens = n
            self._count(row, n, content)
            self._quality(row, content)
            self._correctness(row)
            self._curriculum(row, n)
            self._sample(row, p)
        self._distributions(rows, contents)
        if self.contamination is not None:
            self.contamination.add(rows)

    def _group(self, name: str) -> str:
        return name if name in self.groups or len(self.groups) < MAX_GROUPS else OTHER_GROUP

    def _count(self, row: Row, n: int, content: str) -> None:
        self.rows += 1
        self.tokens += n
        self.chars += len(content)
        self.token_counts[n] += 1
        g = self.groups.setdefault(self._group(row.template), Group())
        g.rows += 1
        g.tokens += n
        lang = row.lang
        if not lang:
            self.lang_guessed = True
            lang = guess_script(content)
        self.langs[lang] += 1
        self.lang_tokens[lang] += n
        if not content.strip():
            self.empty.add(row, "no content")
        if not self._dedup.add_one(text_key(sample_content(row))):  # what exact dedup compares
            g.exact_dups += 1
            self.exact_dups.add(
                row, "same normalized content as an earlier row", content=content[:300]
            )
        given = row.meta.get("n_tokens_column")
        if isinstance(given, int):
            self.n_tokens_compared += 1
            if given != n:
                self.n_tokens_diff.add(row, f"n_tokens {given}, tokenizer says {n}")

    def _quality(self, row: Row, content: str) -> None:
        length, language = self.f.length, self.f.language
        why = length.reason(row) if length is not None else None
        if why is not None:
            self._band(why).add(row, f"{row.n_tokens} tokens (band {length.min}-{length.max})")
        why = language.reason(row) if language is not None else None
        if why is not None:
            self.lang_mismatch.add(row, f"{why} (lang {row.lang})")
        if row.answer is not None:
            self.answer_checked += 1
            why = self.f.answer.reason(row)
            if why is not None:
                self.unstated.add(row, why, answer=row.answer)

    def _band(self, reason: str) -> Findings:
        return self.bands.setdefault(reason, Findings())

    def _distributions(self, rows: list[Row], contents: list[str]) -> None:
        ent, comp = self.f.entropy, self.f.compression
        ent_min = ent.min_chars if ent else 100
        comp_min = comp.min_chars if comp else 200
        e_vals, c_vals = [], []
        for row, text in zip(rows, contents, strict=True):
            if len(text) >= ent_min:
                h = char_entropy(text)
                e_vals.append(h)
                if ent is not None and not ent.min <= h <= ent.max:
                    self._band("entropy_low" if h < ent.min else "entropy_high").add(
                        row, f"entropy {h:.2f}"
                    )
            if len(text) >= comp_min:
                data = text.encode("utf-8", "surrogatepass")
                r = compression_ratio(data)
                c_vals.append(r)
                if len(self.compression_bytes) < 20_000:
                    self.compression_bytes.append(len(data))
                if comp is not None and (r < comp.min or r > comp.upper(len(data))):
                    self._band("compression_low" if r < comp.min else "compression_high").add(
                        row, f"ratio {r:.3f}"
                    )
        self.entropy.add(e_vals)
        self.compression.add(c_vals)

    def _correctness(self, row: Row) -> None:
        if not row.formal:
            return
        self.formal_checked += 1
        self.formal_by_group[row.template] += 1
        why, f = formal_problem(row)
        if why is not None:
            self.wrong.add(row, why, answer=row.answer)
        if f is not None and ("steps" in f or "proof" in f):
            self.steps_checked += 1
            why = steps_problem(row, f)
            if why is not None:
                self.miswritten.add(row, why)

    def _curriculum(self, row: Row, n: int) -> None:
        new = 0
        for c in row.concepts:
            if c not in self.concepts_first:
                self.concepts_first[c] = row.meta["pos"]
                new += 1
        if row.stage >= 0 and not row.meta.get("no_stage"):
            self.has_stage = True
            s = self.stages.setdefault(row.stage, Group())
            s.rows += 1
            s.tokens += n
            self.stage_first.setdefault(row.stage, (row.meta["pos"], self.tokens - n))
        self.order.add(row.meta["pos"], n, row.difficulty, new)

    def _sample(self, row: Row, prio: int) -> None:
        if self.sample.would_take(prio):
            self.sample.offer(prio, _trimmed(row, SAMPLE_CHARS))
        else:
            self.sample.seen += 1
        # Per template and stage: texts for distinct-n, a few whole rows for the browser,
        # on a second priority (the browser's rows are not the metric sample's).
        p2 = prio ^ 0x9E3779B97F4A7C15
        group = self._group(row.template)
        if group not in self.per_group:
            self.per_group[group] = Reservoir(DIVERSITY_ROWS)
            self.browse[group] = Reservoir(self.browse_k)
        self.per_group[group].offer(p2, sample_content(row)[:DIVERSITY_CHARS])
        if self.browse[group].would_take(p2):
            self.browse[group].offer(p2, _trimmed(row, BROWSE_CHARS))
        if row.stage >= 0:
            stage = self.per_stage.setdefault(row.stage, Reservoir(DIVERSITY_ROWS))
            stage.offer(p2, sample_content(row)[:DIVERSITY_CHARS])


def _trimmed(row: Row, chars: int) -> Row:
    """The row, or a copy cut to `chars` per text (a sample must stay bounded)."""
    if len(row.text) <= chars and all(
        len(m.get("content") or "") <= chars for m in row.messages or []
    ):
        return row
    r = Row(**{k: getattr(row, k) for k in Row.__dataclass_fields__ if k != "meta"})
    r.meta = {**row.meta, "trimmed": True}
    r.meta.pop(FORMAL_PARSED, None)
    r.text = row.text[:chars]
    if row.messages:
        r.messages = [{**m, "content": (m.get("content") or "")[:chars]} for m in row.messages]
    return r


# --- sample metrics ---------------------------------------------------------------------


def repetition_summary(rows: list[Row], f: RepetitionFilter, enabled: bool) -> dict[str, Any]:
    """Repetition statistics over the metric sample, and how many rows the filter itself
    rejects and why (only when the tier has it enabled)."""
    meter = meter_for(f)
    stats: dict[str, list[float]] = {}
    reasons: Counter = Counter()
    examples: dict[str, list[str]] = {}
    for row in rows:
        values, why = row_repetition(row, meter)
        for k, v in values.items():
            stats.setdefault(k, []).append(v)
        if enabled and why is not None:
            reasons[why] += 1
            if len(examples.setdefault(why, [])) < 5:
                examples[why].append(row.id)
    limits = repetition_limits(f)
    out = {}
    for k, values in stats.items():
        v = np.array(values)
        limit = limits.get(k)
        top = max(float(v.max()), (limit or 0.3) * 1.2, 0.05)
        hist, edges = np.histogram(v, bins=40, range=(0.0, top))
        out[k] = {
            "n": int(v.size),
            "limit": limit if enabled else None,
            "mean": round(float(v.mean()), 4),
            "p95": round(float(np.quantile(v, 0.95)), 4),
            "over_limit": int((v > limit).sum()) if enabled and limit is not None else None,
            "edges": [round(float(e), 5) for e in edges],
            "counts": hist.tolist(),
        }
    return {
        "rows": len(rows),
        "enabled": enabled,
        "stats": out,
        "rejected": dict(reasons),
        "examples": examples,
    }


@dataclass
class _UnionFind:
    parent: list[int]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_duplicate_clusters(
    rows: list[Row], near: NearDedupFilter, top: int = 20
) -> dict[str, Any]:
    """Clusters of near-duplicate rows in a sample, with the near-dedup filter's own
    MinHash, LSH bands and per-template skeleton removal: rows sharing a band key whose
    signatures agree on at least the filter's `threshold` of their values are joined."""
    share = max(near.skeleton_share, QA_SKELETON_SHARE)
    sk = TemplateSkeletons(
        MinHasher(near.bands, near.rows, near.ngram),
        share=share,
        calibration=near.calibration,
        warmup=near.warmup,
    )
    shingles = []
    for start in range(0, len(rows), 512):
        batch = rows[start : start + 512]
        sk.prepare(batch)
        for r in batch:
            sk.observe(r)
            shingles.append(sk.shingles(r))
    filled = []
    for r, sh in zip(rows, shingles, strict=True):
        f = sk.without_skeleton(sh, r.template)
        filled.append(sh if f is None else f)  # too few rows to know the skeleton: all of it
    idx = [i for i, f in enumerate(filled) if f.size]
    clusters = _lsh_clusters(
        [filled[i] for i in idx], [rows[i].template for i in idx], sk.hasher, near.threshold
    )
    out = []
    for members, sim in clusters[:top]:
        rs = [rows[idx[m]] for m in members]
        contents = [sample_content(r) for r in rs]
        out.append(
            {
                "size": len(rs),
                "similarity": round(sim, 3),
                "exact_copies": len(rs) - len({normalize(c) for c in contents}),  # beyond the first
                "templates": dict(Counter(r.template for r in rs).most_common()),
                "ids": [r.id for r in rs[:50]],
                "examples": [
                    {"id": r.id, "content": c[:600]}
                    for r, c in list(zip(rs, contents, strict=True))[:4]
                ],
            }
        )
    sizes = [len(m) for m, _ in clusters]
    return {
        "rows": len(rows),
        "compared": len(idx),
        "clusters": len(clusters),
        "rows_in_clusters": sum(sizes),
        "largest": out,
        "skeletons": sk.stats(),
        "skeleton_share": share,
        "similarity": near.threshold,
        "groups": near_review(rows, near, "the report's templates"),  # as synth filter decides
    }


def _lsh_clusters(
    sets: list[np.ndarray], templates: list[str], hasher: MinHasher, threshold: float
) -> list[tuple[list[int], float]]:
    """Connected components of rows that share a band key and look alike, largest first."""
    from synth.filters.near_dedup import template_salt

    if not sets:
        return []
    sigs = hasher.signatures_of_sets(sets)
    salts = np.array([template_salt(t) for t in templates], dtype=np.uint64)
    keys = hasher.band_keys(sigs, salts)
    uf = _UnionFind(list(range(len(sets))))
    for b in range(keys.shape[1]):
        col = keys[:, b]
        order = np.argsort(col, kind="stable")
        starts = np.flatnonzero(np.r_[True, col[order][1:] != col[order][:-1]])
        ends = np.r_[starts[1:], order.size]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            if e - s >= 2:
                _link_bucket(uf, sigs, order[s:e], threshold)
    comps: dict[int, list[int]] = {}
    for i in range(len(sets)):
        comps.setdefault(uf.find(i), []).append(i)
    out = []
    for members in comps.values():
        if len(members) < 2:
            continue
        sim = float((sigs[members[1:]] == sigs[members[0]]).mean())
        out.append((members, sim))
    out.sort(key=lambda c: (-len(c[0]), c[0][0]))
    return out


def _link_bucket(
    uf: _UnionFind, sigs: np.ndarray, members: np.ndarray, threshold: float, cap: int = 64
) -> None:
    """Join the rows of one LSH bucket that look alike: every pair in a small bucket, each
    row against the first `cap` in a big one (a template's degenerate bucket)."""
    heads = members[:cap]
    for start in range(0, members.size, 1024):  # bounded memory: 1024 x cap x perms
        chunk = members[start : start + 1024]
        sim = (sigs[chunk][:, None, :] == sigs[heads][None, :, :]).mean(axis=2)
        for a, b in zip(*np.nonzero(sim >= threshold), strict=True):
            if chunk[a] != heads[b]:
                uf.union(int(chunk[a]), int(heads[b]))


def diversity(groups: dict[Any, Iterable[str]]) -> dict[str, Any]:
    """distinct-1/2/3 and zlib ratio per group, on equal-size reservoirs (diversity filter)."""
    return {str(k): diversity_of(list(texts)[:DIVERSITY_ROWS]) for k, texts in groups.items()}


# --- verdict ---------------------------------------------------------------------------

SEVERITY = {"critical": 0, "major": 1, "minor": 2}
# distinct-3 on a 200-row reservoir: one sentence repeated scores ~0.005; templates that
# restate a few world rules by design ~0.04; healthy templates 0.15-0.7.
COLLAPSE_DISTINCT3 = 0.02
LOW_DISTINCT3 = 0.06
COLLAPSE_DUP_SHARE = 0.5
NEAR_CLUSTER_MAJOR = 10


@dataclass
class Problem:
    severity: str
    section: str
    title: str
    evidence: str = ""
    ids: list[str] = field(default_factory=list)
    weight: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "section": self.section,
            "title": self.title,
            "evidence": self.evidence,
            "ids": self.ids,
        }


def _ids(findings: dict[str, Any], n: int = 10) -> list[str]:
    return [e["id"] for e in findings.get("examples", [])[:n]]


def verdict(q: dict[str, Any]) -> list[dict[str, Any]]:
    """The problems found, worst first, each with its evidence."""
    p: list[Problem] = []
    _integrity(q, p)
    _correctness_problems(q, p)
    _contamination_problems(q, p)
    _diversity_problems(q, p)
    _curriculum_problems(q, p)
    _quality_problems(q, p)
    from synth.qa.frames import frame_problems  # frames builds on this module

    p += [Problem(**x) for x in frame_problems(q)]
    p.sort(key=lambda x: (SEVERITY[x.severity], -x.weight))
    return [x.to_json() for x in p]


def _integrity(q: dict[str, Any], p: list[Problem]) -> None:
    for msg in q.get("verify", {}).get("problems", []):
        changed = "sha256" in msg or "bytes" in msg
        title = (
            "shard bytes changed since generation"
            if changed
            else "shards disagree with the manifest"
        )
        p.append(Problem("critical", "verify", title, f"synth verify: {msg}", weight=1e9))
    for msg in q.get("read_errors", []):
        p.append(Problem("critical", "totals", "a file could not be read", msg, weight=1e9))
    t = q["totals"]
    if t["rows"] == 0:
        p.append(Problem("critical", "totals", "the corpus has no rows", weight=1e9))


def _correctness_problems(q: dict[str, Any], p: list[Problem]) -> None:
    c = q["correctness"]
    w = c["mismatches"]
    if w["count"]:
        p.append(Problem(
            "critical", "correctness",
            f"{w['count']:,} row(s) whose answer or a derivation step does not re-derive from `formal`",
            "; ".join(f"{e['id']}: {e['detail']}" for e in w["examples"][:3]),
            _ids(w), weight=w["count"],
        ))  # fmt: skip
    s = (c.get("steps") or {}).get("miswritten") or {}
    if s.get("count"):
        p.append(Problem(
            "critical", "correctness",
            f"{s['count']:,} row(s) whose text writes worked steps that are not `formal`'s",
            "; ".join(f"{e['id']}: {e['detail']}" for e in s["examples"][:3]),
            _ids(s), weight=s["count"],
        ))  # fmt: skip
    u = c["unstated"]
    if u["count"]:
        p.append(Problem(
            "major", "correctness",
            f"{u['count']:,} row(s) whose response does not state the gold answer",
            "; ".join(f"{e['id']}: {e['detail']} (gold {e.get('answer')!r})" for e in u["examples"][:3]),
            _ids(u), weight=u["count"],
        ))  # fmt: skip
    pw = c.get("probes", {}).get("mismatches", {})
    if pw.get("count"):
        p.append(Problem(
            "critical", "correctness",
            f"{pw['count']:,} eval probe(s) whose gold answer does not re-derive",
            "; ".join(f"{e['id']}: {e['detail']}" for e in pw["examples"][:3]),
            _ids(pw), weight=pw["count"],
        ))  # fmt: skip


def _contamination_problems(q: dict[str, Any], p: list[Problem]) -> None:
    c = q.get("contamination") or {}
    for reason, f in (c.get("by_reason") or {}).items():
        how = {
            "contamination_exact": "an exact copy (normalized) of",
            "contamination_task": "the same formal task and input as",
            "contamination_question": "contains the question of",
            "contamination_near": "a near duplicate of the question of",
        }.get(reason, reason)
        ex = "; ".join(f"train {e['id']} ← probe {e.get('probe')}" for e in f["examples"][:3])
        p.append(Problem(
            "critical", "contamination",
            f"eval probe leaked into train: {f['count']:,} train row(s) {how} a probe",
            ex, _ids(f), weight=f["count"],
        ))  # fmt: skip


def _diversity_problems(q: dict[str, Any], p: list[Problem]) -> None:
    d = q["diversity"]
    for name, t in d["templates"].items():
        state = collapse_state(t)
        if state is None:
            continue
        rows, dups, d3 = t["rows"], t.get("exact_dups", 0), t.get("distinct_3")
        title = f"template {name} {state}: distinct-3 {d3}"
        evidence = (
            f"distinct-3 {d3} on {t.get('reservoir')} sampled rows (healthy templates: 0.15-0.7); "
            f"{dups:,} of its {rows:,} rows repeat an earlier row exactly"
        )
        sev = "major" if state == "collapsed" else "minor"
        # Above what follows from it (its duplicates, its rows outside a band).
        p.append(Problem(sev, "diversity", title, evidence, weight=2 * rows * (1 - (d3 or 0))))
    _near_problems(q, p)
    ex = d["exact_duplicates"]
    if ex["count"]:
        share = ex["count"] / max(q["totals"]["rows"], 1)
        p.append(Problem(
            "major" if share >= 0.01 else "minor", "diversity",
            f"{ex['count']:,} row(s) ({share:.1%}) repeat an earlier row exactly (normalized)",
            "by template: " + ", ".join(f"{k} {v}" for k, v in list(ex["by_template"].items())[:5]),
            _ids(ex), weight=ex["count"],
        ))  # fmt: skip


def collapse_state(t: dict[str, Any]) -> str | None:
    """ "collapsed" (one text over and over), "low in diversity", or None for a template's
    diversity figures; templates under 20 rows are too small to tell."""
    rows, dups, d3 = t.get("rows") or 0, t.get("exact_dups") or 0, t.get("distinct_3")
    if rows < 20:
        return None
    if (d3 is not None and d3 < COLLAPSE_DISTINCT3) or dups / rows >= COLLAPSE_DUP_SHARE:
        return "collapsed"
    if d3 is not None and d3 < LOW_DISTINCT3:
        return "low in diversity"
    return None


def _near_problems(q: dict[str, Any], p: list[Problem]) -> None:
    near = q["diversity"]["near_duplicates"]
    scale = q["totals"]["rows"] / max(near["rows"], 1)
    est = f" (sampled 1 in {scale:.0f})" if scale > 1.01 else ""
    small = [c for c in near["largest"] if c["size"] < NEAR_CLUSTER_MAJOR]
    for c in near["largest"]:
        if c["size"] < NEAR_CLUSTER_MAJOR:
            continue
        p.append(Problem(
            "major", "diversity", f"near-duplicate cluster of {c['size']} rows{est}",
            f"templates {', '.join(c['templates'])}; similarity {c['similarity']}, "
            f"{c['exact_copies']} exact copies; e.g. {c['examples'][0]['content'][:120]!r}",
            c["ids"][:10], weight=c["size"],
        ))  # fmt: skip
    n_small = near["clusters"] - (len(near["largest"]) - len(small))
    if n_small and small:
        rows = near["rows_in_clusters"] - sum(
            c["size"] for c in near["largest"] if c["size"] >= NEAR_CLUSTER_MAJOR
        )
        p.append(Problem(
            "minor", "diversity",
            f"{n_small:,} small near-duplicate cluster(s) of 2-{NEAR_CLUSTER_MAJOR - 1} rows, {rows:,} rows in all{est}",
            f"largest: {small[0]['size']} rows of {', '.join(small[0]['templates'])}, "
            f"e.g. {small[0]['examples'][0]['content'][:120]!r}",
            small[0]["ids"][:10], weight=rows,
        ))  # fmt: skip


def _curriculum_problems(q: dict[str, Any], p: list[Problem]) -> None:
    cur = q.get("curriculum") or {}
    probs = (cur.get("check") or {}).get("problems") or []
    if probs:
        p.append(Problem(
            "major", "curriculum", f"curriculum check: {len(probs)} problem(s)",
            "; ".join(probs[:3]), weight=len(probs),
        ))  # fmt: skip


def _quality_problems(q: dict[str, Any], p: list[Problem]) -> None:
    t = q["totals"]
    nt = q["tokens"]["n_tokens_column"]
    if nt["count"]:
        p.append(Problem(
            "major" if q["tokens"]["same_tokenizer"] else "minor", "totals",
            f"{nt['count']:,} row(s) whose n_tokens differs from the {q['tokens']['tokenizer']} count",
            "; ".join(f"{e['id']}: {e['detail']}" for e in nt["examples"][:3]), _ids(nt), weight=nt["count"],
        ))  # fmt: skip
    if q["quality"]["empty"]["count"]:
        e = q["quality"]["empty"]
        p.append(
            Problem(
                "major",
                "totals",
                f"{e['count']:,} row(s) with no content",
                "",
                _ids(e),
                weight=e["count"],
            )
        )
    for reason, f in q["quality"]["outside_bands"].items():
        share = f["count"] / max(t["rows"], 1)
        p.append(Problem(
            "major" if share >= 0.05 else "minor", "distributions",
            f"{f['count']:,} row(s) ({share:.1%}) outside the filter band: {reason}",
            "; ".join(f"{e['id']}: {e['detail']}" for e in f["examples"][:3]), _ids(f), weight=f["count"],
        ))  # fmt: skip
    rep = q["distributions"]["repetition"]
    for reason, n in rep["rejected"].items():
        share = n / max(rep["rows"], 1)
        p.append(Problem(
            "major" if share >= 0.05 else "minor", "distributions",
            f"repetition filter would reject {n:,} of {rep['rows']:,} sampled rows ({share:.1%}): {reason}",
            "", rep["examples"].get(reason, []), weight=share * t["rows"],
        ))  # fmt: skip
    lm = q["quality"]["language_mismatch"]
    if lm["count"]:
        p.append(Problem(
            "major", "totals", f"{lm['count']:,} row(s) not in their declared language",
            "", _ids(lm), weight=lm["count"],
        ))  # fmt: skip
