"""Every line right, not only the answer: the worked steps a text writes are the steps
`formal` computed, the oracle re-derives them from the task's input alone, and a system
prompt (or a request) that promises a behaviour is paired only with replies that show it."""

from __future__ import annotations

import json
import re

import pytest
from rederive import StepsMismatch, first_invalid_step, instruction_steps, rederive

from synth.curriculum.tier import load_tier
from synth.families.base import Scope
from synth.filters import build_sample_chain
from synth.filters.answer import ANSWER_LINE
from synth.filters.steps import (
    StepsFilter,
    proof_problem,
    shown_state,
    shows,
    trace_lines,
    written_steps,
)
from synth.rng import derive_seed, rng_for
from synth.row import Row
from synth.templating import TemplateLibrary
from synth.templating.item import render_item

ROWS = 2000
TEMPLATES = [
    (tier, tid, lang)
    for tier in ("command", "structural")
    for tid in load_tier(tier).templates
    for lang in ("en", "ru")
]


@pytest.fixture(scope="module")
def lib():
    return TemplateLibrary([], builtin=True)


def _row(response: str, formal: dict, *, kind: str = "instruction", lang: str = "en") -> Row:
    messages = [{"role": "user", "content": "?"}, {"role": "assistant", "content": response}]
    return Row(
        id="t/x/0", text=response, messages=messages, n_tokens=0, tier="t", kind=kind,
        template="t.x", lang=lang, stage=0, concepts=[], difficulty=1, answer=None,
        formal=json.dumps(formal, ensure_ascii=False), seed=0,
    )  # fmt: skip


# --- reading a trace ----------------------------------------------------------------------


def test_trace_lines_and_states_in_every_written_form():
    fenced = 'Step by step:\n\n```text\n1. "comet"\n2. cometcomet\n```\n\nAnswer: x'
    assert trace_lines(fenced) == ['1. "comet"', "2. cometcomet"]
    assert [shown_state(ln) for ln in trace_lines(fenced)] == ['"comet"', "cometcomet"]
    assert shows('"comet"', "comet") and shows('"comet"', '"comet"') and not shows("x", "y")
    program = "```text\nSET a 5 => a=5 b=0\nPUSH 3 ; [3]\nabc → cba\nafter step 2: xyz\n```"
    assert [shown_state(ln) for ln in trace_lines(program)] == ["a=5 b=0", "[3]", "cba", "xyz"]
    labelled = "1. Replace every `a` with `b`: `bbc`\n2. Reverse it: `cbb`\n\nAnswer: cbb"
    assert [shown_state(ln) for ln in trace_lines(labelled)] == ["`bbc`", "`cbb`"]
    bullets = "Word by word:\n- wug → dog\n- `blick` → `cat`\nAnswer: dog cat"
    assert [shown_state(ln) for ln in trace_lines(bullets)] == ["dog", "`cat`"]
    assert trace_lines("Answer: 42") == []
    # an unquoted state with a colon in it is read whole
    assert shown_state("3. abc: word") == "abc: word"


def test_the_old_mini_language_trace_is_rejected():
    """The register trace that showed a register before the line that sets it."""
    formal = {
        "task": "command.program.registers",
        "input": {
            "machine": "registers",
            "registers": ["r1", "r2", "r3"],
            "opcodes": {"DUN": "set", "PRT": "print"},
            "program": ["DUN r1 28", "DUN r2 13", "PRT r2"],
        },
        "expected": "13",
        "steps": ["r1=28 r2=0 r3=0", "r1=28 r2=13 r3=0", "r1=28 r2=13 r3=0"],
    }
    assert instruction_steps(formal) == (formal["steps"], "13")
    good = "```text\n" + "\n".join(
        f"{ln} => {st}" for ln, st in zip(formal["input"]["program"], formal["steps"])
    )
    good += "\n```\n\nAnswer: 13"
    old = good.replace("DUN r1 28 => r1=28 r2=0 r3=0", "DUN r1 28 => r1=28 r2=13 r3=0")
    f = StepsFilter()
    assert f.reason(_row(good, formal)) is None
    assert f.reason(_row(old, formal)) == "steps_wrong"
    assert f.reason(_row(good.replace("PRT r2 => r1=28 r2=13 r3=0\n", ""), formal)) == (
        "steps_wrong"
    )
    assert f.reason(_row("The program prints 13.\n\nAnswer: 13", formal)) is None  # no trace
    wrong = dict(formal, steps=["r1=28 r2=13 r3=0", *formal["steps"][1:]])
    with pytest.raises(StepsMismatch):
        rederive(wrong)
    # the chain the generator runs has the filter
    assert "steps" in build_sample_chain({}).names


def _proof_formal() -> dict:
    rule = {"id": "r1", "if": [["?x", "is_a", "wumpus"]], "then": ["?x", "is_a", "yumpus"]}
    rule2 = {"id": "r2", "if": [["?x", "is_a", "yumpus"]], "then": ["?x", "is", "luminous"]}
    return {
        "facts": [["Rex", "is_a", "wumpus"]],
        "rules": [rule, rule2],
        "query": ["Rex", "is", "luminous"],
        "assumption": "closed",
        "answer": "true",
        "proof": [
            {"rule": "r1", "uses": [["Rex", "is_a", "wumpus"]], "derives": ["Rex", "is_a", "yumpus"]},
            {"rule": "r2", "uses": [["Rex", "is_a", "yumpus"]], "derives": ["Rex", "is", "luminous"]},
        ],
    }  # fmt: skip


def test_a_proof_is_read_for_its_names_in_order_in_english_and_russian():
    f = _proof_formal()
    steps = written_steps(f)
    en = "Rex is a wumpus, so Rex is a yumpus. Yumpuses are luminous, so Rex is luminous."
    assert proof_problem(en, steps, "en") is None
    assert "not written" in proof_problem("Rex is a wumpus. So Rex is luminous.", steps, "en")
    assert "out of order" in proof_problem("Rex is luminous, since Rex is a yumpus.", steps, "en")
    assert proof_problem("Answer: True", steps, "en") is None  # no proof written
    ru = "Рекс — вумпус, значит, Рекс — иумпус. Иумпусы светящиеся, и Рекс светящийся."
    assert proof_problem(ru, steps, "ru") is None
    assert "not written" in proof_problem("Рекс — вумпус. Рекс светящийся.", steps, "ru")
    assert StepsFilter().reason(_row(en, f, kind="logic")) is None
    assert StepsFilter().reason(_row("Rex is luminous.", f, kind="logic")) == "steps_wrong"
    assert StepsFilter().reason(_row("Rex is luminous.", f, kind="ontology")) is None


def test_the_oracle_checks_every_derivation_step():
    f = _proof_formal()
    assert rederive(f) == "true"
    assert first_invalid_step(f["facts"], f["rules"], f["proof"]) == 0
    skipped = dict(f, proof=f["proof"][1:])  # uses a fact nothing established
    with pytest.raises(StepsMismatch, match="step 1"):
        rederive(skipped)
    wrong_rule = dict(f, proof=[dict(f["proof"][0], rule="r2"), f["proof"][1]])
    with pytest.raises(StepsMismatch, match="step 1"):
        rederive(wrong_rule)
    checked = dict(f, proof=[], answer="false", steps=f["proof"][::-1], first_invalid=1)
    checked["query"] = ["Rex", "is", "luminous"]
    rederive(dict(checked, answer="true", proof=f["proof"]))  # the flaw is where formal says
    with pytest.raises(StepsMismatch, match="first invalid"):
        rederive(dict(checked, answer="true", proof=f["proof"], first_invalid=2))


# --- 2,000 rows of every template ---------------------------------------------------------

WORKED = re.compile(
    r"step by step|one step at a time|show each deduction|show your work|after every step"
    r"|шаг за шагом|по шагам|по одному шагу|покажи каждый|показывай работу",
    re.I,
)
# "a loop that builds `xs` step by step" says how the code works, not how to reply
NOT_A_REQUEST = re.compile(r"builds `[^`]*` step by step|строит `[^`]*` шаг за шагом")
TERSE = re.compile(r"nothing more|terse|concise|ничего больше|немногословн|лаконичн", re.I)
TERSE_ASK = re.compile(
    r"code only|just the value|only the result|только кодом|одним значением|только результат",
    re.I,
)
CITES = re.compile(r"\bcite|citing|ссылайся|ссылаешься", re.I)
CITED = re.compile(r"(?:statement|premise|утверждени\w*|посылк\w*)\s+\d+", re.I)
DOUBLE_CHECK = re.compile(r"double-check|перепровер", re.I)
_FENCED = re.compile(r"```[^\n]*\n.*?```", re.S)


def _bare(response: str, lang: str) -> bool:
    """The reply is the answer alone: its Answer: line and code blocks, nothing else."""
    rest = ANSWER_LINE[lang].sub("", _FENCED.sub("", response))
    return not rest.strip()


def _shows_proof(response: str, formal: dict, lang: str) -> bool:
    steps = written_steps(formal)
    return bool(steps) and proof_problem(response, steps, lang) is None


def _check_row(sample, spec, i: int) -> list[str]:
    f, response, lang = sample.draw.formal, sample.response, spec.lang
    out = []
    row = Row(
        id=f"{spec.id}/{i}", text=sample.text or "", messages=sample.messages, n_tokens=0,
        tier="t", kind=spec.kind, template=spec.id, lang=lang, stage=0, concepts=[],
        difficulty=1, answer=sample.draw.answer, formal=json.dumps(f, ensure_ascii=False),
        seed=0,
    )  # fmt: skip
    # The text's worked trace is what the oracle re-derives from the task's input.
    if "task" in f:
        lines = trace_lines(response)
        if lines:
            got = instruction_steps(f)
            want = got[0] if got else None
            shown = [shown_state(ln) for ln in lines]
            if want is None or len(shown) != len(want):
                out.append(f"a trace of {len(shown)} lines for steps {want}")
            else:
                out += [
                    f"step {k} shows {a!r}, re-derived {b!r}"
                    for k, (a, b) in enumerate(zip(shown, want, strict=True), 1)
                    if not shows(a, b)
                ][:1]
    elif lang == "en" and spec.id != "structural.proof_check":
        # every written step states its conclusion, in the order formal has the steps
        at = 0
        views = sample.draw.vars.get("steps") or []
        if [s.get("formal") for s in views] != written_steps(f):
            out.append("the steps the text writes are not formal's")
        low = response.casefold()
        for s in views:
            k = low.find(s["derives"]["text"].casefold(), at)
            if k < 0:
                out.append(f"{s['derives']['text']!r} is not stated after step {at}")
                break
            at = k
    # formal's steps re-derive (and the answer with them)
    try:
        got = rederive(f)
        if sample.draw.answer is not None and got != sample.draw.answer:
            out.append(f"answer {sample.draw.answer!r}, re-derived {got!r}")
    except StepsMismatch as e:
        out.append(f"formal: {e}")
    # the filter reads the same
    if StepsFilter().reason(row) is not None:
        out.append("the steps filter rejects it")
    # what the system prompt (or the user) promises, the reply shows
    system = " ".join(m["content"] for m in sample.messages or [] if m["role"] == "system")
    user = " ".join(m["content"] for m in sample.messages or [] if m["role"] == "user")
    logic = "task" not in f
    if DOUBLE_CHECK.search(system):
        out.append(f"a double-check is promised, never shown: {system!r}")
    asked = WORKED.search(system) or WORKED.search(NOT_A_REQUEST.sub("", user))
    if asked:
        shown = _shows_proof(response, f, lang) if logic else bool(trace_lines(response))
        if not shown:
            out.append(f"{asked.group(0)!r} is promised, not shown")
    terse = TERSE.search(system) or TERSE_ASK.search(user)
    if terse and not _bare(response, lang):
        out.append(f"{terse.group(0)!r}: the result alone is promised, the reply says more")
    if CITES.search(system) and not CITED.search(response):
        out.append(f"citing is promised ({system!r}), the reply cites nothing")
    return out


@pytest.mark.parametrize(
    "tier,tid,lang", TEMPLATES, ids=[f"{t}-{lang}" for _, t, lang in TEMPLATES]
)
def test_every_step_and_persona_of_2000_rows(lib, tier, tid, lang):
    spec = lib.spec(tid, lang)
    lo, hi = spec.difficulty
    problems: dict[str, list[str]] = {}
    traced = 0
    for i in range(ROWS):
        d = lo + i % (hi - lo + 1)
        rng = rng_for(derive_seed(26, tier, tid, lang, i))
        sample = render_item(lib, spec, None, rng, d, Scope(), position=i)
        for p in _check_row(sample, spec, i):
            problems.setdefault(p.split(":")[0][:60], []).append(f"row {i}: {p}")
        traced += bool(trace_lines(sample.response)) if "task" in sample.draw.formal else 0
    summary = {k: (len(v), v[0]) for k, v in problems.items()}
    assert not problems, (
        f"{tid} ({lang}): {sum(len(v) for v in problems.values())} problems {summary}"
    )
    if (sample.draw.formal or {}).get("steps") and "task" in sample.draw.formal:
        assert traced > ROWS // 2, "most rows of a template with steps write their trace"
