"""The backend interface, and the engine interface behind the LLM backends.

A *backend* turns a batch of rendered rows into final rows (`realise(rows) -> rows`).
`template` keeps the render. The LLM backends (`hf`, `openai`, `vllm`) share one
pipeline (synth.backends.realise: prompts, batching, cache, retries, verification) and
differ only in their *engine*: a batch of `Request`s in, one `Completion` per request
out, with token usage. Heavy dependencies are imported by the engine modules only, so
`synth` runs without them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

from synth.errors import UserError
from synth.row import Row

ENGINES = ("hf", "openai", "vllm")
EXTRAS = {"hf": "hf", "openai": "openai", "vllm": "vllm"}


class Backend(Protocol):
    name: str
    model: str | None

    def realise(self, rows: list[Row]) -> list[Row]:
        """Return the rows, realised; may rewrite `messages`/`text`. A row the backend
        could not realise is kept in place with `meta["realise_rejected"]` set."""
        ...


class TemplateBackend:
    """The render is the sample."""

    name = "template"
    model = None

    def realise(self, rows: list[Row]) -> list[Row]:
        return rows


# -- requests and completions ----------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters every engine understands (the tier's `llm.sampling`)."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, opts: dict[str, Any] | None, where: str = "llm.sampling") -> Sampling:
        opts = dict(opts or {})
        known = {f.name for f in fields(cls)}
        for key in opts:
            if key not in known:
                raise UserError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if "stop" in opts:
            stop = opts["stop"]
            opts["stop"] = (stop,) if isinstance(stop, str) else tuple(stop or ())
        try:
            s = cls(**opts)
            float(s.temperature), float(s.top_p), int(s.max_tokens)
        except (TypeError, ValueError) as e:
            raise UserError(f"{where}: {e}") from None
        if s.max_tokens < 1 or not 0 < s.top_p <= 1 or s.temperature < 0:
            raise UserError(f"{where}: need max_tokens >= 1, 0 < top_p <= 1, temperature >= 0")
        return s


@dataclass
class Request:
    """One generation: chat `messages` or a raw `prompt`, and how to sample it. An
    optional `json_schema` or `regex` asks the engine for structured output (engines
    that cannot constrain decoding ignore it; the realiser checks the output anyway)."""

    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    json_schema: dict[str, Any] | None = None
    regex: str | None = None

    def cache_key(self, engine: str, model: str) -> str:
        """A hash of everything that changes the response."""
        payload = {
            "engine": engine,
            "model": model,
            "messages": self.messages,
            "prompt": self.prompt,
            "sampling": asdict(self.sampling),
            "json_schema": self.json_schema,
            "regex": self.regex,
        }
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "stop", "length", ...
    error: str | None = None  # this request failed for good (never cached)
    cached: bool = False


OnDone = Callable[[int, Completion], None]


class Engine(Protocol):
    """Generates text. `generate` returns one Completion per request, in order, and
    calls `on_done(index, completion)` as each finishes (so the caller can cache it at
    once). Transport failures are retried inside; an engine that cannot go on raises
    RunStopped (or UserError when it never worked: a wrong URL, model or key)."""

    name: str
    model: str  # what identifies the model in cache keys
    batch_size: int  # requests the realiser hands over at a time
    counters: Counters

    def generate(
        self, requests: Sequence[Request], on_done: OnDone | None = None
    ) -> list[Completion]: ...


@dataclass
class Counters:
    """Throughput counters an engine and the realiser keep (see LLMBackend.stats)."""

    requests: int = 0  # requests sent to the engine (cache hits excluded)
    in_flight: int = 0  # requests being generated right now
    generated_tokens: int = 0
    prompt_tokens: int = 0
    cached_hits: int = 0
    transport_retries: int = 0  # 429/5xx/timeouts retried by the engine
    bad_responses: int = 0  # answers that were not the API's shape (malformed JSON, no choices)
    engine_seconds: float = 0.0  # wall time spent inside `generate`

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# -- counters across units and processes --------------------------------------------

COUNTER_KEYS = (
    "requests",
    "generated_tokens",
    "prompt_tokens",
    "cached_hits",
    "transport_retries",
    "bad_responses",
    "engine_seconds",
    "asked",
    "realised",
    "retries",
    "failed",
)


def counters_of(backend: Backend) -> dict[str, float]:
    """The backend's cumulative counters ({} for the template backend)."""
    stats = getattr(backend, "stats", None)
    if not callable(stats):
        return {}
    s = stats()
    # ...and the rows rejected by reason ("rejected:llm_answer_wrong": n)
    return {k: s.get(k, 0) for k in COUNTER_KEYS} | {
        k: v for k, v in s.items() if k.startswith("rejected:")
    }


def diff_counters(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def add_counters(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def llm_summary(totals: dict[str, float]) -> dict[str, Any]:
    """What the manifest says about the LLM: counts and generated tokens per second of
    engine time (for concurrent engines, wall time of the batches, not summed latency);
    the acceptance: rows verified per request asked (`asked`: every attempt, answered by
    the model or the cache) and the share of realised rows verified; and the rows
    rejected after their last attempt, by reason."""
    if not totals:
        return {}
    secs = float(totals.get("engine_seconds", 0.0))
    out: dict[str, Any] = {
        k: round(v, 3) if isinstance(v, float) else v
        for k, v in sorted(totals.items())
        if not k.startswith("rejected:")
    }
    gen = totals.get("generated_tokens", 0)
    out["generated_tokens_per_second"] = round(gen / secs, 1) if secs > 0 else None
    realised, failed, asked = (totals.get(k, 0) for k in ("realised", "failed", "asked"))
    out["acceptance"] = {
        "rows_per_request": round(realised / asked, 4) if asked else None,
        "rows_verified": round(realised / (realised + failed), 4) if realised + failed else None,
    }
    out["rejected"] = {
        k.removeprefix("rejected:"): v
        for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        if k.startswith("rejected:") and v
    }
    return out


def need_extra(backend: str, *modules: str) -> None:
    """A one-line UserError naming the extra when an optional dependency is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        extra = EXTRAS[backend]
        raise UserError(
            f"--backend {backend} needs {', '.join(missing)}: pip install 'synth[{extra}]'"
        )
