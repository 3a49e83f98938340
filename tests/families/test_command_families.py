"""The command tier: instruction families and their templates.

Every template renders cleanly for many seeds and difficulties, its reply carries the
exact expected output (an `Answer:` line for one-line outputs, a verbatim fenced block
for multi-line ones), its formal form re-derives the answer, its family's scorer
accepts the answer and rejects a corrupted one, and items are deterministic and varied.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import json
import re
import shutil

import pytest
import yaml

import synth.families.instruction  # noqa: F401  (registers the families)
from synth.curriculum.tier import load_tier
from synth.families.base import FAMILIES, ItemContext, Scope
from synth.families.instruction import code_transform as code_mod
from synth.families.instruction import command_program as prog_mod
from synth.families.instruction import number_format as num_mod
from synth.families.instruction import string_transform as str_mod
from synth.families.instruction.common import render_safe
from synth.paths import data_dir
from synth.rng import derive_seed, rng_for
from synth.templating import TemplateLibrary
from synth.templating.item import render_item

TEMPLATES = data_dir("templates")
COMMAND_DIR = TEMPLATES / "en" / "command"
TIDS = sorted(f"command.{p.stem}" for p in COMMAND_DIR.glob("*.j2") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> TemplateLibrary:
    """A pack with only the command templates (other tiers' templates are not ours to test)."""
    root = tmp_path_factory.mktemp("pack")
    shutil.copytree(COMMAND_DIR, root / "en" / "command")
    return TemplateLibrary([root], builtin=False)


def make_item(lib: TemplateLibrary, tid: str, seed: int, difficulty: int, split: str = "train"):
    """Draw and render one item on the producer's path (`render_item`)."""
    rng = rng_for(derive_seed(seed, "command", split, tid, 0, seed))
    s = render_item(lib, lib.spec(tid), None, rng, difficulty, Scope(), split=split, position=seed)
    return s.draw, s.messages


def items(lib: TemplateLibrary, tid: str, seeds: int = 12):
    lo, hi = lib.spec(tid).difficulty
    for d in range(lo, hi + 1):
        for s in range(seeds):
            draw, msgs = make_item(lib, tid, 1000 * d + s, d)
            yield d, draw, msgs


def reply_of(messages: list[dict]) -> str:
    return [m["content"] for m in messages if m["role"] == "assistant"][-1]


def corrupt(text: str) -> str:
    """Change the last letter or digit of `text` into another one."""
    for i in range(len(text) - 1, -1, -1):
        c = text[i]
        if c.isdigit():
            return text[:i] + str((int(c) + 1) % 10) + text[i + 1 :]
        if c.isalpha():
            nxt = "b" if c.lower() == "a" else "a"
            return text[:i] + (nxt.upper() if c.isupper() else nxt) + text[i + 1 :]
    return text + "x"


# -- templates and the curriculum ------------------------------------------------------------


def test_enough_templates(lib):
    assert len(TIDS) >= 8
    families = set()
    for tid in TIDS:
        spec = lib.spec(tid)
        assert spec.kind == "instruction" and spec.shape == "chat" and spec.lang == "en"
        assert spec.family in FAMILIES and FAMILIES[spec.family].kind == "instruction"
        assert spec.difficulty[0] <= spec.difficulty[1]
        families.add(spec.family)
    assert families == {n for n, f in FAMILIES.items() if f.kind == "instruction"}


def test_curriculum_names_every_template_and_layers_concepts(lib):
    cfg = load_tier("command")
    assert cfg.tier == "command" and cfg.world == {}
    assert sorted(cfg.templates) == TIDS
    assert cfg.sample_tokens == (30, 600)
    introduced: dict[str, str] = {}
    for tid in TIDS:
        for c in lib.spec(tid).introduces:
            assert c not in introduced, f"{c} introduced by {introduced[c]} and {tid}"
            introduced[c] = tid
    seen: set[str] = set()
    for stage in cfg.stages:
        assert set(stage.concepts) <= set(introduced), stage.name
        seen |= set(stage.concepts)
        for tid in stage.templates:
            spec = lib.spec(tid)
            assert set(spec.introduces) <= seen, (stage.name, tid)
            assert set(spec.requires) <= seen, (stage.name, tid)
            lo, hi = spec.difficulty
            assert lo <= stage.difficulty[1] and stage.difficulty[0] <= hi, (stage.name, tid)
    assert seen == set(introduced)


def test_concept_graph_checks(lib):
    from synth.curriculum.concepts import build_graph

    graph = build_graph(load_tier("command"), lib)
    assert graph.stage_introduces[0][0] == "format.basic"


# -- every template ----------------------------------------------------------------------------


@pytest.mark.parametrize("tid", TIDS)
def test_renders_with_exact_answer(lib, tid):
    for d, draw, msgs in items(lib, tid):
        roles = [m["role"] for m in msgs]
        assert roles in (["user", "assistant"], ["system", "user", "assistant"]), roles
        for m in msgs:
            assert (
                "{{" not in m["content"] and "{%" not in m["content"] and "{#" not in m["content"]
            )
            assert m["content"] == m["content"].strip() and m["content"]
        answer = draw.answer
        assert answer and render_safe(answer, indented=True), repr(answer)
        assert draw.difficulty == d
        formal = draw.formal
        assert set(formal) - {"steps"} == {"task", "input", "expected"}
        assert formal["expected"] == answer
        if "steps" in formal:  # the worked trace a reply may write, from the same state
            pairs = draw.vars.get("pairs")
            written = [b for _, b in pairs] if pairs else draw.vars["trace"]
            assert formal["steps"] == written
        json.dumps(formal)
        assert draw.vars["expected"] == answer
        reply = reply_of(msgs)
        assert answer in reply
        last = reply.split("\n")[-1]
        if "\n" in answer:
            assert draw.vars["multiline"] is True
            assert re.search(r"```[a-z]*\n" + re.escape(answer) + r"\n```", reply), reply
            assert not last.startswith("Answer:")
        else:
            assert last == f"Answer: {answer}", (tid, reply)


@pytest.mark.parametrize("tid", TIDS)
def test_scorer_accepts_expected_and_rejects_corruption(lib, tid):
    score = FAMILIES[lib.spec(tid).family].score
    for _, draw, msgs in items(lib, tid, seeds=4):
        answer = draw.answer
        reply = reply_of(msgs)
        bad = corrupt(answer)
        assert bad != answer
        assert score(answer, answer)
        assert score(reply, answer), reply
        assert not score(bad, answer), (answer, bad)
        assert not score(reply.replace(answer, bad), answer)


@pytest.mark.parametrize("tid", TIDS)
def test_deterministic(lib, tid):
    lo, hi = lib.spec(tid).difficulty
    for seed in range(5):
        a = make_item(lib, tid, seed, hi)
        b = make_item(lib, tid, seed, hi)
        assert a[1] == b[1]
        assert a[0].answer == b[0].answer and a[0].formal == b[0].formal


@pytest.mark.parametrize("tid", TIDS)
def test_diverse(lib, tid):
    lo, hi = lib.spec(tid).difficulty
    users = set()
    for i in range(200):
        _, msgs = make_item(lib, tid, i, lo + i % (hi - lo + 1))
        users.add([m["content"] for m in msgs if m["role"] == "user"][0])
    assert len(users) > 150, len(users)


def test_sample_lengths_fit_the_band(lib):
    tokenizer = pytest.importorskip("synth.tokenizer").load_tokenizer("qwen2.5")
    from synth.chat import get_format

    fmt = get_format("qwen2.5")
    lo_band, hi_band = load_tier("command").sample_tokens
    for tid in TIDS:
        lo, hi = lib.spec(tid).difficulty
        texts = [fmt(make_item(lib, tid, s, d)[1]) for d in (lo, hi) for s in range(25)]
        counts = tokenizer.count(texts)
        assert lo_band <= min(counts) and max(counts) <= hi_band, (tid, min(counts), max(counts))


# -- the families' answers, re-derived independently -----------------------------------------------


def _draws(family: str, params: dict, n: int = 40, difficulties=range(1, 9)):
    for d in difficulties:
        for s in range(n):
            ctx = ItemContext(
                rng=rng_for("t", family, d, s),
                world=None,
                difficulty=d,
                params=FAMILIES[family].parse_params(params, "test"),
                lang="en",
                split="train",
                scope=Scope(),
                position=s,
            )
            yield d, FAMILIES[family].fn(ctx)


def test_number_format_reference_values():
    assert num_mod.to_roman(1994) == "MCMXCIV" and num_mod.to_roman(3999) == "MMMCMXCIX"
    assert num_mod.to_words(0) == "zero"
    assert (
        num_mod.to_words(1234567)
        == "one million two hundred thirty-four thousand five hundred sixty-seven"
    )
    assert num_mod.to_words(2010, british=True) == "two thousand and ten"
    assert num_mod.to_words(105, british=True) == "one hundred and five"
    assert [num_mod.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 112, 123)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "112th", "123rd"]  # fmt: skip
    assert num_mod.group("1234567", ",") == "1,234,567" and num_mod.group("999", ",") == "999"


def test_number_format_answers():
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}

    def from_roman(s: str) -> int:
        total = 0
        for a, b in zip(s, s[1:] + " ", strict=True):
            v = values[a]
            total += -v if b != " " and values[b] > v else v
        return total

    for _, draw in _draws("number_format", {}):
        inp, exp = draw.formal["input"], draw.answer
        op, value = inp["op"], inp["value"]
        if op == "roman":
            assert from_roman(exp) == int(value) and num_mod.to_roman(int(value)) == exp
        elif op == "from_roman":
            assert from_roman(value) == int(exp)
        elif op == "to_base":
            assert int(exp, inp["base"]) == int(value)
        elif op == "from_base":
            assert int(value, inp["base"]) == int(exp)
        elif op == "group":
            assert (
                exp.replace(inp["sep"], "").replace(inp["dec"], ".") == value
                if inp["frac"]
                else exp.replace(inp["sep"], "") == value
            )
        elif op == "pad":
            assert exp == value.zfill(inp["width"]) and len(exp) == inp["width"]
        elif op == "round":
            assert abs(float(exp) - float(value)) <= 0.5 * 10 ** -inp["k"] + 1e-9
            assert len(exp.partition(".")[2]) == inp["k"]


def test_string_transform_answers():
    for _, draw in _draws("string_transform", {"steps": "chain"}):
        steps, trace = draw.vars["steps"], draw.vars["trace"]
        assert trace[-1] == draw.answer and len(steps) == len(trace)
        assert len({s["op"] for s in steps}) == len(steps)
        s = draw.vars["text"]
        for st, out in zip(steps, trace, strict=True):
            if st["op"] == "reverse":
                assert out == s[::-1]
            elif st["op"] == "caesar":
                assert str_mod.caesar(out, st["k"] if st["back"] else -st["k"]) == s
            elif st["op"] == "remove_vowels":
                assert out == re.sub("[aeiouAEIOU]", "", s)
            elif st["op"] == "count_char":
                assert out == str(s.count(st["c"]))
            elif st["op"] == "length":
                assert out == str(len(s))
            s = out
    assert str_mod.caesar("Zebra-9", 3) == "Cheud-9"


def test_list_ops_answers():
    for _, draw in _draws("list_ops", {"steps": 1}):
        items_, (step,) = draw.formal["input"]["items"], draw.formal["input"]["steps"]
        op = step["op"]
        if op in ("sum", "max", "min", "count"):
            assert draw.answer == str(
                {"sum": sum, "max": max, "min": min, "count": len}[op](items_)
            )
        elif op == "dedupe":
            assert len(draw.vars["trace"][0]) <= len(draw.vars["items_text"])
        if draw.vars["fmt"] == "json" and not draw.vars["scalar"]:
            json.loads(draw.answer)


def test_symbolic_mapping_answers():
    for _, draw in _draws("symbolic_mapping", {"mode": "lexicon"}, difficulties=range(1, 7)):
        inp = draw.formal["input"]
        x2en = dict(inp["lexicon"])
        en2x = {e: x for x, e in inp["lexicon"]}
        words = inp["source"].split()
        table = x2en if inp["direction"] == "to_english" else en2x
        out = [table[w] for w in words]
        if inp["reversed_order"]:
            out = out[::-1]
        assert " ".join(out) == draw.answer
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _, draw in _draws("symbolic_mapping", {"mode": "cipher"}, difficulties=range(1, 7)):
        inp = draw.formal["input"]
        plain, coded = (
            (inp["source"], draw.answer)
            if inp["direction"] == "encode"
            else (draw.answer, inp["source"])
        )
        if inp["cipher"] == "substitution":
            key = dict(inp["key"])
            assert "".join(key.get(c, c) for c in plain) == coded
        elif inp["cipher"] == "mirror":
            assert (
                "".join(letters[25 - letters.index(c)] if c in letters else c for c in plain)
                == coded
            )
        elif inp["cipher"] == "digits":
            key = dict(inp["key"])
            assert "-".join(key[c] for c in plain) == coded
        else:
            assert "-".join(str(letters.index(c) + 1 + inp["offset"]) for c in plain) == coded


def _parse_records(text: str, fmt: str) -> list[dict]:
    def typed(v: str):
        if v in ("true", "false"):
            return v == "true"
        for cast in (int, float):
            with contextlib.suppress(ValueError):
                return cast(v)
        return v

    if fmt == "json":
        return json.loads(text)
    if fmt == "jsonl":
        return [json.loads(ln) for ln in text.split("\n")]
    if fmt == "yaml":
        return yaml.safe_load(text)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
    else:
        rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in text.split("\n")]
        rows = [rows[0]] + rows[2:]
    return [{k: typed(v) for k, v in zip(rows[0], r, strict=True)} for r in rows[1:]]


def test_record_format_answers():
    layouts = set()
    for _, draw in _draws("record_format", {"mode": "render"}, difficulties=range(1, 7)):
        inp = draw.formal["input"]
        got = _parse_records(draw.answer, inp["format"])
        assert got == inp["records"]
        assert [list(r) for r in got] == [inp["fields"]] * len(got)
        layouts.add(inp["layout"])
    assert layouts >= {"pretty", "block"}
    for _, draw in _draws("record_format", {"mode": "convert"}, difficulties=range(2, 7)):
        inp = draw.formal["input"]
        assert _parse_records(inp["source"], inp["source_format"]) == _parse_records(
            draw.answer, inp["format"]
        )


class _Renamer(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]):
        self.names = names

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node


def test_code_rename_answers():
    for _, draw in _draws("code_transform", {"mode": "rename"}, difficulties=range(1, 6)):
        code = draw.formal["input"]["code"]
        tree = _Renamer(dict(draw.formal["input"]["renames"])).visit(ast.parse(code))
        assert ast.dump(tree) == ast.dump(ast.parse(draw.answer))
        assert draw.answer != code


def test_code_loop_answers_behave_alike():
    samples = {
        "int": [3, -1, 4, 10, 0, 25, 4],
        "str": ["ant", "bee", "Owl", "emu", "kiwi", "elk", "ant"],
    }
    filtered = set()
    for _, draw in _draws("code_transform", {"mode": "loop"}, difficulties=range(1, 6)):
        v = draw.vars
        results = []
        for code in (v["code"], draw.answer):
            ns = {v["src_name"]: list(samples[v["item_type"]])}
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, "<snippet>", "exec"), ns)  # noqa: S102 - our own generated code
            results.append(ns[v["out_name"]])
        assert results[0] == results[1]
        filtered.add(v["filtered"])
        depth = max(
            len(ln) - len(ln.lstrip("\t ")) for ln in (v["code"] + "\n" + draw.answer).split("\n")
        )
        assert depth <= 8
    assert filtered == {False, True}


def test_code_uses_the_renderers_indentation():
    """Indentation survives rendering."""
    for _, draw in _draws("code_transform", {"mode": "loop"}, n=10, difficulties=range(1, 6)):
        assert render_safe(draw.answer, indented=True)
    assert code_mod.INDENT in ("\t", "    ")


def _run_program(
    machine: str, opcodes: dict[str, str], lines: list[str], registers: list[str]
) -> list[int]:
    """An independent interpreter for the mini language, from the formal form."""
    regs = {r: 0 for r in registers}

    def val(a: str) -> int:
        return regs[a] if a in regs else int(a)

    stack: list[int] = []
    out = []
    for line in lines:
        name, *args = line.split()
        op = opcodes[name]
        if machine == "registers":
            r = args[0] if args else None
            if op == "set":
                regs[r] = int(args[1])
            elif op == "add":
                regs[r] += val(args[1])
            elif op == "sub":
                regs[r] -= val(args[1])
            elif op == "mul":
                regs[r] *= int(args[1])
            elif op == "swap":
                regs[r], regs[args[1]] = regs[args[1]], regs[r]
            elif op == "copy":
                regs[r] = regs[args[1]]
            elif op == "inc":
                regs[r] += 1
            elif op == "dec":
                regs[r] -= 1
            else:
                out.append(regs[r])
        else:
            if op == "push":
                stack.append(int(args[0]))
            elif op == "pop":
                stack.pop()
            elif op == "dup":
                stack.append(stack[-1])
            elif op == "swap":
                stack[-2:] = stack[-2:][::-1]
            elif op in ("add", "sub", "mul"):
                b, a = stack.pop(), stack.pop()
                stack.append(a + b if op == "add" else a - b if op == "sub" else a * b)
            else:
                out.append(stack[-1])
    return out


def test_command_program_answers():
    for _, draw in _draws("command_program", {"mode": "program"}, difficulties=range(2, 8)):
        inp = draw.formal["input"]
        out = _run_program(inp["machine"], inp["opcodes"], inp["program"], inp["registers"])
        assert " ".join(map(str, out)) == draw.answer
    for _, draw in _draws("command_program", {"mode": "steps"}, difficulties=range(1, 7)):
        steps = draw.formal["input"]["steps"]
        assert prog_mod.run_steps(steps)[-1] == draw.answer
        assert steps[0]["op"] == "start" and len(steps) >= 3


def test_scorers_are_lenient_only_where_harmless():
    assert FAMILIES["list_ops"].score("Answer: [1,2, 3]", "[1, 2, 3]")
    assert not FAMILIES["list_ops"].score("Answer: [1, 3, 2]", "[1, 2, 3]")
    assert FAMILIES["number_format"].score(
        "Answer: One thousand, two hundred", "one thousand two hundred"
    )
    assert not FAMILIES["string_transform"].score("Answer: helloworld", "helloWorld")
    assert FAMILIES["code_transform"].score(
        "```python\nx = [a*2 for a in b]\n```", "x = [a * 2 for a in b]"
    )
    assert FAMILIES["record_format"].score('```json\n[{"a": 1}]\n```', '[\n{"a": 1}\n]')
    assert not FAMILIES["record_format"].score('```json\n[{"a": 2}]\n```', '[\n{"a": 1}\n]')
    assert not FAMILIES["command_program"].score("no answer here", "7")
    assert not FAMILIES["string_transform"].score(None, "x")  # type: ignore[arg-type]
