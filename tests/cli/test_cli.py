"""Bad input gets one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import synth


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "synth", *args], capture_output=True, text=True, timeout=300
    )


def one_line_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_unknown_tier(tmp_path):
    one_line_error(
        run("generate", "--tier", "bogus", "--out", str(tmp_path / "o")), "bogus", "--tier"
    )


@pytest.mark.parametrize("tokens", ["abc", "0", "-5", "5Q"])
def test_bad_tokens(tmp_path, tokens):
    one_line_error(
        run("generate", "--tier", "command", "--out", str(tmp_path / "o"), "--tokens", tokens),
        "--tokens",
    )


def _pack(tmp_path: Path, body: str, front_extra: str = "") -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "t.j2").write_text(
        "---\nid: ontology.qa_attribute\nkind: ontology\nlang: en\nfamily: attribute_question\nshape: chat\n"
        + front_extra
        + "---\n"
        + body
    )
    return pack


def generate_with(pack: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`synth generate` of a small ontology corpus with an extra template pack."""
    out = str(tmp_path / "o")
    return run(
        "generate",
        "--tier",
        "ontology",
        "--out",
        out,
        "--tokens",
        "50k",
        "--templates",
        str(pack),
        "-q",
    )


def test_broken_template_names_file_and_line(tmp_path):
    pack = _pack(
        tmp_path,
        "{% block user %}\nhello\n{% if %}\n{% endblock %}\n{% block assistant %}x{% endblock %}\n",
    )
    p = generate_with(pack, tmp_path)
    one_line_error(p, "t.j2:10")


def test_undefined_variable_names_file_and_line(tmp_path):
    pack = _pack(
        tmp_path,
        "{% block user %}\n{{ no_such_thing.name }}\n{% endblock %}\n{% block assistant %}x{% endblock %}\n",
    )
    p = generate_with(pack, tmp_path)
    one_line_error(p, "t.j2:9", "no_such_thing")


def test_unreadable_front_matter(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "bad.j2").write_text("---\nid: [unclosed\n---\nbody\n")
    p = generate_with(pack, tmp_path)
    one_line_error(p, "bad.j2")


def test_refuses_a_different_corpus_unless_overwrite(tmp_path):
    out = tmp_path / "o"
    synth.generate(synth.GenerateConfig(tier="command", out=str(out), tokens="30k", progress=False))
    before = {p.name: p.read_bytes() for p in out.glob("data-*.arrow")}
    p = run("generate", "--tier", "command", "--out", str(out), "--tokens", "40k", "-q")
    one_line_error(p, "different corpus", "budget")
    assert {p.name: p.read_bytes() for p in out.glob("data-*.arrow")} == before, (
        "nothing written is lost"
    )
    p = run(
        "generate", "--tier", "command", "--out", str(out), "--tokens", "40k", "-q", "--overwrite"
    )
    assert p.returncode == 0, p.stderr
    # the same command again finds the corpus complete and leaves it alone
    p = run("generate", "--tier", "command", "--out", str(out), "--tokens", "40k", "-q")
    assert p.returncode == 0 and "already complete" in p.stderr + p.stdout


def test_foreign_folder_is_refused(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    one_line_error(
        run("generate", "--tier", "command", "--out", str(out), "--tokens", "30k", "-q"),
        "not empty",
    )
    assert (out / "notes.txt").read_text() == "mine"


def test_help_teaches():
    p = run("generate", "--help")
    assert p.returncode == 0
    for word in ("--tier", "--tokens", "load_from_disk", "Examples"):
        assert word in p.stdout


def test_a_run_that_drops_mostly_duplicates_says_so(tmp_path):
    from synth.cli.generate import REJECTED_NOTE_SHARE, rejection_note
    from synth.generation.run import rejected_share

    out = tmp_path / "o"
    guild = Path(__file__).parents[1] / "data" / "worlds" / "guild.yaml"
    args = ("--tier", "ontology", "--world", str(guild), "--tokens", "40k", "-q", "--workers", "1")
    p = run("generate", "--out", str(out), *args)
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "manifest.json").read_text())
    t = m["totals"]
    assert rejected_share(t["rejected"], t["drawn"]) < REJECTED_NOTE_SHARE
    assert "note:" not in p.stderr and rejection_note(m) is None

    # The same world at a budget far beyond it: duplicates dominate what was drawn.
    for reason in ("exact_dup", "near_dup"):
        m["filters"]["corpus"]["rejected"][reason] = 20 * (
            m["filters"]["corpus"]["rejected"].get(reason, 0) + 10
        )
    t["rejected"] = sum(m["filters"]["corpus"]["rejected"].values())
    t["drawn"] = t["rows"] + t["rejected"] + t["trimmed"]
    note = rejection_note(m)
    assert note is not None and "exact_dup" in note and "world is small" in note
    m["filters"]["corpus"]["rejected"] = {"template_share": t["rejected"]}
    assert "template_share" in rejection_note(m) and "world" not in rejection_note(m)


def test_a_budget_beyond_what_the_world_can_say_stops_at_once_naming_its_capacity(tmp_path):
    guild = Path(__file__).parents[1] / "data" / "worlds" / "guild.yaml"
    args = ("--tier", "ontology", "--world", str(guild), "-q", "--workers", "1")
    p = run("generate", "--out", str(tmp_path / "o"), "--tokens", "5M", *args)
    one_line_error(p, "--tokens", "guild.yaml can say about", "--allow-repeat")
    assert not (tmp_path / "o").exists()
    said = p.stderr.split("give --tokens ", 1)[1].split(" ", 1)[0]
    p = run("generate", "--out", str(tmp_path / "o"), "--tokens", said, *args)
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["totals"]["rejected"] <= 0.1 * m["totals"]["drawn"], m["totals"]
    p = run("generate", "--out", str(tmp_path / "r"), "--tokens", "200k", "--allow-repeat", *args)
    assert p.returncode == 0, p.stderr


def test_a_param_typo_in_front_matter_is_one_line_naming_the_template(tmp_path):
    pack = tmp_path / "pack" / "en"
    pack.mkdir(parents=True)
    src = (synth_templates() / "en" / "command" / "string_chain.j2").read_text()
    assert "params: {steps: chain}" in src
    (pack / "string_chain.j2").write_text(
        src.replace("params: {steps: chain}", "params: {stepz: chain}")
    )
    p = run("generate", "--tier", "command", "--templates", str(tmp_path / "pack"),
            "--out", str(tmp_path / "o"), "--tokens", "1000")  # fmt: skip
    one_line_error(p, "string_chain.j2:7", "unknown key 'stepz'", "string_transform")
    (pack / "string_chain.j2").write_text(
        src.replace("params: {steps: chain}", "params: {steps: 3}")
    )
    p = run("generate", "--tier", "command", "--templates", str(tmp_path / "pack"),
            "--out", str(tmp_path / "o"), "--tokens", "1000")  # fmt: skip
    one_line_error(p, "string_chain.j2:7", "'steps' must be one of 1, chain")
    assert not (tmp_path / "o").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "change, needles",
    [
        (("stages:", "stage:"), ("unknown key 'stage'", "known:")),
        (("    share: 0.25", "    shares: 0.25"), ("unknown key 'shares' in stages[0]",)),
        (("budget: 100M", "budget: 100M\nbugdet: 5M"), ("unknown key 'bugdet'",)),
    ],
)
def test_an_unknown_tier_key_is_one_line_naming_file_and_key(tmp_path, change, needles):
    text = (synth_curricula() / "command.yaml").read_text()
    assert change[0] in text
    tier = tmp_path / "my.yaml"
    tier.write_text(text.replace(change[0], change[1], 1))
    one_line_error(
        run("generate", "--tier", str(tier), "--out", str(tmp_path / "o"), "--tokens", "1000"),
        str(tier),
        *needles,
    )


def synth_templates() -> Path:
    from synth.paths import data_dir

    return data_dir("templates")


def synth_curricula() -> Path:
    from synth.paths import data_dir

    return data_dir("curricula")


@pytest.mark.parametrize(
    "tier,tokens",
    [
        ("command", "3k"),
        ("structural", "3k"),
        ("ontology", "3k"),
        ("ontology", "30k"),
        ("command", "150k"),
    ],
)
def test_drawn_is_kept_plus_rejected_plus_trimmed_in_manifest_bar_and_note(
    tmp_path, monkeypatch, tier, tokens
):
    """One ledger: what was drawn is kept, rejected by a filter, or trimmed (passed every
    filter but was not needed to meet the budget); the manifest, the progress bar and the
    closing note say the same, and trimmed rows are never counted as rejected (at 3k
    tokens nearly everything drawn is trimmed: a unit draws a batch, the budget needs a
    few rows)."""
    import re

    from click.testing import CliRunner

    from synth.cli import generate as generate_cmd
    from synth.cli.main import cli

    monkeypatch.setattr(generate_cmd, "REJECTED_NOTE_SHARE", 0.0)  # always write the note
    out = tmp_path / "o"
    args = ["generate", "--tier", tier, "--out", str(out), "--tokens", tokens, "--workers", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    m = json.loads((out / "manifest.json").read_text())
    t, f = m["totals"], m["filters"]
    filtered = sum(f["sample"]["rejected"].values()) + sum(f["corpus"]["rejected"].values())
    assert t["drawn"] == t["rows"] + t["rejected"] + t["trimmed"], t
    assert t["rejected"] == filtered, (t, f["sample"]["rejected"], f["corpus"]["rejected"])
    assert t["rows"] == sum(s["rows"] for s in m["shards"]) > 0
    said = re.findall(r"rejected ([\d.]+)% of ([\d,]+) drawn", result.stderr)
    assert len(said) >= 2, result.stderr
    bar, note = said[-2], said[-1]  # the bar's last figure, then the note's
    assert "note: filters rejected" in result.stderr
    want = (f"{100 * t['rejected'] / t['drawn']:.1f}", f"{t['drawn']:,}")
    assert bar == note == want, (bar, note, t)
    if tokens == "3k":
        assert t["trimmed"] > t["rows"] and t["rejected"] < t["trimmed"]
    else:
        assert t["trimmed"] > 0
