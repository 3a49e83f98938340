"""LLM backends without a real model: the realiser with a scripted engine, the response
cache, the AIMD limiter, and the `openai` engine against a tiny fake OpenAI-compatible
server on 127.0.0.1 that answers by seed, returns 429/500, stalls, or dies mid-run.

The end-to-end tests (`synth generate --backend openai ...`) check what a user relies
on: every kept row states the gold answer and re-derives from `formal`, rejections are
counted by reason in the manifest, a run whose server dies stops with a clear message
and resumes, and a killed run re-run does not ask the server again for what it had.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rederive import rederive

import synth
from synth.backends import get_backend
from synth.backends.base import Completion, Counters, Request, Sampling
from synth.backends.cache import ResponseCache
from synth.backends.options import backend_options, parse_llm_options
from synth.backends.realise import (
    REJECTED,
    LLMBackend,
    Prompts,
    RealiseConfig,
    RealiseFilter,
    parse_realise,
)
from synth.errors import RunStopped, UserError
from synth.families.base import Scope
from synth.generation import GenerateConfig
from synth.generation.resolve import make_producer

# The fake-server tests drive the `openai` engine: they need the openai client (the
# `openai` extra); the realiser, cache and AIMD tests do not.
needs_openai = pytest.mark.skipif(
    importlib.util.find_spec("openai") is None,
    reason="needs the openai client: pip install 'synth[openai]'",
)

OPTIONS = ("True", "False", "Unknown")


# -- a fake OpenAI-compatible server -------------------------------------------------------


class FakeServer:
    """Answers chat completions with `Answer: <True|False|Unknown>` picked by the
    request's seed (so a retry with a new seed may change the answer). `script` is a
    list of behaviours used one per request before normal service: "429" (with
    `retry_after`), "500", "stall" (sleeps past the client's timeout), "badjson" and
    "noshape" (a 200 that is not JSON, or not a completion). `die_after` closes the
    server after that many answered requests: later connections are refused."""

    def __init__(
        self,
        script=(),
        die_after: int | None = None,
        stall: float = 3.0,
        port: int = 0,
        retry_after: str = "0",
    ):
        self.script = list(script)
        self.retry_after = retry_after
        self.die_after = die_after
        self.stall = stall
        self.lock = threading.Lock()
        self.received: list[dict] = []  # every POST body that reached the server
        self.answered: list[str] = []  # request keys answered with 200
        self.headers: list[dict] = []
        self.dead = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            # one write per response, no Nagle: small responses are not held back 40 ms
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if self.path.endswith("/models"):
                    self._send(
                        200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
                    )
                else:
                    self._send(404, {"error": {"message": "no such path"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if server.dead.is_set():  # dying: drop the connection unanswered
                    self.close_connection = True
                    return
                with server.lock:
                    server.received.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    action = server.script.pop(0) if server.script else "ok"
                if action == "429":
                    return self._send(
                        429,
                        {"error": {"message": "slow down"}},
                        {"Retry-After": server.retry_after},
                    )
                if action == "badjson":  # a 200 whose body is not JSON
                    return self._send(200, None, raw=b"{this is not json")
                if action == "noshape":  # JSON, but not a completion
                    return self._send(200, {"unexpected": True})
                if action == "500":
                    return self._send(500, {"error": {"message": "boom"}})
                if action == "stall":
                    time.sleep(server.stall)
                    return self._send(500, {"error": {"message": "too late"}})
                seed = body.get("seed") or 0
                text = f"The statements settle it.\n\nAnswer: {OPTIONS[seed % 3]}"
                with server.lock:
                    if server.dead.is_set():
                        self.close_connection = True
                        return
                    server.answered.append(key_of(body))
                    if server.die_after is not None and len(server.answered) >= server.die_after:
                        server.dead.set()
                        threading.Thread(target=server.stop, daemon=True).start()
                self._send(200, _completion(text, body))

            def _send(self, code, payload, headers=None, raw=None):
                raw = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            request_queue_size = (
                256  # the default backlog of 5 drops concurrent connects (1 s SYN retry)
            )

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _completion(text: str, body: dict) -> dict:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake-model"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17},
    }


def key_of(body: dict) -> str:
    """What identifies a request: its messages and seed."""
    raw = json.dumps([body.get("messages"), body.get("seed")], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


# -- a scripted engine -----------------------------------------------------------------------


class ScriptEngine:
    """Replies with `reply(request)`; counts the requests it was asked."""

    name = "script"
    OPTIONS = ()

    def __init__(self, reply, model: str = "script-model", batch_size: int = 4):
        self.reply = reply
        self.model = model
        self.batch_size = batch_size
        self.counters = Counters()
        self.asked: list[Request] = []

    def generate(self, requests, on_done=None):
        out = []
        for i, r in enumerate(requests):
            self.asked.append(r)
            self.counters.requests += 1
            c = self.reply(r)
            c = c if isinstance(c, Completion) else Completion(c, 5, 5, "stop")
            self.counters.generated_tokens += c.completion_tokens
            out.append(c)
            if on_done:
                on_done(i, c)
        return out


@pytest.fixture(scope="module")
def producer():
    return make_producer(GenerateConfig(tier="structural", seed=0, progress=False))


def rows_of(producer, tids, start=0):
    return [producer.item(t, (0, start + i), 2, Scope(), 0)[0] for i, t in enumerate(tids)]


def backend_with(engine, producer, cache=None, **config) -> LLMBackend:
    return LLMBackend(
        "script",
        engine,
        cache if cache is not None else ResponseCache(None),
        Prompts(producer.lib),
        RealiseConfig(**config),
    )


def gold_reply(row) -> str:
    return f"Because of the statements, step by step.\n\nAnswer: {row.answer.capitalize()}"


# -- options and construction ------------------------------------------------------------------


def test_template_backend_and_unknown_names():
    assert get_backend("template").realise([]) == []
    with pytest.raises(UserError, match="unknown backend 'gpt'"):
        get_backend("gpt")


def test_missing_extra_is_one_line_naming_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "transformers" else real(n, *a)
    )
    with pytest.raises(UserError) as e:
        get_backend("hf", model="x")
    assert "pip install 'synth[hf]'" in str(e.value) and "\n" not in str(e.value)


@needs_openai
def test_options_are_checked():
    with pytest.raises(UserError, match="--llm-option bogus"):
        get_backend("openai", bogus=1)
    with pytest.raises(UserError, match="top_p"):
        Sampling.from_options({"top_p": 0})
    with pytest.raises(UserError, match="unknown realisation mode"):
        parse_realise({"default": "summarise"})
    assert parse_realise({"default": "answer", "templates": {"a": "none"}}) == ("answer", {"a": ""})
    assert parse_llm_options(["temperature=0.2", "stop=[END]", "structured=vllm"]) == {
        "temperature": 0.2,
        "stop": ["END"],
        "structured": "vllm",
    }


def test_backend_options_layering(tmp_path):
    tier = {
        "realise": {"default": "paraphrase", "templates": {"t.x": "none"}},
        "llm": {"sampling": {"temperature": 0.1}},
    }
    o = backend_options(
        "openai",
        tier,
        tmp_path,
        realise="answer",
        base_url="http://h/v1",
        llm_options={"retries": 1},
    )
    assert o["realise"] == {"default": "answer", "templates": {"t.x": "none"}}
    assert (
        o["sampling"] == {"temperature": 0.1}
        and o["retries"] == 1
        and o["base_url"] == "http://h/v1"
    )
    assert o["cache"] == str(tmp_path.resolve() / ".synth" / "llm-cache.sqlite")
    assert backend_options("template", tier, tmp_path) == {}


# -- the cache -------------------------------------------------------------------------------


def test_cache_persists_and_skips_errors(tmp_path):
    path = tmp_path / "c.sqlite"
    c = ResponseCache(path)
    c.put("a", Completion("hello", 3, 2, "stop"))
    c.put("b", Completion("", error="400: bad"))
    c.close()
    again = ResponseCache(path)
    got = again.get_many(["a", "b", "c"])
    assert set(got) == {"a"} and got["a"].text == "hello" and got["a"].cached


def test_cache_key_covers_what_changes_a_response():
    r = Request(messages=[{"role": "user", "content": "q"}], sampling=Sampling(seed=1))
    k = r.cache_key("hf", "m")
    assert k == Request(
        messages=[{"role": "user", "content": "q"}], sampling=Sampling(seed=1)
    ).cache_key("hf", "m")
    assert k != r.cache_key("hf", "other-model")
    assert k != Request(messages=r.messages, sampling=Sampling(seed=2)).cache_key("hf", "m")
    assert k != Request(messages=r.messages, sampling=Sampling(seed=1, temperature=0.1)).cache_key(
        "hf", "m"
    )
    assert k != Request(
        messages=[{"role": "user", "content": "q2"}], sampling=Sampling(seed=1)
    ).cache_key("hf", "m")
    assert k != Request(
        messages=r.messages, sampling=Sampling(seed=1), json_schema={"type": "object"}
    ).cache_key("hf", "m")


# -- the realiser ------------------------------------------------------------------------------


def test_answer_mode_keeps_verified_replies(producer):
    rows = rows_of(producer, ["structural.syllogism", "structural.multi_hop"])
    by_prompt = {}
    for r in rows:
        by_prompt[r.messages[-2]["content"]] = r

    def reply(req):
        row = next(r for q, r in by_prompt.items() if q in req.messages[-1]["content"])
        return gold_reply(row) + "\nHope this helps!"  # trailing chatter is cut

    engine = ScriptEngine(reply)
    b = backend_with(engine, producer, default="answer")
    out = b.realise(rows)
    for r in out:
        assert REJECTED not in r.meta
        reply_text = r.messages[-1]["content"]
        assert reply_text.startswith("Because of the statements")
        assert reply_text.splitlines()[-1] == f"Answer: {r.answer.capitalize()}"
        assert r.messages[-2]["content"] in by_prompt  # the question is untouched
    assert engine.counters.requests == 2 and b.stats()["realised"] == 2


def test_wrong_answers_are_retried_with_new_seeds_then_rejected(producer, tmp_path):
    rows = rows_of(producer, ["structural.syllogism"] * 3)

    def reply(req):  # right only for an odd seed
        row = next(r for r in rows if r.messages[-2]["content"] in req.messages[-1]["content"])
        right = row.answer.capitalize()
        wrong = "Unknown" if right != "Unknown" else "True"
        return (
            f"Thinking it through carefully.\n\nAnswer: {right if req.sampling.seed % 2 else wrong}"
        )

    engine = ScriptEngine(reply)
    cache = ResponseCache(tmp_path / "c.sqlite")
    b = backend_with(engine, producer, cache, default="answer", retries=2)
    b.realise(rows)
    seeds_per_row = {}
    for r in engine.asked:
        seeds_per_row.setdefault(r.messages[-1]["content"], []).append(r.sampling.seed)
    assert all(len(set(s)) == len(s) for s in seeds_per_row.values()), (
        "each attempt has its own seed"
    )
    for r in rows:
        seeds = seeds_per_row[next(q for q in seeds_per_row if r.messages[-2]["content"] in q)]
        if any(s % 2 for s in seeds):
            assert REJECTED not in r.meta
        else:
            assert r.meta[REJECTED] == "llm_answer_wrong" and len(seeds) == 3
    assert RealiseFilter().reason(rows[0]) == rows[0].meta.get(REJECTED)

    # The same rows again: everything comes from the cache, nothing is asked.
    asked = len(engine.asked)
    again = rows_of(producer, ["structural.syllogism"] * 3)
    b2 = backend_with(
        engine, producer, ResponseCache(tmp_path / "c.sqlite"), default="answer", retries=2
    )
    b2.realise(again)
    assert len(engine.asked) == asked and b2.cached_hits > 0
    assert [r.meta.get(REJECTED) for r in again] == [r.meta.get(REJECTED) for r in rows]


@pytest.mark.parametrize(
    "text,reason",
    [
        ("Answer: True", "llm_no_reasoning"),
        ("I think it holds.", "llm_answer_missing"),
        ("", "llm_empty"),
    ],
)
def test_answer_mode_reasons(producer, text, reason):
    row = rows_of(producer, ["structural.syllogism"])[0]
    text = text.replace("True", row.answer.capitalize())
    b = backend_with(ScriptEngine(lambda r: text), producer, default="answer", retries=0)
    b.realise([row])
    assert row.meta[REJECTED] == reason


def test_truncated_reply_is_named(producer):
    row = rows_of(producer, ["structural.syllogism"])[0]
    b = backend_with(
        ScriptEngine(lambda r: Completion("Step one, then", 5, 64, "length")),
        producer,
        default="answer",
        retries=0,
    )
    b.realise([row])
    assert row.meta[REJECTED] == "llm_truncated"


def test_paraphrase_must_keep_every_name(producer):
    rows = rows_of(producer, ["structural.multi_hop", "structural.multi_hop"], start=10)
    good_q = rows[0].messages[-2]["content"]

    def reply(req):
        src = req.messages[-1]["content"]
        if good_q in src:
            return "Reworded. " + good_q.replace("Consider", "Look at")  # every name kept
        return "A short text that lost the names but is long enough to pass the length check. " * 3

    b = backend_with(ScriptEngine(reply), producer, default="paraphrase", retries=0)
    b.realise(rows)
    assert REJECTED not in rows[0].meta and rows[0].messages[-2]["content"].startswith("Reworded.")
    assert (
        rows[0].messages[-1]["content"].endswith(f"Answer: {rows[0].answer.capitalize()}")
    )  # the reply stays
    assert rows[1].meta[REJECTED] == "llm_names_lost"


def test_persona_keeps_exact_output(producer):
    cmd = make_producer(GenerateConfig(tier="command", seed=0, progress=False))
    rows = [cmd.item("command.code_rename", (0, i), 1, Scope(), 0)[0] for i in range(2)]

    def reply(req):
        gold = next(r.answer for r in rows if r.answer in req.messages[-1]["content"])
        return (
            f"Sure thing! Here it is:\n\n```python\n{gold}\n```"
            if gold == rows[0].answer
            else "Done, renamed."
        )

    b = LLMBackend(
        "script",
        ScriptEngine(reply),
        ResponseCache(None),
        Prompts(cmd.lib),
        RealiseConfig(default="persona", retries=0),
    )
    b.realise(rows)
    assert REJECTED not in rows[0].meta and rows[0].answer in rows[0].messages[-1]["content"]
    assert rows[1].meta[REJECTED] == "llm_answer_missing"


def test_rows_without_a_mode_keep_their_render(producer, capsys):
    rows = rows_of(producer, ["structural.syllogism", "structural.puzzle_doc"])
    before = [(r.text, r.messages) for r in rows]
    engine = ScriptEngine(lambda r: "x")
    backend_with(engine, producer).realise(rows)  # no default mode
    assert [(r.text, r.messages) for r in rows] == before and not engine.asked
    assert "keep their render" in capsys.readouterr().err
    # answer mode skips documents (no reply to write): the document keeps its render
    backend_with(engine, producer, default="answer").realise([rows[1]])
    assert rows[1].text == before[1][0] and len(engine.asked) == 0


def test_a_model_that_always_fails_stops_the_run(producer):
    rows = rows_of(producer, ["structural.syllogism"] * 4)
    b = backend_with(
        ScriptEngine(lambda r: "no idea"), producer, default="answer", retries=0, max_failures=3
    )
    with pytest.raises(RunStopped, match="failed verification on 3 samples in a row"):
        b.realise(rows)


# -- AIMD --------------------------------------------------------------------------------------


def test_aimd_backs_off_once_per_burst_and_grows_while_latency_holds(monkeypatch):
    from synth.backends import openai_compat

    clock = [100.0]
    monkeypatch.setattr(openai_compat.time, "monotonic", lambda: clock[0])
    a = openai_compat.AIMD(start=16, lo=1, hi=64, cooldown=1.0)
    a.overloaded()
    a.overloaded()  # the same burst: one cut
    assert a.allowed == 8
    clock[0] += 2
    a.overloaded()
    assert a.allowed == 4
    for _ in range(40):
        a.ok(1.0, 100)  # 10 ms a token, steady
    assert a.allowed > 4
    grown = a.limit
    a.ok(10.0, 100)  # latency per token ×10: hold, do not grow
    assert a.limit == grown


# -- the openai engine against the fake server -----------------------------------------------


def engine(url, **kw):
    from synth.backends.openai_compat import OpenAIEngine

    kw.setdefault("retry_base", 0.01)
    kw.setdefault("timeout", 1.0)
    return OpenAIEngine(model="fake-model", base_url=url, **kw)


def ask(n=1, seed=0):
    return [
        Request(messages=[{"role": "user", "content": f"q{i}"}], sampling=Sampling(seed=seed + i))
        for i in range(n)
    ]


@needs_openai
def test_retries_429_500_and_stalls_then_succeeds():
    with FakeServer(script=["429", "500", "stall"], stall=2.0) as s:
        e = engine(s.url, concurrency=8)
        out = e.generate(ask(1))
    assert out[0].text.endswith("Answer: True") and out[0].completion_tokens == 7
    assert len(s.received) == 4 and e.counters.transport_retries == 3
    assert e.aimd.limit < 8  # backed off (one success after it grows the limit by 1/limit)


@needs_openai
@pytest.mark.parametrize("bad", ["badjson", "noshape"])
def test_a_malformed_answer_is_retried_then_rejected_not_a_crash(bad):
    with FakeServer(script=[bad]) as s:  # once: the retry is answered
        e = engine(s.url, concurrency=1)
        out = e.generate(ask(1))
    assert out[0].text.endswith("Answer: True") and e.counters.bad_responses == 1
    with FakeServer(script=[bad] * 3) as s:  # every try: the sample is rejected, with why
        e = engine(s.url, concurrency=1, max_retries=2)
        out = e.generate(ask(1))
    assert out[0].error is not None and out[0].error.startswith("malformed response")
    assert e.counters.bad_responses == 3 and len(s.received) == 3


@needs_openai
def test_retry_after_pauses_every_request_not_only_the_one_that_got_it():
    """Under sustained 429s with Retry-After: 1, requests wait for the server's second
    whatever their own backoff says (which, at retry_base 0.01, would be milliseconds)."""
    with FakeServer(script=["429"] * 6, retry_after="1") as s:
        e = engine(s.url, concurrency=1, max_retries=10)
        t0 = time.monotonic()
        out = e.generate(ask(4))
        took = time.monotonic() - t0
    assert all(c.error is None for c in out)
    assert len(s.received) == 10  # 6 refused, 4 answered: no request sent early
    assert took >= 5.5, f"{len(s.received)} requests in {took:.1f} s: Retry-After not shared"


class HangingServer:
    """Accepts connections on 127.0.0.1 and never answers (nor closes them)."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.held: list = []
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for c in self.held:
            c.close()
        self.sock.close()


@needs_openai
def test_a_server_that_accepts_and_never_answers_stops_in_bounded_time():
    with HangingServer() as s:
        e = engine(s.url, concurrency=4, timeout=0.5, max_retries=2)
        t0 = time.monotonic()
        with pytest.raises(UserError, match="no answer from the server"):
            e.generate(ask(40))  # 40 requests waiting their turn do not extend the wait
        assert time.monotonic() - t0 < 30  # the stall bound is ~1.6 s here


@needs_openai
def test_unreachable_server_is_a_user_error():
    with FakeServer() as s:
        url = s.url
    with pytest.raises(UserError, match="cannot reach the server"):
        engine(url).generate(ask(1))


@needs_openai
def test_server_that_dies_mid_run_stops_it_with_a_clear_message():
    with FakeServer(die_after=3) as s:
        e = engine(s.url, concurrency=1, max_retries=3)
        done = []
        with pytest.raises(RunStopped, match="re-run the same command to resume"):
            e.generate(ask(6), on_done=lambda i, c: done.append(i))
    assert len(done) == 3  # the answers that came back were handed over (and so cached)


@needs_openai
def test_structured_output_styles_reach_the_server():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    with FakeServer() as s:
        engine(s.url, structured="vllm").generate(
            [Request(messages=[{"role": "user", "content": "q"}], regex="Answer: (True|False)")]
        )
        engine(s.url, structured="llama_cpp").generate(
            [Request(messages=[{"role": "user", "content": "q"}], json_schema=schema)]
        )
        engine(s.url).generate(
            [Request(messages=[{"role": "user", "content": "q"}], json_schema=schema)]
        )
    assert s.received[0]["structured_outputs"] == {"regex": "Answer: (True|False)"}
    assert s.received[1]["response_format"] == {"type": "json_object", "schema": schema}
    assert s.received[2]["response_format"]["type"] == "json_schema"
    with pytest.raises(UserError, match="regex constraint needs structured=vllm"):
        engine("http://127.0.0.1:9/v1")._structured(Request(regex="x"))


@needs_openai
def test_model_defaults_to_the_servers():
    from synth.backends.openai_compat import OpenAIEngine

    with FakeServer() as s:
        e = OpenAIEngine(base_url=s.url)
        e.prepare()
    assert e.model == "fake-model"


# -- end to end: synth generate with the openai backend ------------------------------------


def generate(out, url, **kw):
    cfg = dict(
        tier="structural",
        out=str(out),
        tokens="6k",
        shard_tokens="1k",
        backend="openai",
        realise="answer",
        base_url=url,
        workers=1,
        progress=False,
        llm_options={"retry_base": 0.01, "timeout": 2.0, "max_retries": 2, "concurrency": 4},
    )
    cfg.update(kw)
    return synth.generate(synth.GenerateConfig(**cfg))


def read_rows(out):
    import datasets

    return list(datasets.load_from_disk(str(out)))


def shard_bytes(out):
    return {p.name: p.read_bytes() for p in sorted(Path(out).glob("data-*.arrow"))}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    with FakeServer() as s:
        m = generate(out, s.url)
    return out, m, s


@needs_openai
def test_generate_keeps_only_verified_rows(clean_run):
    out, m, server = clean_run
    rows = read_rows(out)
    from synth.filters.answer import same_answer, stated_answer

    realised = 0
    for r in rows:
        assert rederive(r["formal"]) == r["answer"], r["id"]
        if r["messages"]:
            reply = r["messages"][-1]["content"]
            assert same_answer(stated_answer(reply, "en"), r["answer"]), r["id"]
            realised += reply.startswith("The statements settle it.")
    assert realised > 0, "chat rows were realised by the server"
    realise = m["filters"]["sample"]["filters"]["realise"]
    assert realise["rejected"].get("llm_answer_wrong", 0) > 0
    assert m["llm"]["requests"] == len(server.received) and m["llm"]["generated_tokens"] == 7 * len(
        server.answered
    )
    assert m["resolved"]["llm"]["realise"] == "answer"


@needs_openai
def test_api_key_is_used_but_never_written(tmp_path, monkeypatch):
    secret = "sk-test-" + "9" * 24
    monkeypatch.setenv("SYNTH_TEST_KEY", secret)
    with FakeServer() as s:
        generate(tmp_path / "k", s.url, api_key_env="SYNTH_TEST_KEY", tokens="1k")
    assert s.headers[0]["authorization"] == f"Bearer {secret}"
    for p in (tmp_path / "k").rglob("*"):
        if p.is_file() and not p.name.startswith("llm-cache"):
            assert secret.encode() not in p.read_bytes(), p


@needs_openai
def test_server_death_stops_the_run_and_a_rerun_resumes_from_the_cache(tmp_path, clean_run):
    clean_out, _, clean_server = clean_run
    out = tmp_path / "dies"
    with FakeServer(die_after=len(clean_server.answered) // 2) as s1:
        with pytest.raises(RunStopped, match="re-run the same command to resume"):
            generate(out, s1.url)
    first = set(s1.answered)
    kept = shard_bytes(out)
    assert kept, "shards completed before the server died are on disk"
    with FakeServer() as s2:
        m = generate(out, s2.url)
    # What the first run received is not asked again; what it lacked is.
    assert not first & {key_of(b) for b in s2.received}
    assert len(s2.received) < len(clean_server.received)
    assert m["status"] == "complete"
    assert {k: v for k, v in shard_bytes(out).items() if k in kept} == kept, (
        "nothing written is lost"
    )
    assert shard_bytes(out) == shard_bytes(clean_out), "the resumed corpus is the uninterrupted one"


@needs_openai
def test_killed_run_rerun_reuses_cached_responses(tmp_path, clean_run):
    """SIGKILL a `synth generate` process mid-run; the re-run asks the server only for
    what the first process had not received."""
    clean_out, _, clean_server = clean_run
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(Path(synth.__file__).parents[1])}

    def command(url):
        return [
            sys.executable, "-m", "synth", "generate", "--tier", "structural", "--out", str(out),
            "--tokens", "6k", "--shard-tokens", "1k", "--backend", "openai", "--realise", "answer",
            "--base-url", url, "--workers", "1", "--quiet",
            "--llm-option", "retry_base=0.01", "--llm-option", "timeout=2.0",
            "--llm-option", "max_retries=2", "--llm-option", "concurrency=4",
        ]  # fmt: skip

    cache = out / ".synth" / "llm-cache.sqlite"
    with FakeServer() as s1:
        proc = subprocess.Popen(
            command(s1.url), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            while proc.poll() is None and _cached(cache) < len(clean_server.answered) // 3:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    had = _cached(cache)
    assert 0 < had < len(clean_server.answered), "killed mid-run, with some responses cached"
    with FakeServer() as s2:
        subprocess.run(command(s2.url), env=env, check=True, stdout=subprocess.DEVNULL)
    assert len(s2.received) <= len(clean_server.received) - had
    assert shard_bytes(out) == shard_bytes(clean_out)


def _cached(path: Path) -> int:
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.Error:
        return 0


@needs_openai
def test_eval_scores_probes_against_chance(tmp_path, clean_run):
    from synth.evaluate import evaluate

    clean_out, _, _ = clean_run
    with FakeServer() as s:
        report = evaluate(
            clean_out / "eval",
            "openai",
            None,
            out=tmp_path / "eval.json",
            limit=60,
            options={"base_url": s.url},
        )
    assert len(s.received) == 60 and all(b["temperature"] == 0.0 for b in s.received)
    assert report["n"] == 60 and json.loads((tmp_path / "eval.json").read_text())["n"] == 60
    # The fake server always says "True" at seed 0: accuracy is the share of true golds.
    trues = sum(r["gold"] == "true" for r in report["results"])
    assert report["correct"] == trues
    for group in report["by_difficulty"].values():
        assert 0 < group["chance"] <= 1 and group["n"] > 0
    assert set(report["by_probe_kind"]) and report["model"] == "fake-model"


@needs_openai
def test_eval_command_prints_accuracy_and_chance(tmp_path, clean_run):
    from click.testing import CliRunner

    from synth.cli.main import cli

    clean_out, _, _ = clean_run
    with FakeServer() as s:
        args = ["eval", "--probes", str(clean_out / "eval"), "--backend", "openai", "--base-url", s.url,
                "--limit", "10", "--out", str(tmp_path / "e.json"), "--quiet"]  # fmt: skip
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (
        "accuracy" in result.output
        and "chance" in result.output
        and "by difficulty" in result.output
    )
    assert json.loads((tmp_path / "e.json").read_text())["n"] == 10
    bad = CliRunner().invoke(cli, ["eval", "--probes", str(tmp_path), "--backend", "openai"])
    assert bad.exit_code == 2 and "not a probe folder" in bad.output
