"""The output folder: --overwrite removes exactly what synth wrote, a folder without synth
output is never cleared, the other command's output is replaced whole or refused, a run
killed before its first manifest resumes, and one run at a time writes a folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
from click.testing import CliRunner

import synth
from synth.cli import cli

SMALL = ["--tier", "command", "--tokens", "30k", "--workers", "1", "-q"]
USER_FILES = {  # what a user keeps in a folder, named the way synth names its own
    "data-2023.csv": "a,b\n1,2\n",
    "thesis.docx": "chapter one",
    "manifest.json.bak": "{}",
    "data-00000.arrow.bak": "old",
    ".synth/config": "mine",
}


def invoke(*args: str):
    return CliRunner().invoke(cli, [*map(str, args)])


def one_line_error(r, *needles: str) -> str:
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("synth: error: "), r.stderr
    assert len(lines[0]) < 300, lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def plant(d: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)


def test_a_folder_without_synth_output_is_refused_even_with_overwrite(tmp_path):
    out = tmp_path / "u"
    plant(out, {**USER_FILES, "eval/my_eval_set.jsonl": '{"text": "x"}\n'})
    before = tree(out)
    for flags in ((), ("--overwrite",)):
        line = one_line_error(invoke("generate", "--out", out, *SMALL, *flags), "no synth output")
        assert "--overwrite" not in line  # never suggest the flag that would not help
        assert tree(out) == before


def test_overwrite_removes_exactly_the_files_synth_wrote(tmp_path):
    out = tmp_path / "u"
    synth.generate(
        synth.GenerateConfig(
            tier="command", out=str(out), tokens="60k", shard_tokens="20k", progress=False
        )
    )
    assert len(list(out.glob("data-*.arrow"))) == 3
    plant(out, USER_FILES)
    r = invoke("generate", "--out", out, *SMALL)  # a different corpus: refused
    one_line_error(r, "different corpus", "--overwrite")
    r = invoke("generate", "--out", out, *SMALL, "--overwrite")
    assert r.exit_code == 0, r.output
    for name, text in USER_FILES.items():
        assert (out / name).read_text() == text, f"{name} was the user's"
    assert sorted(p.name for p in out.glob("data-*.arrow")) == ["data-00000.arrow"]
    assert (
        len(datasets.load_from_disk(str(out)))
        == json.loads((out / "manifest.json").read_text())["totals"]["rows"]
    )


def test_the_users_file_in_eval_is_refused_not_removed(tmp_path):
    out = tmp_path / "u"
    synth.generate(synth.GenerateConfig(tier="command", out=str(out), tokens="30k", progress=False))
    plant(out, {"eval/my_eval_set.jsonl": '{"text": "x"}\n'})
    before = tree(out)
    for flags in ((), ("--overwrite",)):
        r = invoke("generate", "--out", out, *SMALL, "--tokens", "40k", *flags)
        one_line_error(r, "eval/my_eval_set.jsonl", "move it out")
        assert tree(out) == before


def test_a_filter_output_is_replaced_whole_or_refused(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": f"line {i} " * 20}) + "\n" for i in range(50)))
    out = tmp_path / "u"
    r = invoke("filter", src, "--out", out, "--quiet")
    assert r.exit_code == 0, r.output
    plant(out, {"notes.txt": "mine"})
    one_line_error(invoke("generate", "--out", out, *SMALL), "synth filter", "--overwrite")
    r = invoke("generate", "--out", out, *SMALL, "--overwrite")
    assert r.exit_code == 0, r.output
    assert not (out / "filter.json").exists() and (out / "notes.txt").read_text() == "mine"
    assert (out / "manifest.json").is_file()
    # and the other way round: a generate corpus under `synth filter --overwrite`, whole
    one_line_error(invoke("filter", src, "--out", out, "--quiet"), "synth corpus", "--overwrite")
    r = invoke("filter", src, "--out", out, "--quiet", "--overwrite")
    assert r.exit_code == 0, r.output
    assert not (out / "manifest.json").exists() and not (out / "eval").exists()
    assert (out / "filter.json").is_file() and (out / "notes.txt").read_text() == "mine"


def test_a_run_killed_before_its_first_manifest_starts_there(tmp_path):
    out = tmp_path / "u"
    plant(out, {"manifest.json.partial": '{"stat', ".synth/lock": "", "eval.partial/x": "y"})
    r = invoke("generate", "--out", out, *SMALL)
    assert r.exit_code == 0, r.output
    assert not list(out.rglob("*.partial")) and not (out / ".synth").exists()


def test_a_second_run_on_the_same_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "u"
    args = ["--tier", "structural", "--tokens", "20M", "--workers", "1", "-q"]
    first = subprocess.Popen(
        [sys.executable, "-m", "synth", "generate", "--out", str(out), *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (out / "manifest.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, first.stderr.read()
        t0 = time.time()
        r = invoke("generate", "--out", out, *args)
        one_line_error(r, "another synth run is writing")
        assert time.time() - t0 < 30
        assert first.poll() is None  # the first run goes on, untouched
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
