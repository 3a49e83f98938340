"""Every way a run stops ends in bounded time with one line that says why, and leaves a
folder the same command resumes: Ctrl-C at 2 workers, the parent killed under its
workers, a world too small for its budget, an absurd budget, and a full disk at every
write point (injected everywhere; a real tmpfs where one can be mounted)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.shards import atomic

WORLDS = Path(__file__).parents[1] / "data" / "worlds"


def digest(out: Path) -> list[str]:
    files = sorted(out.glob("data-*.arrow")) + sorted((out / "eval").glob("data-*.arrow"))
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]


def one_line(stderr: str, *needles: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def start(out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synth", "generate", "--out", str(out), "-q", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )


def wait_for(cond, p: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.time() + seconds
    while not cond() and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert p.poll() is None, "the run ended before it could be stopped: raise the budget"


INTERRUPTED = ["--tier", "structural", "--tokens", "600k", "--shard-tokens", "150k"]


def tokens_saved(out: Path) -> int:
    try:
        return json.loads((out / "manifest.json").read_text())["totals"]["tokens"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize("when", ["first checkpoint", "near the end"])
def test_ctrl_c_at_two_workers_ends_in_one_line(tmp_path, when):
    """Near the end, tail units run ahead of the budget in both workers: the moment a
    pool's shutdown used to hang."""
    out = tmp_path / "o"
    p = start(out, *INTERRUPTED, "--workers", "2", "--checkpoint-every", "0.2")
    if when == "first checkpoint":
        wait_for(lambda: (out / ".synth" / "state.npz").exists(), p)
    else:
        wait_for(lambda: tokens_saved(out) >= 450_000, p)
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C reaches the whole group: workers too
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("Ctrl-C left the run hanging")
    assert p.returncode == 1
    one_line(err, "interrupted", "it resumes from the last checkpoint")
    assert not list(out.glob("data-*.partial")) or (out / ".synth" / "state.npz").is_file()


def test_killing_the_parent_takes_its_workers_quietly(tmp_path):
    out = tmp_path / "o"
    p = start(out, *INTERRUPTED, "--workers", "2", "--checkpoint-every", "0.2")
    wait_for(lambda: (out / ".synth" / "state.npz").exists(), p)
    os.kill(p.pid, signal.SIGKILL)
    try:
        _, err = p.communicate(timeout=60)  # EOF once every worker has left
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("workers outlived their parent")
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_world_too_small_for_its_budget_is_refused_before_it_starts(tmp_path):
    world = tmp_path / "two.yaml"
    world.write_text(
        "kinds:\n  creature:\n  bird: {parent: creature}\n"
        "entities:\n  Pip: {kind: bird}\n  Tweet: {kind: bird}\n"
    )
    r = CliRunner().invoke(cli, ["generate", "--tier", "ontology", "--world", str(world),
                                 "--tokens", "5k", "--out", str(tmp_path / "o"), "-q"])  # fmt: skip
    assert r.exit_code == 2
    one_line(r.stderr, "two.yaml can say about", "--allow-repeat")
    assert not (tmp_path / "o").exists()


def test_templates_that_say_the_same_every_time_stop_the_run_with_the_reason(tmp_path):
    """The capacity check counts the world's facts; it cannot see a template that ignores
    them. A stage made only of such templates stops the run in one line, in bounded time."""
    pack = tmp_path / "pack" / "en" / "ontology"
    pack.mkdir(parents=True)
    builtin = Path(__file__).parents[2] / "templates" / "en" / "ontology"
    for name in ("kind_entry", "rule_entry"):  # the first stage's templates
        front = (builtin / f"{name}.j2").read_text().split("\n---\n", 1)[0]
        (pack / f"{name}.j2").write_text(front + "\n---\nThis world has kinds and rules.\n")
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "synth", "generate", "--tier", "ontology", "--tokens", "300k",
         "--templates", str(tmp_path / "pack"), "--out", str(tmp_path / "o"), "-q",
         "--workers", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 1
    one_line(r.stderr, "too little to reach --tokens 300,000", "kinds-and-rules", "exact_dup")
    assert time.monotonic() - t0 < 120


def test_a_budget_no_run_makes_is_refused_at_once(tmp_path):
    r = CliRunner().invoke(cli, ["generate", "--tokens", "1000T", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    one_line(r.stderr, "--tokens", "more than one run makes")
    assert not (tmp_path / "o").exists()


# -- a full disk -----------------------------------------------------------------------------

FULL = ["--tier", "command", "--tokens", "60k", "--shard-tokens", "20k", "--workers", "1"]


@pytest.fixture(scope="module")
def whole_small(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "o"
    assert CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *FULL]).exit_code == 0
    return digest(out)


def run_full(out: Path, monkeypatch, fault: str | None):
    if fault:
        monkeypatch.setenv(atomic.FAULT_ENV, fault)
    else:
        monkeypatch.delenv(atomic.FAULT_ENV, raising=False)
    monkeypatch.setattr(atomic, "_fault_counts", {})
    return CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *FULL])


@pytest.mark.parametrize(
    "fault",
    [
        "o/manifest.json",  # the first manifest
        "eval.partial/*",  # the probes
        "o/data-00000.arrow@2",  # a shard, mid-write
        "state.npz@2",  # a checkpoint
        "o/dataset_info.json@4",  # the final files
        "rejected.jsonl",
    ],
)
def test_a_full_disk_at_each_write_point_stops_in_one_line_and_resumes(
    tmp_path, monkeypatch, whole_small, fault
):
    out = tmp_path / "o"
    r = run_full(out, monkeypatch, fault)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    one_line(r.stderr, "No space left on device", "free space and re-run the same command")
    partials = [p.name for p in out.rglob("*.partial")]
    # nothing, or the open shard cut back to its checkpoint (which the state names)
    assert not partials or (
        len(partials) == 1
        and partials[0].startswith("data-")
        and (out / ".synth" / "state.npz").is_file()
    ), partials
    r = run_full(out, monkeypatch, "*")  # re-run while the disk is still full
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    one_line(r.stderr, "No space left on device")
    r = run_full(out, monkeypatch, None)  # space again
    assert r.exit_code == 0, r.stderr
    assert digest(out) == whole_small
    assert not list(out.rglob("*.partial")) and not (out / ".synth").exists()


def test_a_real_full_disk(tmp_path, whole_small):
    """A 1.5 MB tmpfs fills mid-run; once it is larger, the same command finishes the
    corpus. Needs the right to mount (root on Linux); skipped elsewhere."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        out = mnt / "o"
        r = CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *FULL])
        if r.exit_code == 0:
            pytest.skip("the corpus fit on the small disk")
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
        one_line(r.stderr, "No space left on device", "free space")
        subprocess.run(["mount", "-o", "remount,size=32m", str(mnt)], check=True)
        r = CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *FULL])
        assert r.exit_code == 0, r.stderr
        assert digest(out) == whole_small
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


# Shards of 10k tokens: every unit closes one, and so checkpoints.
ONTOLOGY = ["--tier", "ontology", "--tokens", "300k", "--workers", "1", "--shard-tokens", "10k"]


@pytest.fixture(scope="module")
def whole_ontology(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "o"
    assert CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *ONTOLOGY]).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    return digest(out), m


@pytest.mark.parametrize("k", [1, 5, 9, 13, 17])
def test_a_run_stopped_at_any_checkpoint_resumes_to_the_same_corpus_and_ledger(
    tmp_path, monkeypatch, whole_ontology, k
):
    """A checkpoint after every unit, the run stopped at the k-th save: inside a stage's planned
    units or inside its make-up rounds (the ontology tier at 300k has 16 planned and a few
    make-up units). The resumed run makes the same shards and counts the same ledger."""
    whole, m = whole_ontology
    assert m["schedule"]["makeup_units"] > 0  # the make-up rounds are exercised
    out = tmp_path / "o"
    monkeypatch.setenv(atomic.FAULT_ENV, f"state.npz@{k}")
    monkeypatch.setattr(atomic, "_fault_counts", {})
    r = CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *ONTOLOGY])
    assert r.exit_code == 1, r.stderr
    monkeypatch.delenv(atomic.FAULT_ENV)
    r = CliRunner().invoke(cli, ["generate", "--out", str(out), "-q", *ONTOLOGY])
    assert r.exit_code == 0, r.stderr
    again = json.loads((out / "manifest.json").read_text())
    assert digest(out) == whole
    assert again["totals"] == m["totals"] and again["schedule"] == m["schedule"]
    assert again["filters"] == m["filters"]
