"""The `openai` engine: any OpenAI-compatible server (vLLM's `vllm serve`, llama.cpp,
SGLang, TGI, the OpenAI API) through the official `openai` client, async.

- Concurrency adapts (AIMD): the limit halves on 429, 5xx and timeouts (at most once per
  cooldown, so one burst of errors counts once), and grows by one per window of
  successes while per-token latency stays within `latency_slack` of the best seen.
- Transport failures are retried with exponential backoff and jitter; a request that
  still fails stops the run: RunStopped if the server had answered before (responses so
  far are cached: re-run to resume), UserError if it never did (a wrong --base-url, a
  server that is not running).
- A 429 (or 503) pauses every request, not only the one that got it: the server's
  Retry-After (or the backoff) sets a time before which no request is sent, so a server
  that asks for one second gets one request a second, whatever the concurrency.
- A server that accepts connections and never answers is stopped in bounded time: when
  requests fail and nothing has succeeded for `timeout × (max_retries + 1)` seconds plus
  the backoffs, the run stops (however many requests are still waiting their turn).
- An answer that is not the API's shape (malformed JSON, no `choices`) is retried like a
  server error and counted (`bad_responses`); if it stays malformed the sample is
  rejected with the reason, never a crash.
- The API key comes from the environment variable named by `api_key_env` (default
  OPENAI_API_KEY; local servers need none). It is never logged nor put in the manifest.
- Structured output (`structured` option): `openai` (response_format json_schema; no
  regex), `vllm` (extra_body structured_outputs: json or regex), `llama_cpp`
  (response_format json_object with a schema), or `none` (checked afterwards only).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from synth.backends.base import Completion, Counters, OnDone, Request
from synth.errors import RunStopped, UserError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
STRUCTURED_STYLES = ("openai", "vllm", "llama_cpp", "none")


class AIMD:
    """An adaptive concurrency limit: additive increase while latency holds,
    multiplicative decrease on overload. Lives across batches (the engine keeps it)."""

    def __init__(
        self, start: int = 8, lo: int = 1, hi: int = 256, slack: float = 2.0, cooldown: float = 1.0
    ):
        self.limit = float(max(lo, min(start, hi)))
        self.lo, self.hi, self.slack, self.cooldown = lo, hi, slack, cooldown
        self.best: float | None = None  # best seconds per generated token seen
        self._last_cut = -1e9

    @property
    def allowed(self) -> int:
        return max(self.lo, int(self.limit))

    def ok(self, seconds: float, tokens: int) -> None:
        per_token = seconds / max(1, tokens)
        if self.best is None or per_token < self.best:
            self.best = per_token
        if per_token <= self.slack * self.best:
            # +1/limit per success: the limit grows by one per window of `limit` successes
            self.limit = min(self.hi, self.limit + 1.0 / self.limit)

    def overloaded(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= self.cooldown:
            self.limit = max(float(self.lo), self.limit / 2)
            self._last_cut = now


class _Gate:
    """Admits at most `aimd.allowed` requests at once (re-read on every admission)."""

    def __init__(self, aimd: AIMD, counters: Counters):
        self.aimd, self.counters = aimd, counters
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.counters.in_flight < self.aimd.allowed)
            self.counters.in_flight += 1

    async def __aexit__(self, *exc: Any) -> None:
        async with self._cond:
            self.counters.in_flight -= 1
            self._cond.notify_all()


class OpenAIEngine:
    name = "openai"
    OPTIONS = (
        "base_url",
        "api_key_env",
        "concurrency",
        "max_concurrency",
        "timeout",
        "max_retries",
        "retry_base",
        "retry_cap",
        "latency_slack",
        "structured",
        "batch_size",
    )

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 8,
        max_concurrency: int = 128,
        timeout: float = 300.0,
        max_retries: int = 6,
        retry_base: float = 0.5,
        retry_cap: float = 30.0,
        latency_slack: float = 2.0,
        structured: str = "openai",
        batch_size: int = 256,
    ):
        if structured not in STRUCTURED_STYLES:
            raise UserError(
                f"--llm-option structured: choose one of {', '.join(STRUCTURED_STYLES)}"
            )
        key_env = api_key_env or DEFAULT_KEY_ENV
        key = os.environ.get(key_env)
        if key is None and api_key_env:
            raise UserError(f"--api-key-env {api_key_env}: that environment variable is not set")
        self._key = key or "EMPTY"  # local servers take any key; never logged
        self.key_env = key_env
        self.base_url = base_url
        self.model = model or ""
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.retry_base, self.retry_cap = float(retry_base), float(retry_cap)
        self.structured = structured
        self.batch_size = int(batch_size)
        self.counters = Counters()
        self.aimd = AIMD(int(concurrency), 1, int(max_concurrency), float(latency_slack))
        self._ever_ok = False
        self._busy_since: float | None = None
        self._not_before = 0.0  # monotonic time before which no request is sent (429s)
        self._last_ok = time.monotonic()  # the last answer, or when the engine was made
        # Nothing answered for this long while requests fail: the server is stuck.
        self.stall_seconds = self.timeout * (self.max_retries + 1) + sum(
            min(self.retry_cap, self.retry_base * 2**a) * 1.5 for a in range(self.max_retries)
        )

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> OpenAIEngine:
        return cls(**opts)

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    # -- public -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Ask the server for its model when --model was not given."""
        if not self.model:
            self.model = _run_async(self._with_client(self._server_model))

    def generate(
        self, requests: Sequence[Request], on_done: OnDone | None = None
    ) -> list[Completion]:
        t0 = self._busy_since = time.perf_counter()
        try:
            return _run_async(self._generate(list(requests), on_done))
        finally:
            self._busy_since = None
            self.counters.engine_seconds += time.perf_counter() - t0

    def busy_seconds(self) -> float:
        live = time.perf_counter() - self._busy_since if self._busy_since is not None else 0.0
        return self.counters.engine_seconds + live

    # -- async --------------------------------------------------------------------------

    async def _generate(self, requests: list[Request], on_done: OnDone | None) -> list[Completion]:
        client = self._client()
        try:
            if not self.model:
                self.model = await self._server_model(client)
            gate = _Gate(self.aimd, self.counters)
            out: list[Completion | None] = [None] * len(requests)

            async def one(i: int) -> None:
                out[i] = await self._with_retries(client, gate, requests[i])
                if on_done is not None:
                    on_done(i, out[i])

            await asyncio.gather(*(one(i) for i in range(len(requests))))
            return [c for c in out if c is not None]
        finally:
            await client.close()

    def _client(self) -> Any:
        import openai

        return openai.AsyncOpenAI(
            api_key=self._key, base_url=self.base_url, timeout=self.timeout, max_retries=0
        )

    async def _with_client(self, fn: Any) -> Any:
        client = self._client()
        try:
            return await fn(client)
        finally:
            await client.close()

    async def _server_model(self, client: Any) -> str:
        """The server's model when --model is not given (a server that serves one)."""
        try:
            models = [m.id async for m in client.models.list()]
        except Exception as e:  # noqa: BLE001 - any failure here means: tell the user
            raise UserError(
                f"--base-url {self.where}: cannot list the server's models ({_short(e)}); pass --model"
            ) from None
        if not models:
            raise UserError(f"--base-url {self.where}: the server lists no model; pass --model")
        return models[0]

    async def _with_retries(self, client: Any, gate: _Gate, req: Request) -> Completion:
        import openai

        bad_response = _bad_response_types()
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.counters.transport_retries += 1
                await asyncio.sleep(self._backoff(attempt, last))
            async with gate:
                while (wait := self._not_before - time.monotonic()) > 0:
                    await asyncio.sleep(wait)  # a 429 paused every request
                t0 = time.monotonic()
                self.counters.requests += 1
                try:
                    c = await self._call(client, req)
                except (
                    openai.RateLimitError,
                    openai.InternalServerError,
                    openai.APITimeoutError,
                ) as e:
                    self.aimd.overloaded()
                    last = e
                    if getattr(e, "status_code", None) in (429, 503):
                        pause = _retry_after(e) or self._backoff(attempt + 1, None)
                        self._not_before = max(self._not_before, time.monotonic() + pause)
                    self._check_stall(e)
                    continue
                except openai.APIConnectionError as e:
                    last = e
                    if not self._ever_ok and attempt >= min(2, self.max_retries):
                        raise UserError(
                            f"--base-url {self.where}: cannot reach the server ({_short(e)}); is it running?"
                        ) from None
                    self.aimd.overloaded()
                    self._check_stall(e)
                    continue
                except openai.AuthenticationError:
                    raise UserError(
                        f"{self.where} refused the API key from ${self.key_env} (401)"
                    ) from None
                except openai.NotFoundError as e:
                    raise UserError(
                        f"{self.where}: not found (404: {_short(e)}); check --model {self.model!r} and --base-url"
                    ) from None
                except openai.APIStatusError as e:  # 400, 413, 422...: this request, not the server
                    return Completion("", error=f"{e.status_code}: {_short(e)}")
                except bad_response as e:  # a 200 whose body is not the API's shape
                    self.counters.bad_responses += 1
                    last = e
                    if attempt == self.max_retries:
                        return Completion("", error=f"malformed response: {_short(e)}")
                    continue
                self._ever_ok = True
                self._last_ok = time.monotonic()
                self.aimd.ok(time.monotonic() - t0, c.completion_tokens)
                self.counters.generated_tokens += c.completion_tokens
                self.counters.prompt_tokens += c.prompt_tokens
                return c
        raise RunStopped(
            f"{self.where} failed {self.max_retries + 1} times in a row ({_short(last)}); "
            "complete shards and the responses received so far are kept: re-run the same command to resume"
        )

    def _check_stall(self, err: Exception) -> None:
        """Stop when nothing has answered for `stall_seconds` (see the module)."""
        quiet = time.monotonic() - self._last_ok
        if quiet <= self.stall_seconds:
            return
        what = (
            f"no answer from the server in {quiet:.0f} s ({_short(err)}; timeout {self.timeout:g} s,"
            f" {self.max_retries + 1} tries)"
        )
        if not self._ever_ok:
            raise UserError(
                f"--base-url {self.where}: {what}; is it overloaded or stuck? (--llm-option timeout=...)"
            )
        raise RunStopped(
            f"{self.where}: {what}; the responses received so far are kept: re-run the same command to resume"
        )

    def _backoff(self, attempt: int, err: Exception | None) -> float:
        retry_after = _retry_after(err)
        delay = min(self.retry_cap, self.retry_base * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.5)  # jitter: clients that failed together retry apart
        return max(delay, retry_after or 0.0)

    async def _call(self, client: Any, req: Request) -> Completion:
        s = req.sampling
        kwargs: dict[str, Any] = {
            "model": self.model,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            **({"seed": s.seed} if s.seed is not None else {}),
            **({"stop": list(s.stop)} if s.stop else {}),
            **self._structured(req),
        }
        if req.messages is not None:
            r = await client.chat.completions.create(messages=req.messages, **kwargs)
            choice = _first_choice(r)
            text = choice.message.content or ""
        else:
            r = await client.completions.create(prompt=req.prompt or "", **kwargs)
            choice = _first_choice(r)
            text = choice.text or ""
        if not isinstance(text, str):
            raise _Malformed(f"the text is a {type(text).__name__}")
        usage = getattr(r, "usage", None)
        return Completion(
            text,
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
            choice.finish_reason,
        )

    def _structured(self, req: Request) -> dict[str, Any]:
        if (req.json_schema is None and req.regex is None) or self.structured == "none":
            return {}
        if self.structured == "vllm":
            spec = (
                {"json": req.json_schema} if req.json_schema is not None else {"regex": req.regex}
            )
            return {"extra_body": {"structured_outputs": spec}}
        if req.regex is not None:
            raise UserError(
                f"--llm-option structured={self.structured}: a regex constraint needs structured=vllm (or none)"
            )
        if self.structured == "llama_cpp":
            return {"response_format": {"type": "json_object", "schema": req.json_schema}}
        schema = {"name": "output", "schema": req.json_schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}


class _Malformed(ValueError):
    """A 200 answer that is not what the API returns."""


def _bad_response_types() -> tuple[type[BaseException], ...]:
    """What a malformed body raises, in the client or here: not JSON (the client's own
    validation error, or the JSON error itself), or JSON of another shape."""
    import json

    import openai

    return (
        openai.APIResponseValidationError,
        json.JSONDecodeError,
        _Malformed,
        TypeError,
        AttributeError,
        KeyError,
        IndexError,
    )


def _first_choice(r: Any) -> Any:
    choices = getattr(r, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise _Malformed("no choices in the answer")
    return choices[0]


def _retry_after(err: Exception | None) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), 120.0) if value is not None else None
    except ValueError:
        return None


def _short(e: Exception | None) -> str:
    text = " ".join(str(e or "").split())
    return text[:200] or type(e).__name__


def _run_async(coro: Any) -> Any:
    """asyncio.run, also from a thread that already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
