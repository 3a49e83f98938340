"""`synth eval`: score a model on a corpus's held-out probes (`OUT/eval/`).

Each probe is asked as the corpus renders it: the row's system message (if any) and its
`prompt` (the last user turn). The model's final answer is the last `Answer:` line of
its reply (synth.filters.answer.stated_answer); whether it is the gold is the probe's
family's `score` (the answer filter's reading, with the family's own spellings of a value:
JSON with other spacing, equivalent code), or the answer filter's rule when the family
cannot be found. Accuracy is reported overall, by probe kind and by
difficulty (proof depth), each beside the chance level of always saying the group's
most frequent gold answer. Replies go through the same response cache as generation,
so re-scoring a model costs nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth.backends.base import Request, Sampling
from synth.backends.cache import ResponseCache
from synth.backends.realise import complete_cached, engine_for
from synth.errors import UserError
from synth.families import get_family
from synth.families.base import Score, default_score
from synth.filters.answer import normalize_answer, reply_correct
from synth.shards.atomic import write_json
from synth.shards.manifest import is_corpus, read_manifest
from synth.templating import TemplateLibrary

NEEDED = ("id", "prompt", "answer", "probe_kind", "difficulty", "messages", "lang", "template")
EVAL_SAMPLING = Sampling(temperature=0.0, top_p=1.0, max_tokens=512, seed=0)


@dataclass
class Probe:
    id: str
    prompt: str
    system: str | None
    gold: str
    probe_kind: str
    difficulty: int
    lang: str
    score: Score = default_score  # the family's: does a reply state the gold?


def load_probes(path: str | Path, limit: int | None = None) -> list[Probe]:
    """The probes of a `datasets.save_to_disk` folder written by `synth generate`."""
    import datasets

    p = Path(path)
    if not (p / "state.json").is_file():
        raise UserError(f"--probes: {p} is not a probe folder (expected OUT/eval with state.json)")
    ds = datasets.load_from_disk(str(p))
    missing = [c for c in NEEDED if c not in ds.column_names]
    if missing:
        raise UserError(
            f"--probes: {p} lacks column(s) {', '.join(missing)}: not synth eval probes"
        )
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    texts = ds["answer_text"] if "answer_text" in ds.column_names else [None] * len(ds)
    scores = _family_scores(p.resolve().parent)
    probes = []
    for row, text in zip(ds.select_columns(list(NEEDED)), texts):
        if row["answer"] is None:
            continue
        system = next((m["content"] for m in row["messages"] or [] if m["role"] == "system"), None)
        probes.append(
            Probe(
                id=row["id"],
                prompt=row["prompt"],
                system=system,
                gold=text or row["answer"],
                probe_kind=row["probe_kind"] or "all",
                difficulty=int(row["difficulty"] or 0),
                lang=row["lang"] or "en",
                score=scores.get(row["template"], default_score),
            )
        )
    if not probes:
        raise UserError(f"--probes: {p} holds no probe with an answer")
    return probes


def request_for(probe: Probe, sampling: Sampling, system: str | None = None) -> Request:
    """The probe as the model is asked it: its own system message, else `system`."""
    messages = []
    if probe.system or system:
        messages.append({"role": "system", "content": probe.system or system})
    messages.append({"role": "user", "content": probe.prompt})
    return Request(messages=messages, sampling=sampling)


def _family_scores(corpus: Path) -> dict[str, Score]:
    """Template id -> its family's score, from the packs the corpus was generated with
    (its manifest's config); empty when the folder is not a synth corpus or a pack is
    gone (the answer filter's rule is then used)."""
    if not is_corpus(corpus):
        return {}
    try:
        cfg = read_manifest(corpus).get("config") or {}
        lib = TemplateLibrary(cfg.get("templates") or [], builtin=not cfg.get("templates_only"))
        return {tid: get_family(lib.spec(tid).family).score for tid in lib.variants}
    except UserError:
        return {}


def score(probe: Probe, reply: str) -> tuple[str | None, bool]:
    """(what the reply states as its answer, whether that is the gold)."""
    stated, _ = reply_correct(reply, probe.gold, probe.lang)
    return stated, bool(probe.score(reply, probe.gold, probe.lang))


def group_report(items: list[tuple[Probe, bool, bool]]) -> dict[str, Any]:
    """n, correct, accuracy, missing (no `Answer:` line), and the majority-class chance."""
    n = len(items)
    correct = sum(ok for _, ok, _ in items)
    golds = Counter(normalize_answer(p.gold) for p, _, _ in items)
    majority, count = golds.most_common(1)[0]
    return {
        "n": n,
        "correct": correct,
        "accuracy": round(correct / n, 4),
        "chance": round(count / n, 4),
        "majority": majority,
        "missing": sum(missing for _, _, missing in items),
    }


def evaluate(
    probes: str | Path,
    backend: str,
    model: str | None,
    out: str | Path | None = None,
    limit: int | None = None,
    system: str | None = None,
    options: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score `model` on the probes; writes the report to `out` (default: eval.json
    beside the probe folder) and returns it."""
    if backend == "template":
        raise UserError("--backend: eval needs a model backend: hf, openai or vllm")
    opts = dict(options or {})
    sampling = _sampling(opts)
    probes_dir = Path(probes)
    rows = load_probes(probes_dir, limit)
    cache = ResponseCache(
        opts.pop("cache", None) or probes_dir.resolve().parent / ".synth" / "llm-cache.sqlite"
    )
    engine = engine_for(backend, {**opts, "model": model})
    requests = [request_for(p, sampling, system) for p in rows]
    replies = []
    step = max(1, engine.batch_size)
    for start in range(0, len(requests), step):
        replies += complete_cached(engine, cache, requests[start : start + step])
        if progress is not None:
            progress(len(replies), len(requests))
    cache.close()
    report = _report(rows, replies)
    report.update(
        probes=str(probes_dir),
        backend=backend,
        model=engine.model,
        sampling={
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        },
        llm=engine.counters.to_dict(),
    )
    target = Path(out) if out is not None else probes_dir.resolve().parent / "eval.json"
    write_json(target, report)
    report["written_to"] = str(target)
    return report


def _sampling(opts: dict[str, Any]) -> Sampling:
    """Greedy by default; `temperature`, `top_p`, `max_tokens` options override."""
    keys = ("temperature", "top_p", "max_tokens")
    given = {k: opts.pop(k) for k in keys if k in opts}
    if not given:
        return EVAL_SAMPLING
    base = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 512, "seed": 0}
    return Sampling.from_options({**base, **given}, "--llm-option")


def score_one(p: Probe, reply: str) -> tuple[tuple[Probe, bool, bool], dict[str, Any]]:
    """A probe scored against a reply: the item `group_report` counts (probe, correct,
    missing) and the probe's result row."""
    stated, ok = score(p, reply)
    row = {
        "id": p.id,
        "probe_kind": p.probe_kind,
        "difficulty": p.difficulty,
        "gold": p.gold,
        "stated": stated,
        "correct": ok,
    }
    return (p, ok, stated is None), row


def _report(rows: list[Probe], replies: list) -> dict[str, Any]:
    items = []
    results = []
    for p, c in zip(rows, replies):
        item, row = score_one(p, c.text if c.error is None else "")
        items.append(item)
        results.append({**row, **({"error": c.error} if c.error else {})})
    by_kind: dict[str, list] = defaultdict(list)
    by_diff: dict[int, list] = defaultdict(list)
    for it in items:
        by_kind[it[0].probe_kind].append(it)
        by_diff[it[0].difficulty].append(it)
    return {
        **group_report(items),
        "by_probe_kind": {k: group_report(v) for k, v in sorted(by_kind.items())},
        "by_difficulty": {str(d): group_report(v) for d, v in sorted(by_diff.items())},
        "results": results,
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report as a few readable lines (what `synth eval` prints)."""
    lines = [
        f"{report['model']}: accuracy {report['accuracy']:.1%} on {report['n']} probes "
        f"(chance {report['chance']:.1%}; {report['missing']} without an Answer line)"
    ]
    for title, key in (("probe kind", "by_probe_kind"), ("difficulty", "by_difficulty")):
        lines.append(f"  by {title}:")
        for name, g in report[key].items():
            lines.append(
                f"    {name:<22} {g['accuracy']:>6.1%}  chance {g['chance']:>6.1%}  n={g['n']}"
            )
    return lines
