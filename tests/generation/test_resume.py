"""Killed runs resume to the same bytes; workers do not change the bytes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ARGS = ["--tier", "ontology", "--tokens", "1500k", "--shard-tokens", "200k", "-q"]


def digest(out: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("data-*.arrow"))]


def synth(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synth", "generate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_sigkill_then_resume_gives_the_same_bytes(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    p = synth(*ARGS, "--out", str(whole), "--workers", "1")
    assert p.wait(timeout=600) == 0, p.stderr.read()
    p = synth(*ARGS, "--out", str(killed), "--workers", "1")
    # kill once at least one shard is complete, before the run ends
    deadline = time.time() + 300
    while time.time() < deadline and not (killed / "data-00001.arrow").exists():
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be killed; raise the budget"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert (killed / "manifest.json").exists()
    p = synth(*ARGS, "--out", str(killed), "--workers", "1")
    assert p.wait(timeout=600) == 0, p.stderr.read()
    assert "resuming from the last checkpoint" in p.stderr.read()
    assert digest(killed) == digest(whole)
    assert not list(killed.glob("*.partial"))


def test_two_workers_give_the_same_bytes_as_one(corpus):
    one, m1 = corpus("structural", seed=3, tokens="150k", workers=1)
    two, m2 = corpus("structural", seed=3, tokens="150k", workers=2)
    assert digest(one) == digest(two)
    assert m1["totals"] == m2["totals"]
