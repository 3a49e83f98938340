"""`synth verify` checks what it used to trust: state.json (what load_from_disk reads),
the eval split, shard names, a manifest written before the first shard; `synth export`
checks every shard's sha256 before it reads one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pytest
from click.testing import CliRunner

from synth.cli import cli


@pytest.fixture
def copy(corpus, tmp_path) -> Path:
    src, _ = corpus("command", tokens="120k")
    out = tmp_path / "c"
    shutil.copytree(src, out)
    return out


def verify(out: Path):
    return CliRunner().invoke(cli, ["verify", str(out)])


def edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_a_clean_corpus_verifies(copy):
    r = verify(copy)
    assert r.exit_code == 0, r.output


def test_a_stale_state_json_is_found(copy):
    """load_from_disk reads state.json's files: one that lists fewer shards loses rows
    silently, and verify says so."""
    edit_json(copy / "state.json", lambda s: s["_data_files"].clear())
    r = verify(copy)
    assert r.exit_code == 1 and "state.json lists 0 file(s)" in r.output, r.output
    assert "load_from_disk" in r.output


def test_the_eval_split_is_checked(copy):
    probe = next((copy / "eval").glob("data-*.arrow"))
    probe.write_bytes(probe.read_bytes()[:-8] + b"\0" * 8)
    r = verify(copy)
    assert r.exit_code == 1 and f"eval/{probe.name}: sha256 differs" in r.output, r.output


def test_a_shard_named_as_a_path_is_never_opened(copy):
    edit_json(
        copy / "manifest.json", lambda m: m["shards"][0].update(file="../../../../etc/passwd")
    )
    r = verify(copy)
    assert r.exit_code == 2 and "is not a shard file name" in r.stderr, r.output
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_run_killed_before_its_first_shard_verifies_as_unfinished(tmp_path):
    out = tmp_path / "k"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"version": 1, "status": "running"}))
    r = verify(out)
    assert r.exit_code == 1 and "did not finish" in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_export_checks_sha256_before_reading(copy, tmp_path):
    shard = next(copy.glob("data-*.arrow"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same size, one byte changed
    shard.write_bytes(bytes(data))
    r = CliRunner().invoke(
        cli, ["export", str(copy), "--to", "jsonl", "--dest", str(tmp_path / "e")]
    )
    assert r.exit_code == 2 and "sha256" in r.stderr, r.output
    assert not (tmp_path / "e").exists() or not any((tmp_path / "e").iterdir())
    assert len(datasets.load_from_disk(str(copy))) > 0  # the folder itself still opens
