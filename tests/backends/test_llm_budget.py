"""LLM runs a user can afford and watch, against the fake OpenAI-compatible server of
test_backends.py (it answers True/False/Unknown by the request's seed, so about a third
of the replies are right): a small budget asks for tens of requests, the bytes do not
depend on concurrency or workers, the progress line counts rows as they are accepted
and says requests, verdicts by reason and an ETA, the manifest says acceptance and
rejections by reason, and `--preview N` shows prompts, replies and verdicts and writes
nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rederive import rederive
from test_backends import FakeServer, needs_openai, read_rows, shard_bytes

import synth
from synth.backends import realise as realise_mod
from synth.backends.realise import llm_eta, progress_text


def run(out, url, tokens="600", **kw):
    cfg = dict(
        tier="structural",
        out=str(out),
        tokens=tokens,
        backend="openai",
        realise="answer",
        base_url=url,
        workers=1,
        progress=False,
        llm_options={"retry_base": 0.01, "timeout": 5.0, "concurrency": 4},
    )
    cfg.update(kw)
    return synth.generate(synth.GenerateConfig(**cfg))


def check_ledger(m: dict) -> None:
    """The manifest's llm section agrees with the realise filter's counts."""
    realise = m["filters"]["sample"]["filters"]["realise"]
    llm = m["llm"]
    assert llm["rejected"] == {r: n for r, n in realise["rejected"].items() if n}
    assert llm["failed"] == sum(realise["rejected"].values())
    assert llm["asked"] == llm["requests"] + llm["cached_hits"]
    acc = llm["acceptance"]
    assert acc["rows_per_request"] == round(llm["realised"] / llm["asked"], 4)
    assert acc["rows_verified"] == round(llm["realised"] / (llm["realised"] + llm["failed"]), 4)


@needs_openai
def test_a_600_token_run_asks_for_tens_of_requests(tmp_path):
    with FakeServer() as s:
        m = run(tmp_path / "small", s.url)
    assert m["status"] == "complete" and m["totals"]["tokens"] >= 600
    # Drawing a batch of 64 per unit, the same run asked the server 796 times.
    assert 5 <= len(s.received) <= 60, len(s.received)
    assert m["llm"]["requests"] == len(s.received)
    rows = read_rows(tmp_path / "small")
    assert all(rederive(r["formal"]) == r["answer"] for r in rows)
    check_ledger(m)
    assert m["llm"]["rejected"].get("llm_answer_wrong", 0) > 0, "a third right: some rejected"


@needs_openai
def test_the_batch_schedule_depends_on_the_units_results_only(tmp_path):
    """Concurrency and workers change when replies arrive, never what is drawn."""
    with FakeServer() as s1:
        m1 = run(tmp_path / "a", s1.url, tokens="5k")
    with FakeServer() as s2:
        m2 = run(tmp_path / "b", s2.url, tokens="5k", workers=2,
                 llm_options={"retry_base": 0.01, "timeout": 5.0, "concurrency": 1})  # fmt: skip
    assert shard_bytes(tmp_path / "a") == shard_bytes(tmp_path / "b")
    assert sorted(json.dumps(b, sort_keys=True) for b in s1.received) == sorted(
        json.dumps(b, sort_keys=True) for b in s2.received
    ), "the same requests"
    assert m1["llm"]["rejected"] == m2["llm"]["rejected"]
    check_ledger(m2)


@needs_openai
def test_a_stopped_llm_run_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    """Stage tails, the last stage fitted to what the budget still needs and make-up
    rounds are all decided from the saved state: a run stopped by a full disk at its
    second unit's write resumes to the bytes of a run never stopped."""
    from synth.errors import RunStopped
    from synth.shards import atomic

    with FakeServer() as s:
        whole = run(tmp_path / "whole", s.url, tokens="5k")
        out = tmp_path / "o"
        monkeypatch.setenv(atomic.FAULT_ENV, "o/data-00000.arrow@3")  # open, unit 1, unit 2
        monkeypatch.setattr(atomic, "_fault_counts", {})
        with pytest.raises(RunStopped, match="it resumes from the last checkpoint"):
            run(out, s.url, tokens="5k", checkpoint_every=0)
        monkeypatch.delenv(atomic.FAULT_ENV)
        m = run(out, s.url, tokens="5k")
    assert m["status"] == "complete" and shard_bytes(out) == shard_bytes(tmp_path / "whole")
    assert m["stages"] == whole["stages"] and m["totals"] == whole["totals"]
    assert m["schedule"]["makeup_units"] == whole["schedule"]["makeup_units"]


@needs_openai
def test_progress_counts_rows_as_they_are_accepted(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(realise_mod, "PROGRESS_EVERY", 0.0)  # every reply redraws the line
    with FakeServer() as s:
        m = run(tmp_path / "p", s.url, tokens="3k", progress=True)
    states = capsys.readouterr().err.replace("\n", "\r").split("\r")
    lines = [x for x in states if "llm " in x]
    assert lines, "the line shows the LLM's figures"
    counts = [_count(x) for x in lines]
    units = m["schedule"]["units"] + m["schedule"]["makeup_units"]
    # The count moved row by row, not only when one of the units was written.
    assert len(set(counts)) > units + 1, (units, sorted(set(counts)))
    last = lines[-1]
    assert re.search(r"llm \d+ sent, \d+ in flight, \d+ answered", last), last
    assert re.search(r"\d+ rows kept, \d+ verified, rejected \d+ \(answer_wrong \d+", last), last
    assert "tok/s" in last and any("ETA " in x for x in lines)


def _count(state: str) -> float:
    n = re.search(r"\| ([\d.]+)(k?)/", state)
    assert n, state
    return float(n.group(1)) * (1000 if n.group(2) else 1)


def test_the_eta_comes_from_the_acceptance_rate():
    p = {
        "requests": 10, "in_flight": 1, "answered": 10, "cached_hits": 0, "kept": 3,
        "rejected": {"llm_truncated": 2, "llm_answer_wrong": 5}, "generated_tokens": 1500,
        "tokens_per_second": 19.4, "seconds_per_answer": 3.0,
    }  # fmt: skip
    # 2 rows of 300 tokens kept, 600 left: 2 rows; 1 row per 5 answers: 10 more, 3 s each
    assert llm_eta(p, 2, 600, 300.0) == pytest.approx(30.0)
    text = progress_text(p, rows=2, tokens=600, budget=1200)
    assert text == (
        "llm 10 sent, 1 in flight, 10 answered | 2 rows kept, 3 verified, rejected 7 "
        "(answer_wrong 5, truncated 2) | 1.5K tok at 19 tok/s | ETA 30s"
    )
    assert llm_eta(p, 0, 1200, None) is None  # nothing to go by before a row
    assert "ETA" not in progress_text(p, rows=0, tokens=0, budget=1200)


@needs_openai
def test_preview_prints_prompts_replies_and_verdicts_and_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from synth.cli.main import cli

    out = tmp_path / "never"
    with FakeServer() as s:
        args = ["generate", "--tier", "structural", "--out", str(out), "--backend", "openai",
                "--base-url", s.url, "--realise", "answer", "--preview", "3",
                "--llm-option", "retries=1"]  # fmt: skip
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = result.output
    assert not out.exists() and not Path(str(out) + ".lock").exists(), "nothing written"
    assert len(re.findall(r"^\[\d/3\] structural/", text, re.M)) == 3
    # one item from each stage, as the run draws them first
    for stage in ("one-step", "chains", "deep"):
        assert f"stage {stage}" in text
    assert "prompt (user):" in text and "reply 1 (" in text and "verdict: " in text
    assert re.search(r"reply \d \(rejected: llm_answer_wrong\)", text)
    assert re.search(r"^3 items: \d kept, \d rejected", text, re.M)
    assert len(s.received) <= 6  # 3 items, at most 2 attempts each


def test_preview_of_nothing_is_one_line(tmp_path):
    from click.testing import CliRunner

    from synth.cli.main import cli

    result = CliRunner().invoke(
        cli, ["generate", "--tier", "structural", "--out", str(tmp_path / "x"), "--preview", "0"]
    )
    assert result.exit_code == 2
    assert "--preview" in result.output and len(result.output.strip().splitlines()) == 1
