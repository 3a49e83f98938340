"""Killed runs resume to the same bytes; workers do not change the bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import synth
from synth.cli import cli

ARGS = ["--tier", "ontology", "--tokens", "1500k", "--shard-tokens", "200k", "-q"]


def digest(out: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("data-*.arrow"))]


def popen(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synth", "generate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_sigkill_then_resume_gives_the_same_bytes(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    p = popen(*ARGS, "--out", str(whole), "--workers", "1")
    assert p.wait(timeout=600) == 0, p.stderr.read()
    p = popen(*ARGS, "--out", str(killed), "--workers", "1")
    # kill once at least one shard is complete, before the run ends
    deadline = time.time() + 300
    while time.time() < deadline and not (killed / "data-00001.arrow").exists():
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be killed; raise the budget"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert (killed / "manifest.json").exists()
    p = popen(*ARGS, "--out", str(killed), "--workers", "1")
    assert p.wait(timeout=600) == 0, p.stderr.read()
    assert "resuming from the last checkpoint" in p.stderr.read()
    assert digest(killed) == digest(whole)
    assert not list(killed.glob("*.partial"))


def test_two_workers_give_the_same_bytes_as_one(corpus):
    one, m1 = corpus("structural", seed=3, tokens="150k", workers=1)
    two, m2 = corpus("structural", seed=3, tokens="150k", workers=2)
    assert digest(one) == digest(two)
    assert m1["totals"] == m2["totals"]


# -- resume state: data only, checked, and taken from a checkpoint of any run -----------------

STOPPED = dict(tier="command", tokens="60k", seed=5, workers=1, progress=False)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """A run stopped by a full disk (an injected ENOSPC at its third unit) after a
    checkpoint; its shard never closed (shards close at 100M tokens), so only the
    checkpoint keeps its work."""
    from synth.errors import RunStopped
    from synth.shards import atomic

    out = tmp_path_factory.mktemp("stopped") / "o"
    mp = pytest.MonkeyPatch()
    mp.setenv(atomic.FAULT_ENV, "o/data-00000.arrow@3")  # the corpus's shard, not eval's
    mp.setattr(atomic, "_fault_counts", {})
    try:
        cfg = synth.GenerateConfig(out=str(out), checkpoint_every=0, **STOPPED)
        with pytest.raises(RunStopped, match=r"it resumes from the last checkpoint \([\d,]+ of"):
            synth.generate(cfg)
    finally:
        mp.undo()
    assert (out / ".synth" / "state.npz").is_file()
    # the open shard stays, cut back to its checkpoint; nothing else half-written
    assert [p.name for p in out.rglob("*.partial")] == ["data-00000.arrow.partial"]
    return out


@pytest.fixture
def copy_of(stopped, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(stopped, out)
    return out


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    m = synth.generate(synth.GenerateConfig(out=str(out), **STOPPED))
    return out, m


def test_a_run_smaller_than_a_shard_resumes_from_its_checkpoint(copy_of, whole):
    out = copy_of
    m = synth.generate(synth.GenerateConfig(out=str(out), **STOPPED))
    assert digest(out) == digest(whole[0])
    assert m["filters"] == whole[1]["filters"] and m["stages"] == whole[1]["stages"]
    assert not (out / ".synth").exists(), "a complete corpus keeps no resume state"
    assert not list(out.rglob("*.partial"))


def test_resume_state_is_never_executed(copy_of, tmp_path):
    import pickle

    out = copy_of
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    state = out / ".synth" / "state.npz"
    state.write_bytes(pickle.dumps(Payload()))
    assert_one_line(synth_cli(out), "state.npz is damaged", "--overwrite")
    state.unlink()
    (out / ".synth" / "state.pkl").write_bytes(pickle.dumps(Payload()))
    assert_one_line(synth_cli(out), "state.pkl", "older synth", "--overwrite")
    assert not marker.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut short
        lambda b: b"",  # empty
        lambda b: b.replace(b'"next_unit":', b'"next_unit":-'),  # a count below zero
        lambda b: b.replace(b'"version":1', b'"version":9'),
    ],
    ids=["truncated", "empty", "negative", "version"],
)
def test_damaged_resume_state_is_one_line(copy_of, damage):
    out = copy_of
    state = out / ".synth" / "state.npz"
    state.write_bytes(damage(state.read_bytes()))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = CliRunner().invoke(cli, ["generate", "--out", str(out), *CLI_ARGS])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), (r.output, r.exception)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "state.npz is damaged" in lines[0] and "--overwrite" in lines[0]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_an_edited_partial_is_a_different_corpus(tmp_path):
    """A pack that replaces the built-in `en/command/_common.j2`: its edit between two runs
    is caught, though the built-in packs have partials of the same name."""
    from synth.paths import data_dir

    pack = tmp_path / "pack"
    (pack / "en" / "command").mkdir(parents=True)
    partial = pack / "en" / "command" / "_common.j2"
    partial.write_text((data_dir("templates") / "en" / "command" / "_common.j2").read_text())
    out = tmp_path / "o"
    args = ["--tier", "command", "--tokens", "20k", "--templates", str(pack), "-q"]
    r = CliRunner().invoke(cli, ["generate", "--out", str(out), *args])
    assert r.exit_code == 0, r.output
    partial.write_text(partial.read_text() + "\n{# edited #}\n")
    r = CliRunner().invoke(cli, ["generate", "--out", str(out), *args])
    assert r.exit_code == 2, r.output
    assert "different corpus" in r.stderr and "pack0/en/command/_common.j2" in r.stderr


CLI_ARGS = ["--tier", "command", "--tokens", "60k", "--seed", "5", "--workers", "1", "-q"]


def synth_cli(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "synth", "generate", "--out", str(out), *CLI_ARGS],
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and len(lines[0]) < 300, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]
