"""Bad input, table-driven: every class of careless or hostile input gives exit code 2 and
one line under 300 characters, never a traceback, and leaves the output folder as it
was. One row per input class; each builds its files in a fresh folder."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.paths import data_dir

COMMAND = (data_dir("curricula") / "command.yaml").read_text(encoding="utf-8")
BOMB = "".join(  # nine levels of nine aliases: a billion strings
    f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
    for i in range(9)
)
NESTED = "[" * 20_000 + "]" * 20_000


def tier(d: Path, old: str, new: str, extra: str = "") -> str:
    assert old in COMMAND
    (d / "t.yaml").write_text(extra + COMMAND.replace(old, new, 1), encoding="utf-8")
    return str(d / "t.yaml")


def pack(d: Path, body: str = "", front: str = "") -> str:
    """A pack whose command.string_basic (a template of the tier) is the built-in one with
    `front` added to its front matter and `body` to its user turn."""
    text = (data_dir("templates") / "en" / "command" / "string_basic.j2").read_text()
    text = text.replace("---\nid:", f"---\n{front}id:", 1).replace(
        "{% block user %}", "{% block user %}" + body, 1
    )
    p = d / "pack" / "en" / "command"
    p.mkdir(parents=True)
    (p / "string_basic.j2").write_text(text)
    return str(d / "pack")


def world(d: Path, text: str, name: str = "w.yaml") -> str:
    (d / name).write_text(text, encoding="utf-8")
    return str(d / name)


def unwritable(d: Path) -> str:
    if os.geteuid() == 0:  # root writes anywhere but in /sys
        return "/sys/synth-test/out"
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return str(ro / "out")


def jsonl(d: Path, line: str, name: str = "in.jsonl") -> str:
    (d / name).write_text('{"text": "a first line that is fine"}\n' + line + "\n")
    return str(d / name)


def gz(d: Path, cut: bool) -> str:
    data = gzip.compress(b'{"text": "hello world, a sample"}\n' * 2000)
    (d / "in.jsonl.gz").write_bytes(data[: len(data) // 2] if cut else b"not gzip at all\n")
    return str(d / "in.jsonl.gz")


GEN = ["generate", "--tokens", "20k", "-q", "--workers", "1"]
Case = tuple[Callable[[Path], list[str]], tuple[str, ...]]

GENERATE_CASES: dict[str, Case] = {
    "unwritable --out": (lambda d: [*GEN, "--out", unwritable(d)], ("--out", "cannot")),
    "--out under a file": (
        lambda d: ((d / "f").write_text("x"), [*GEN, "--out", str(d / "f" / "o")])[1],
        ("--out", "is a file"),
    ),
    "binary curricula file": (
        lambda d: (
            (d / "b.yaml").write_bytes(bytes(range(256)) * 8),
            [*GEN, "--tier", str(d / "b.yaml")],
        )[1],
        ("b.yaml", "not a UTF-8 text file"),
    ),
    "stage weight abc": (
        lambda d: [
            *GEN,
            "--tier",
            tier(
                d,
                "templates: [command.string_basic, command.list_basic,",
                "templates: {command.string_basic: abc, command.list_basic: 1}\n#",
            ),
        ],
        ("t.yaml", "weight", "'abc'"),
    ),
    "share .nan": (
        lambda d: [*GEN, "--tier", tier(d, "share: 0.25", "share: .nan")],
        ("share", "nan"),
    ),
    "share .inf": (
        lambda d: [*GEN, "--tier", tier(d, "share: 0.25", "share: .inf")],
        ("share", "inf"),
    ),
    "template weight .nan": (
        lambda d: [
            *GEN,
            "--tier",
            tier(d, "command.string_basic: 1.0", "command.string_basic: .nan"),
        ],
        ("weight", "nan"),
    ),
    "probes: -5": (
        lambda d: [*GEN, "--tier", tier(d, "probes: 400", "probes: -5")],
        ("probes", "-5"),
    ),
    "deeply nested tier YAML": (
        lambda d: [*GEN, "--tier", tier(d, "filters:", f"deep: {NESTED}\nfilters:")],
        ("t.yaml", "nested"),
    ),
    "alias bomb in a tier file": (
        lambda d: [*GEN, "--tier", tier(d, "filters:", "filters:", extra=BOMB)],
        ("t.yaml", "alias"),
    ),
    "alias bomb in a world": (
        lambda d: [
            *GEN,
            "--tier",
            "ontology",
            "--world",
            world(d, BOMB + "kinds:\n  bird:\nentities:\n  Pip: {kind: bird}\n"),
        ],
        ("w.yaml", "alias"),
    ),
    "alias bomb as a world's name": (
        lambda d: [
            *GEN,
            "--tier",
            "ontology",
            "--world",
            world(d, BOMB + "name: *a8\nkinds:\n  bird:\nentities:\n  Pip: {kind: bird}\n"),
        ],
        ("w.yaml", "alias"),
    ),
    "deeply nested world": (
        lambda d: [*GEN, "--tier", "ontology", "--world", world(d, f"kinds: {NESTED}\n")],
        ("w.yaml", "nested"),
    ),
    "world without entities": (
        lambda d: [*GEN, "--tier", "ontology", "--world", world(d, "kinds:\n  bird:\n")],
        ("w.yaml", "no entities"),
    ),
    "classes-only ontology": (
        lambda d: [
            *GEN,
            "--tier",
            "ontology",
            "--world",
            world(
                d,
                "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n@prefix ex: <http://e.org/> .\n"
                "ex:Bird a owl:Class .\n",
                "w.ttl",
            ),
        ],
        ("w.ttl", "no entities"),
    ),
    "empty ontology": (
        lambda d: [*GEN, "--tier", "ontology", "--world", world(d, "", "w.ttl")],
        ("w.ttl", "no entities"),
    ),
    "5,000 nested parentheses in a template": (
        lambda d: [*GEN, "--templates", pack(d, "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")],
        ("string_basic.j2", "nested too deeply"),
    ),
    "alias bomb in front matter": (
        lambda d: [*GEN, "--templates", pack(d, front=BOMB.replace("x", "y"))],
        ("string_basic.j2", "alias"),
    ),
    "--llm-option alias bomb": (
        lambda d: [*GEN, "--llm-option", "stop=" + "{" + BOMB.replace("\n", ", ")[:-2] + "}"],
        ("--llm-option", "alias"),
    ),
    "--tokens with 5000 digits": (lambda d: [*GEN, "--tokens", "9" * 5000], ("--tokens",)),
    "--lang share nan": (lambda d: [*GEN, "--lang", "en:nan"], ("--lang",)),
}


def filter_cases(cmd: str) -> dict[str, Case]:
    args = ["filter", "--quiet", "--overwrite"] if cmd == "filter" else ["qa", "-q"]
    return {
        f"{cmd}: {name}": (lambda d, make=make: [*args, make(d)], needles)
        for name, (make, needles) in {
            "JSONL nested 100k deep": (
                lambda d: jsonl(d, '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"),
                ("in.jsonl:2", "nested"),
            ),
            "a lone surrogate": (
                lambda d: jsonl(d, '{"text": "half a pair \\ud800 here"}'),
                ("in.jsonl:2", "surrogate"),
            ),
            "a fake .gz": (lambda d: gz(d, cut=False), ("in.jsonl.gz", "gzip")),
            "a truncated .gz": (lambda d: gz(d, cut=True), ("in.jsonl.gz", "cut short")),
            "a 5000-digit integer": (
                lambda d: jsonl(d, '{"text": "big", "n": ' + "9" * 5000 + "}"),
                ("in.jsonl:2", "number"),
            ),
        }.items()
    }


CASES = {**GENERATE_CASES, **filter_cases("filter"), **filter_cases("qa")}


def snapshot(d: Path) -> dict[str, bytes] | None:
    if not d.exists():
        return None
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_out_as_it_was(tmp_path, name):
    make, needles = CASES[name]
    args = make(tmp_path)
    out = tmp_path / "out"
    if args[0] == "filter":  # an earlier output that a failed --overwrite must not touch
        (out / "rejected").mkdir(parents=True)
        (out / "filter.json").write_text(json.dumps({"output": {"files": []}}))
        (out / "rejected" / "rejected.jsonl").write_text("{}\n")
    if "--out" not in args:
        args += ["--out", str(out)]
    before = snapshot(out)
    r = CliRunner().invoke(cli, args)
    assert isinstance(r.exception, SystemExit), f"{type(r.exception).__name__}: {r.exception}"
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("synth: error: "), r.stderr
    assert len(lines[0]) < 300, lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    assert snapshot(out) == before
