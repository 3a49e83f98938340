"""The realisation step every LLM backend shares.

For each rendered row whose template has a realisation mode (front matter `realise:`,
else the run's default: the tier's `realise:` key or `--realise`):

1. build the LLM request from the mode's prompt template (`templates/<lang>/_realise/
   _<mode>.j2`, rendered in the template sandbox with the sample's parts as variables);
2. look it up in the response cache, send the misses to the engine in batches;
3. put the output back into the row (the assistant reply, the question or the document);
4. verify it (each mode says how: the gold answer, the names of the formal facts);
5. retry the failures with a new sampling seed, up to `retries` times;
6. mark rows that still fail with `meta["realise_rejected"] = reason`: the `realise`
   filter (first in the sample chain) rejects them, so the manifest counts them by reason.

Modes:
- `answer`: the model answers the rendered question (chat samples whose reply ends in
  an `Answer:` line); kept if its final `Answer:` line equals the gold.
- `paraphrase`: the model rewrites the question (chat) or the document; kept if every
  entity and kind name of the row's formal facts/query that the source mentions is
  still there, no negation was lost, the length is about the same, and a document's
  final `Answer:` line still states the gold.
- `persona`: the model rewrites the reply in a persona's voice (drawn in the prompt
  template); kept if the final answer (or the exact output) is still there.

Seeds: attempt k of a row samples with `derive_seed(row.seed, mode, k)`, so a re-run
asks the same requests and finds them in the cache.

What a user watches: each reply is verified as it arrives (the engines call back per
request, or per engine batch), so the realiser's counters (requests asked and answered,
rows kept, rows rejected by reason) and `on_verdict(row, reason)` move while a batch is
still generating. Only what does not depend on arrival order is decided there; the
run of failures that stops a run is counted in the rows' order, after the batch.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from synth.backends.base import ENGINES, Completion, Counters, Engine, Request, Sampling, need_extra
from synth.backends.cache import ResponseCache
from synth.errors import RunStopped, UserError
from synth.filters.answer import ANSWER_LINE, normalize_answer, same_answer, stated_answer
from synth.rng import derive_seed, rng_for
from synth.row import Row

MODES = ("answer", "paraphrase", "persona")
REJECTED = "realise_rejected"  # row.meta key the `realise` filter reads
REALISED_BY = "realised_by"  # row.meta: the mode that rewrote the row (kept or not)
TRACE = "realise_trace"  # row.meta, when tracing (a preview): the prompt and every attempt
PROGRESS_EVERY = 0.5  # seconds between progress callbacks
MIN_REASONING_CHARS = 20  # an `answer` reply must reason when the render did
_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|nobody|neither|nor|cannot)\b|n't\b", re.I)
_BOOL_OPTIONS = {"true": "True", "false": "False", "unknown": "Unknown"}


# -- the filter that reports final failures ----------------------------------------------


@dataclass
class RealiseFilter:
    """Rejects rows the LLM backend could not realise, with the realiser's reason
    (`llm_answer_wrong`, `llm_names_lost`, ...). Put first in the sample chain."""

    name: ClassVar[str] = "realise"

    def reason(self, row: Row) -> str | None:
        return row.meta.get(REJECTED)


# -- configuration -----------------------------------------------------------------------


def parse_realise(value: Any, where: str = "realise") -> tuple[str, dict[str, str]]:
    """`answer`, or `{default: answer, templates: {id: mode}}` → (default, per template).
    An empty mode (or `none`) keeps the render."""

    def mode(m: Any, w: str) -> str:
        m = "" if m in (None, "none", "") else m
        if m and m not in MODES:
            raise UserError(
                f"{w}: unknown realisation mode {m!r}; choose {', '.join(MODES)} or none"
            )
        return str(m)

    if value is None or isinstance(value, str):
        return mode(value, where), {}
    if not isinstance(value, dict):
        raise UserError(
            f"{where}: must be a mode name or a mapping {{default: MODE, templates: {{ID: MODE}}}}"
        )
    unknown = set(value) - {"default", "templates"}
    if unknown:
        raise UserError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: default, templates)")
    per = value.get("templates") or {}
    if not isinstance(per, dict):
        raise UserError(f"{where}.templates: must map template ids to modes")
    return mode(value.get("default"), f"{where}.default"), {
        str(t): mode(m, f"{where}.templates.{t}") for t, m in per.items()
    }


# -- reading a rendered sample -------------------------------------------------------------


def _last(messages: list[dict[str, str]], role: str) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == role:
            return i
    return None


def _answer_line(text: str, lang: str) -> re.Match | None:
    """The final `Answer:` line, if it is the text's last non-empty line."""
    matches = list(ANSWER_LINE.get(lang, ANSWER_LINE["en"]).finditer(text))
    if not matches or text[matches[-1].end() :].strip():
        return None
    return matches[-1]


def _gold(row: Row) -> str:
    return row.meta.get("answer_text") or row.answer or ""


def _names(row: Row, source: str) -> list[str]:
    """Entity and kind names of the formal facts, rules and query that `source`
    mentions, in order of first mention."""
    try:
        formal = json.loads(row.formal) if row.formal else {}
    except json.JSONDecodeError:
        return []
    triples = list(formal.get("facts") or [])
    for rule in formal.get("rules") or []:
        triples += list(rule.get("if") or []) + [rule.get("then") or []]
    if formal.get("query"):
        triples.append(formal["query"])
    terms = {
        t
        for tr in triples
        if len(tr) == 3
        for t in (tr[0], tr[2])
        if isinstance(t, str) and not t.startswith("?")
    }
    low = source.casefold()
    found = [(low.find(t.casefold()), t) for t in terms if t and t.casefold() in low]
    return [t for _, t in sorted(found)]


def _negated_atoms(row: Row) -> int:
    try:
        formal = json.loads(row.formal) if row.formal else {}
    except json.JSONDecodeError:
        return 0
    atoms = {tuple(t) for t in formal.get("facts") or []}
    for rule in formal.get("rules") or []:
        atoms |= {tuple(t) for t in [*(rule.get("if") or []), rule.get("then") or []]}
    return sum(1 for a in atoms if len(a) == 3 and str(a[1]).startswith("not:"))


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _end_at_answer(output: str, canonical: str | None, lang: str) -> str:
    """Cut what follows the final `Answer:` line (small models keep chatting) and write
    that line as the render wrote it, so every sample states the answer alike."""
    matches = list(ANSWER_LINE.get(lang, ANSWER_LINE["en"]).finditer(output))
    if not matches:
        return output
    last = matches[-1]
    if not last.group("x").strip():  # `Answer:` with the value on the next line
        return output
    head = output[: last.start()].rstrip()
    line = canonical if canonical is not None else last.group(0).strip()
    return f"{head}\n\n{line}" if head else line


# -- modes -------------------------------------------------------------------------------


@dataclass
class Job:
    """One row being realised: its prompt, its attempts and its current candidate."""

    row: Row
    mode: Mode
    prompt: list[dict[str, str]]
    info: dict[str, Any]
    sampling: Sampling
    attempts: int = 0
    reason: str | None = "llm_not_tried"
    candidate: tuple[list[dict[str, str]] | None, str] | None = None  # (messages, text)


class Mode:
    """A realisation mode: which rows it applies to, what the prompt template gets,
    how the output goes back into the row, and how it is verified."""

    name: ClassVar[str]

    def info(self, row: Row) -> dict[str, Any] | None:
        """The prompt variables for this row, or None when the mode does not apply."""
        raise NotImplementedError

    def apply(
        self, row: Row, info: dict[str, Any], output: str
    ) -> tuple[list[dict[str, str]] | None, str]:
        raise NotImplementedError

    def verify(self, row: Row, info: dict[str, Any], output: str) -> str | None:
        raise NotImplementedError

    def max_tokens(self, info: dict[str, Any], sampling: Sampling) -> int:
        return sampling.max_tokens


def _reply_parts(row: Row) -> dict[str, Any] | None:
    """system, question, reply and the reply's final `Answer:` line of a chat row."""
    if not row.messages or row.answer is None:
        return None
    a, u = _last(row.messages, "assistant"), _last(row.messages, "user")
    if a is None or u is None:
        return None
    reply = row.messages[a]["content"]
    line = _answer_line(reply, row.lang)
    system = next((m["content"] for m in row.messages if m["role"] == "system"), None)
    return {
        "system": system,
        "question": row.messages[u]["content"],
        "reply": reply,
        "answer_line": line.group(0).strip() if line else None,
        "reasoning": reply[: line.start()].strip() if line else reply,
        "gold": _gold(row),
    }


def _options(gold: str, question: str) -> list[str]:
    """The answer's choices when it is true/false(/unknown): what the prompt offers."""
    g = normalize_answer(gold)
    if g not in _BOOL_OPTIONS:
        return []
    opts = ["True", "False"]
    if g == "unknown" or "unknown" in question.casefold():
        opts.append("Unknown")
    return opts


def _replace_reply(row: Row, content: str) -> list[dict[str, str]]:
    messages = [dict(m) for m in row.messages or []]
    messages[_last(messages, "assistant")]["content"] = content
    return messages


def _check_answer(output: str, info: dict[str, Any], lang: str, truncated: bool) -> str | None:
    stated = stated_answer(output, lang)
    if stated is None or not normalize_answer(stated):
        return "llm_truncated" if truncated else "llm_answer_missing"
    return None if same_answer(stated, info["gold"]) else "llm_answer_wrong"


class AnswerMode(Mode):
    name = "answer"

    def info(self, row: Row) -> dict[str, Any] | None:
        parts = _reply_parts(row)
        if parts is None or parts["answer_line"] is None:
            return None  # only replies that end in an `Answer:` line
        parts["options"] = _options(parts["gold"], parts["question"])
        return parts

    def max_tokens(self, info, sampling):
        # About twice the worked reply (≈4 characters a token) and a little slack: a
        # reply far longer than the render's is a ramble that would fail anyway, and on
        # a batching engine it holds the whole batch until it ends.
        return min(sampling.max_tokens, len(info["reply"]) // 2 + 64)

    def apply(self, row, info, output):
        text = _end_at_answer(_tidy(output), info["answer_line"], row.lang)
        return _replace_reply(row, text), text

    def verify(self, row, info, output):
        why = _check_answer(output, info, row.lang, info.get("truncated", False))
        if (
            why is None
            and info["reasoning"]
            and len(_before_answer(output, row.lang)) < MIN_REASONING_CHARS
        ):
            return "llm_no_reasoning"
        return why


def _before_answer(output: str, lang: str) -> str:
    matches = list(ANSWER_LINE.get(lang, ANSWER_LINE["en"]).finditer(output))
    return output[: matches[-1].start()].strip() if matches else output.strip()


class PersonaMode(Mode):
    name = "persona"

    def info(self, row: Row) -> dict[str, Any] | None:
        parts = _reply_parts(row)
        if parts is None or (
            parts["answer_line"] is None and parts["gold"].strip() not in parts["reply"]
        ):
            return None  # nothing in the reply that the rewrite must carry over
        return parts

    def apply(self, row, info, output):
        text = _tidy(output)
        if info["answer_line"] is not None:
            text = _end_at_answer(text, info["answer_line"], row.lang)
        return _replace_reply(row, text), text

    def verify(self, row, info, output):
        if info["answer_line"] is not None:
            return _check_answer(output, info, row.lang, info.get("truncated", False))
        # No `Answer:` line in the render: the exact output must come through verbatim.
        if info["gold"].strip() not in output:
            return "llm_truncated" if info.get("truncated") else "llm_answer_missing"
        return None


class ParaphraseMode(Mode):
    name = "paraphrase"
    LENGTH = (0.5, 2.0)  # output length / source length

    def info(self, row: Row) -> dict[str, Any] | None:
        if row.messages:
            u = _last(row.messages, "user")
            if u is None:
                return None
            source, line = row.messages[u]["content"], None
        else:
            source = row.text
            m = _answer_line(source, row.lang) if row.answer is not None else None
            line = m.group(0).strip() if m else None
            if row.answer is not None and line is None:
                return None  # a document whose answer we could not find again
        names = _names(row, source)
        if not names:
            return None  # nothing to verify against: keep the render
        return {
            "source": source,
            "names": names,
            "answer_line": line,
            "gold": _gold(row),
            "shape": "chat" if row.messages else "document",
            "negations": min(len(_NEGATION.findall(source)), _negated_atoms(row)),
        }

    def max_tokens(self, info, sampling):
        # A rewrite is about as long as its source (≈4 characters a token), plus slack.
        return max(sampling.max_tokens, len(info["source"]) // 2)

    def apply(self, row, info, output):
        text = _tidy(output)
        if info["answer_line"] is not None:
            text = _end_at_answer(text, info["answer_line"], row.lang)
        if row.messages:
            messages = [dict(m) for m in row.messages]
            messages[_last(messages, "user")]["content"] = text
            return messages, text
        return None, text

    def verify(self, row, info, output):
        if info.get("truncated"):
            return "llm_truncated"
        low = output.casefold()
        if any(n.casefold() not in low for n in info["names"]):
            return "llm_names_lost"
        if len(_NEGATION.findall(output)) < info["negations"]:
            return "llm_negation_lost"
        ratio = len(output) / max(1, len(info["source"]))
        if not self.LENGTH[0] <= ratio <= self.LENGTH[1]:
            return "llm_length_changed"
        if info["answer_line"] is not None:
            return _check_answer(output, info, row.lang, False)
        if info["shape"] == "chat" and stated_answer(output, row.lang) is not None:
            return "llm_answered"  # asked to reword the question, it answered it
        return None


MODE_CLASSES: dict[str, type[Mode]] = {m.name: m for m in (AnswerMode, ParaphraseMode, PersonaMode)}


# -- prompt templates ----------------------------------------------------------------------

PROMPT_BLOCKS = ("system", "example_user", "example_assistant", "user")


class Prompts:
    """Renders `<lang>/_realise/_<mode>.j2` (English when the language has none) in the
    template sandbox, under the same limits as an item. Blocks `system`, `example_user`,
    `example_assistant` and `user` become the request's messages; empty blocks are left out."""

    def __init__(self, library: Any = None):
        if library is None:
            from synth.templating import TemplateLibrary

            library = TemplateLibrary([], builtin=True)
        self.lib = library

    def render(self, mode: str, row: Row, info: dict[str, Any]) -> list[dict[str, str]]:
        from synth.templating.helpers import item_globals

        rng = rng_for(row.seed, "realise", mode)
        variables = {
            **info,
            **item_globals(rng),
            "lang": row.lang,
            "kind": row.kind,
            "template": row.template,
        }
        names = [f"{row.lang}/_realise/_{mode}.j2", f"en/_realise/_{mode}.j2"]
        found = self.lib.render_blocks(names, variables, PROMPT_BLOCKS)
        if found is None:
            raise UserError(
                f"realise: no prompt template {row.lang}/_realise/_{mode}.j2 in the template packs"
            )
        filename, captured = found
        if not captured.get("user", "").strip():
            raise UserError(f"{filename}: a realise prompt template needs a non-empty block 'user'")
        roles = {
            "system": "system",
            "example_user": "user",
            "example_assistant": "assistant",
            "user": "user",
        }
        return [
            {"role": roles[b], "content": _tidy(captured[b])}
            for b in PROMPT_BLOCKS
            if captured.get(b, "").strip()
        ]


# -- the realiser --------------------------------------------------------------------------


@dataclass
class RealiseConfig:
    default: str = ""  # mode for templates whose front matter names none ("" keeps the render)
    templates: dict[str, str] = field(default_factory=dict)  # per-template modes (tier config)
    sampling: Sampling = field(default_factory=Sampling)
    retries: int = 3  # new attempts, each with a new seed, after a failed verification
    max_failures: int = 200  # rows failing in a row before the run stops
    constrain: bool = False  # answer mode: ask the engine to force the final `Answer:` line


class Realiser:
    def __init__(
        self, engine: Engine, cache: ResponseCache, prompts: Prompts, config: RealiseConfig
    ):
        self.engine = engine
        self.cache = cache
        self.prompts = prompts
        self.config = config
        self.modes = {name: cls() for name, cls in MODE_CLASSES.items()}
        self.realised = self.retries = self.failed = 0
        self.asked = self.answered = 0  # requests made (cached or not), replies verified
        self.rejected: dict[str, int] = {}  # rows rejected after their last attempt, by reason
        self.failing_streak = 0
        self.on_progress: Callable[[], None] | None = None
        self.on_verdict: Callable[[Row, str | None], None] | None = None
        self.trace = False  # keep the prompt and every attempt in row.meta[TRACE]
        self._last_progress = 0.0
        self._reporting = threading.Lock()  # one report at a time (see complete_cached)
        self._warned = False

    # which rows, and how

    def mode_of(self, row: Row) -> str:
        if REJECTED in row.meta:
            return ""
        if "realise" in row.meta:  # an explicit per-row choice (e.g. eval probes: "")
            return row.meta["realise"] or ""
        spec_mode = self._spec_mode(row)
        if spec_mode is not None:
            return spec_mode
        return self.config.templates.get(row.template, self.config.default)

    def _spec_mode(self, row: Row) -> str | None:
        try:
            spec = self.prompts.lib.spec(row.template, row.lang)
        except UserError:
            return None
        if not spec.realise:
            return None
        return parse_realise(spec.realise, f"{spec.path}: realise")[0]

    def _job(self, row: Row) -> Job | None:
        name = self.mode_of(row)
        if not name:
            return None
        mode = self.modes[name]
        info = mode.info(row)
        if info is None:
            return None
        sampling = replace(
            self.config.sampling, max_tokens=mode.max_tokens(info, self.config.sampling)
        )
        return Job(row, mode, self.prompts.render(name, row, info), info, sampling)

    def _request(self, job: Job) -> Request:
        seed = derive_seed(job.row.seed, job.mode.name, job.attempts) & 0x7FFFFFFF
        regex = None
        if self.config.constrain and job.mode.name == "answer" and job.info["options"]:
            regex = r"[\s\S]{1,4000}\n\nAnswer: (" + "|".join(job.info["options"]) + r")\n?"
        return Request(messages=job.prompt, sampling=replace(job.sampling, seed=seed), regex=regex)

    # the loop

    def realise(self, rows: list[Row]) -> list[Row]:
        jobs = [j for j in (self._job(r) for r in rows) if j is not None]
        if not jobs:
            self._warn_idle(rows)
            return rows
        pending = jobs
        last = self.config.retries
        for attempt in range(last + 1):
            if not pending:
                break
            if attempt:
                self.retries += len(pending)
            requests = [self._request(j) for j in pending]
            self.asked += len(requests)

            def arrived(i: int, c: Completion, jobs=pending, requests=requests, attempt=attempt):
                job = jobs[i]
                self.answered += 1
                if self._take(job, requests[i], c) or attempt == last:
                    self._settle(job)

            self._complete(requests, arrived)
            pending = [j for j in pending if j.reason is not None]
        for j in jobs:
            self._finish(j)
        return rows

    def _take(self, job: Job, request: Request, c: Completion) -> bool:
        """Try one output; True when it passed verification."""
        job.attempts += 1
        if self.trace:
            job.row.meta.setdefault(TRACE, {"prompt": job.prompt, "attempts": []})
        if c.error is not None:
            job.reason = "llm_error"
            self._traced(job, c.error)
            return False
        output = c.text.strip()
        if not output:
            job.reason = "llm_empty"
            self._traced(job, "")
            return False
        info = {**job.info, "truncated": c.finish_reason == "length"}
        job.reason = job.mode.verify(job.row, info, output)
        if job.reason is None and not _format_ok(output, request):
            job.reason = "llm_format"
        # A verified reply ends in the render's own `Answer:` line; a failed one is kept
        # as the model wrote it (what the rejected examples show).
        shown = info if job.reason is None else {**info, "answer_line": None}
        job.candidate = job.mode.apply(job.row, shown, output)
        self._traced(job, output)
        return job.reason is None

    def _traced(self, job: Job, output: str) -> None:
        if self.trace:
            job.row.meta[TRACE]["attempts"].append({"reply": output, "verdict": job.reason})

    def _settle(self, job: Job) -> None:
        """A row's last word (verified, or its last attempt failed): into the row and the
        counters, as soon as it is known."""
        row = job.row
        if job.candidate is not None:
            row.messages, text = job.candidate
            if row.messages is None:
                row.text = text
        row.meta[REALISED_BY] = job.mode.name
        if job.reason is None:
            self.realised += 1
        else:
            row.meta[REJECTED] = job.reason
            self.failed += 1
            self.rejected[job.reason] = self.rejected.get(job.reason, 0) + 1
        if self.on_verdict is not None:
            self.on_verdict(row, job.reason)

    def _finish(self, job: Job) -> None:
        """The run of failures, counted in the rows' order (not the replies')."""
        if job.reason is None:
            self.failing_streak = 0
            return
        row = job.row
        self.failing_streak += 1
        if self.failing_streak >= self.config.max_failures:
            sample = (job.candidate[1] if job.candidate else "")[:200]
            raise RunStopped(
                f"the model failed verification on {self.failing_streak} samples in a row "
                f"(last: {row.id}: {job.reason}: {sample!r}); check --model and --realise "
                f"{job.mode.name} (complete shards and cached responses are kept)"
            )

    def _complete(
        self, requests: list[Request], arrived: Callable[[int, Completion], None]
    ) -> list[Completion]:
        return complete_cached(self.engine, self.cache, requests, self._progress, arrived)

    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.on_progress is None or not (force or now - self._last_progress >= PROGRESS_EVERY):
            return
        if not self._reporting.acquire(blocking=False):
            return  # the other thread is reporting right now
        try:
            self._last_progress = now
            self.on_progress()
        finally:
            self._reporting.release()

    def _warn_idle(self, rows: list[Row]) -> None:
        if self._warned or not rows or any(REJECTED in r.meta or "realise" in r.meta for r in rows):
            return
        self._warned = True
        print(
            f"synth: note: --backend {self.engine.name}: no sample here has a realisation mode "
            "(template front matter `realise:`, the tier's `realise:` or --realise): samples keep their render",
            file=sys.stderr,
        )


def complete_cached(
    engine: Engine,
    cache: ResponseCache,
    requests: list[Request],
    progress: Callable[..., None] | None = None,
    arrived: Callable[[int, Completion], None] | None = None,
) -> list[Completion]:
    """Cached responses, and the engine's for the rest, in batches of the engine's
    `batch_size`; each response is cached as it arrives. `arrived(i, completion)` is
    called once per request: at once for cache hits, then as the engine answers."""
    prepare = getattr(engine, "prepare", None)
    if prepare is not None:
        prepare()  # e.g. learn the served model's name: part of every cache key
    keys = [r.cache_key(engine.name, engine.model) for r in requests]
    hits = cache.get_many(keys)
    out: list[Completion | None] = [hits.get(k) for k in keys]
    engine.counters.cached_hits += sum(1 for c in out if c is not None)
    if arrived is not None:
        for i, c in enumerate(out):
            if c is not None:
                arrived(i, c)
        if progress is not None and len(hits):
            progress(force=True)
    misses = [i for i, c in enumerate(out) if c is None]
    step = max(1, engine.batch_size)
    for start in range(0, len(misses), step):
        chunk = misses[start : start + step]
        told: set[int] = set()

        def done(j: int, c: Completion, chunk: list[int] = chunk, told: set[int] = told) -> None:
            cache.put(keys[chunk[j]], c)
            if arrived is not None and j not in told:
                told.add(j)
                arrived(chunk[j], c)
            if progress is not None:
                progress()

        try:
            with _ticking(progress):
                got = engine.generate([requests[i] for i in chunk], on_done=done)
            for j, (i, c) in enumerate(zip(chunk, got)):
                out[i] = c
                if arrived is not None and j not in told:  # an engine that did not call back
                    told.add(j)
                    arrived(i, c)
        finally:
            cache.commit()  # also when the engine stops the run: what arrived is kept
        if progress is not None:
            progress(force=True)
    return [c for c in out if c is not None]


@contextmanager
def _ticking(progress: Callable[..., None] | None) -> Iterator[None]:
    """While an engine works on a batch, report progress every PROGRESS_EVERY seconds
    from a helper thread, so the line shows requests in flight and tokens generated
    even when no request has finished yet (a CPU batch takes minutes; vLLM answers a
    whole batch at once)."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(PROGRESS_EVERY):
            try:
                progress()
            except Exception:  # noqa: BLE001 - a progress line must never stop a run
                return

    t = threading.Thread(target=tick, name="synth-progress", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()


def _format_ok(output: str, request: Request) -> bool:
    """Structured output asked for is structured output received (engines that cannot
    constrain decoding are checked here; the others are checked again for free)."""
    schema, regex = request.json_schema, request.regex
    text = output.strip()
    if regex is not None and not (re.fullmatch(regex, text) or re.fullmatch(regex, text + "\n")):
        return False
    if schema is not None:
        try:
            value = json.loads(output)
        except json.JSONDecodeError:
            return False
        if schema.get("type") == "object":
            return isinstance(value, dict) and all(k in value for k in schema.get("required", []))
    return True


# -- the backend -------------------------------------------------------------------------

COMMON_OPTIONS = {
    "model",
    "library",
    "cache",
    "realise",
    "sampling",
    "retries",
    "max_failures",
    "constrain",
    "batch_size",
    # sampling keys may also come flat (`--llm-option temperature=0.2`)
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
}
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "stop")


class LLMBackend:
    """An engine behind the shared realisation pipeline. Counters for the progress line
    and the manifest: `requests`, `in_flight`, `generated_tokens`, `cached_hits`."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        cache: ResponseCache,
        prompts: Prompts,
        config: RealiseConfig,
    ):
        self.name = name
        self.engine = engine
        self.model: str | None = engine.model
        self.realiser = Realiser(engine, cache, prompts, config)
        self.cache = cache
        self.on_progress: Callable[[dict[str, Any]], None] | None = None
        self.realiser.on_progress = self._report

    @classmethod
    def from_options(cls, name: str, options: dict[str, Any]) -> LLMBackend:
        opts = dict(options)
        engine_cls = _engine_class(name)
        known = COMMON_OPTIONS | set(engine_cls.OPTIONS)
        for key in opts:
            if key not in known:
                raise UserError(
                    f"--llm-option {key}: unknown option for --backend {name} (known: {', '.join(sorted(known - {'library'}))})"
                )
        sampling = dict(opts.pop("sampling", None) or {})
        for k in SAMPLING_KEYS:
            if k in opts:
                sampling[k] = opts.pop(k)
        default, per_template = parse_realise(opts.pop("realise", None))
        config = RealiseConfig(
            default=default,
            templates=per_template,
            sampling=Sampling.from_options(sampling),
            retries=_int(opts.pop("retries", 3), "retries", 0),
            max_failures=_int(opts.pop("max_failures", 200), "max_failures", 1),
            constrain=bool(opts.pop("constrain", False)),
        )
        prompts = Prompts(opts.pop("library", None))
        cache = ResponseCache(opts.pop("cache", None))
        engine = engine_cls.from_options(opts)
        return cls(name, engine, cache, prompts, config)

    def realise(self, rows: list[Row]) -> list[Row]:
        return self.realiser.realise(rows)

    # counters

    @property
    def counters(self) -> Counters:
        return self.engine.counters

    @property
    def requests(self) -> int:
        return self.engine.counters.requests

    @property
    def in_flight(self) -> int:
        return self.engine.counters.in_flight

    @property
    def generated_tokens(self) -> int:
        return self.engine.counters.generated_tokens

    @property
    def cached_hits(self) -> int:
        return self.engine.counters.cached_hits

    @property
    def on_verdict(self) -> Callable[[Row, str | None], None] | None:
        """Called with each row as soon as it is verified (reason None) or rejected."""
        return self.realiser.on_verdict

    @on_verdict.setter
    def on_verdict(self, fn: Callable[[Row, str | None], None] | None) -> None:
        self.realiser.on_verdict = fn

    def stats(self) -> dict[str, Any]:
        r = self.realiser
        return {
            **self.engine.counters.to_dict(),
            "asked": r.asked,
            "realised": r.realised,
            "retries": r.retries,
            "failed": r.failed,
            **{f"{REJECTED_PREFIX}{k}": v for k, v in r.rejected.items()},
        }

    def progress(self) -> dict[str, Any]:
        """What the progress line shows: requests sent, in flight and answered, rows kept
        and rejected by reason, generated tokens and tokens/s, seconds per answer."""
        c = self.engine.counters
        r = self.realiser
        busy = getattr(self.engine, "busy_seconds", lambda: c.engine_seconds)()
        served = r.answered - c.cached_hits  # answers the engine gave (not the cache)
        # an engine that counts tokens while a batch runs (hf) says so in `live_tokens`
        generated = c.generated_tokens + getattr(self.engine, "live_tokens", 0)
        return {
            "tokens_per_second": generated / busy if busy > 0 else 0.0,
            "generated_tokens": generated,
            "in_flight": c.in_flight,
            "requests": c.requests,
            "cached_hits": c.cached_hits,
            "answered": r.answered,
            "kept": r.realised,
            "rejected": dict(r.rejected),
            "seconds_per_answer": busy / served if served > 0 else None,
        }

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())


REJECTED_PREFIX = "rejected:"  # counters: rows rejected after their last attempt, by reason


def progress_text(
    p: dict[str, Any],
    rows: int | None = None,
    tokens: int | None = None,
    budget: int | None = None,
) -> str:
    """The LLM part of the progress line, e.g. `llm 24 sent, 1 in flight, 23 answered
    (4 cached) | 3 rows kept, 4 verified, rejected 9 (answer_wrong 6, truncated 3) |
    2.1K tok at 19 tok/s | ETA 2m50s`. `rows`, `tokens`: what the run holds so far
    (its rows count as they are accepted); with `budget` they give the ETA."""
    from synth.units import human

    out = f"llm {p['requests']:,} sent, {p['in_flight']} in flight, {p['answered']:,} answered"
    if p["cached_hits"]:
        out += f" ({p['cached_hits']:,} cached)"
    rejected = p.get("rejected") or {}
    out += " | "
    if rows is not None:
        out += f"{rows:,} row{'' if rows == 1 else 's'} kept, "
    out += f"{p['kept']:,} verified, rejected {sum(rejected.values()):,}"
    if rejected:
        top = sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        out += " (" + ", ".join(f"{k.removeprefix('llm_')} {v:,}" for k, v in top) + ")"
    out += f" | {human(p['generated_tokens'])} tok at {p['tokens_per_second']:.0f} tok/s"
    if rows is not None and tokens is not None and budget is not None:
        eta = llm_eta(p, rows, budget - tokens, tokens / rows if rows else None)
        if eta is not None:
            out += f" | ETA {_duration(eta)}"
    return out


def llm_eta(p: dict[str, Any], rows: int, left: int, row_tokens: float | None) -> float | None:
    """Seconds until `left` more tokens are kept, from the acceptance so far: the rows
    `left` needs (at `row_tokens` a row) / the `rows` kept per answer so far x the
    seconds an answer takes. None until a row is kept."""
    if not rows or not row_tokens or not p["answered"] or p["seconds_per_answer"] is None:
        return None
    if left <= 0:
        return 0.0
    return left / row_tokens / (rows / p["answered"]) * p["seconds_per_answer"]


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _int(v: Any, name: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise UserError(f"--llm-option {name}: must be an integer >= {lo}, got {v!r}")
    return v


def engine_for(name: str, options: dict[str, Any]) -> Engine:
    """An engine alone (no realiser), e.g. for `synth eval`; unknown options are errors."""
    if name not in ENGINES:
        raise UserError(f"--backend: unknown backend {name!r}; available: {', '.join(ENGINES)}")
    cls = _engine_class(name)
    opts = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(opts) - set(cls.OPTIONS) - {"model"})
    if unknown:
        known = ", ".join(sorted(cls.OPTIONS))
        raise UserError(
            f"--llm-option {unknown[0]}: unknown option for --backend {name} (known: {known})"
        )
    return cls.from_options(opts)


def _engine_class(name: str):
    if name == "hf":
        need_extra("hf", "torch", "transformers")
        from synth.backends.hf import HFEngine

        return HFEngine
    if name == "openai":
        need_extra("openai", "openai")
        from synth.backends.openai_compat import OpenAIEngine

        return OpenAIEngine
    if name == "vllm":
        need_extra("vllm", "vllm")
        from synth.backends.vllm import VLLMEngine

        return VLLMEngine
    raise UserError(f"--backend: unknown backend {name!r}")
