"""The structural tier's logic families and templates.

Every item is rendered exactly as the pipeline renders it, and its answer is re-derived
from `formal` by a tiny forward-chaining solver written here, independently of
synth.world.solver.
"""

from __future__ import annotations

import random
import re
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

try:
    import synth.families  # noqa: F401  (registers every family)
except ImportError:  # a sibling family package is mid-edit: load ours without it
    import synth

    _pkg = types.ModuleType("synth.families")
    _pkg.__path__ = [str(Path(synth.__file__).parent / "families")]
    sys.modules["synth.families"] = _pkg
import synth.families.logic  # noqa: E402,F401
from synth.curriculum.tier import load_tier  # noqa: E402
from synth.errors import UserError  # noqa: E402
from synth.families.base import ItemContext, Scope, get_family  # noqa: E402
from synth.templating import TemplateLibrary  # noqa: E402
from synth.templating.item import family_params, render_item  # noqa: E402

ANSWER_WORD = {"true": "True", "false": "False", "unknown": "Unknown"}


@pytest.fixture(scope="module")
def lib() -> TemplateLibrary:
    return TemplateLibrary([], builtin=True)


def structural_ids() -> list[str]:
    ids = sorted(t for t in TemplateLibrary([], builtin=True).specs if t.startswith("structural."))
    assert len(ids) >= 10
    return ids


IDS = structural_ids()


def render(lib: TemplateLibrary, tid: str, seed: int, d: int):
    spec = lib.spec(tid)
    s = render_item(lib, spec, None, random.Random(seed), d, Scope())
    return spec, s.draw, s.text, s.messages


def full_text(text, messages) -> str:
    return text if text is not None else "\n\n".join(m["content"] for m in messages)


def final_text(text, messages) -> str:
    """The part that must end with the answer line: the document, or the assistant reply."""
    if text is not None:
        return text
    assert messages[-1]["role"] == "assistant"
    return messages[-1]["content"]


def cases(tid: str, seeds: int = 6):
    lo, hi = TemplateLibrary([], builtin=True).spec(tid).difficulty
    for d in sorted({lo, hi, (lo + hi) // 2, min(hi, lo + 1)}):
        for s in range(seeds):
            yield s * 1009 + d, d


# -- an independent naive solver over `formal` --------------------------------------------


def _neg(t: tuple) -> tuple:
    s, r, o = t
    return (s, r[4:], o) if r.startswith("not:") else (s, "not:" + r, o)


def _match(patterns, facts, env):
    if not patterns:
        yield env
        return
    head, rest = patterns[0], patterns[1:]
    for f in facts:
        e = dict(env)
        ok = True
        for p, v in zip(head, f, strict=True):
            if p.startswith("?"):
                if e.setdefault(p, v) != v:
                    ok = False
                    break
            elif p != v:
                ok = False
                break
        if ok:
            yield from _match(rest, facts, e)


def naive_closure(formal: dict) -> dict[tuple, int]:
    """Every derivable fact with the round it first appears in (0 = given): rounds apply
    every rule to the facts known at the start of the round, until nothing is new."""
    level = {tuple(f): 0 for f in formal["facts"]}
    rnd = 0
    while True:
        rnd += 1
        known = list(level)
        new = set()
        for rule in formal["rules"]:
            for env in _match([tuple(p) for p in rule["if"]], known, {}):
                c = tuple(env.get(t, t) if t.startswith("?") else t for t in rule["then"])
                if c not in level:
                    new.add(c)
        if not new:
            return level
        for c in new:
            level[c] = rnd


def naive_answer(formal: dict) -> tuple[str, dict]:
    level = naive_closure(formal)
    for f in level:
        assert _neg(f) not in level, f"theory derives both {f} and its negation"
    q = tuple(formal["query"])
    if q in level:
        return "true", level
    if formal["assumption"] == "open":
        return ("false" if _neg(q) in level else "unknown"), level
    return "false", level


def check_proof(formal: dict, level: dict) -> int:
    """The proof's steps are rule applications over given or earlier facts; returns its height."""
    rules = {r["id"]: r for r in formal["rules"]}
    given = {tuple(f) for f in formal["facts"]}
    height = {f: 0 for f in given}
    for st in formal["proof"]:
        rule = rules[st["rule"]]
        uses = [tuple(u) for u in st["uses"]]
        for u in uses:
            assert u in height, f"step uses {u} before it is established"
        envs = list(_match([tuple(p) for p in rule["if"]], uses, {}))
        derives = tuple(st["derives"])
        assert any(tuple(e.get(t, t) for t in rule["then"]) == derives for e in envs), st
        assert len(uses) == len(rule["if"])
        height[derives] = 1 + max(height[u] for u in uses)
        assert derives in level
    last = tuple(formal["proof"][-1]["derives"])
    q = tuple(formal["query"])
    assert last in (q, _neg(q))
    return height[last]


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tid", IDS)
def test_renders_and_answers(lib, tid):
    for seed, d in cases(tid):
        spec, draw, text, messages = render(lib, tid, seed, d)
        whole = full_text(text, messages)
        for junk in ("{{", "}}", "{%", "%}", "{#", "{s}", "{o}"):
            assert junk not in whole, (tid, seed, d, junk, whole)
        assert not re.search(r"\b(None|Undefined)\b", whole), whole
        assert spec.shape == ("document" if text is not None else "chat")
        if messages is not None:
            roles = [m["role"] for m in messages]
            assert roles[-2:] == ["user", "assistant"] and roles[0] in ("system", "user")
        last = final_text(text, messages).rstrip().split("\n")[-1]
        assert last == f"Answer: {ANSWER_WORD[draw.answer]}", (tid, seed, last)
        assert get_family(spec.family).score(final_text(text, messages), draw.answer)


@pytest.mark.parametrize("tid", IDS)
def test_formal_rederives(lib, tid):
    for seed, d in cases(tid, seeds=10):
        _, draw, _, _ = render(lib, tid, seed, d)
        f = draw.formal
        written = {"steps", "first_invalid", "supposed", "replaces", "original_answer"}
        assert set(f) - written == {"facts", "rules", "query", "assumption", "answer", "proof"}
        steps = [s["formal"] for s in draw.vars.get("derivation") or draw.vars["steps"]]
        assert f.get("steps", f["proof"]) == steps, "formal has the steps the text writes"
        assert f["assumption"] in ("closed", "open")
        answer, level = naive_answer(f)
        assert answer == f["answer"] == draw.answer, (tid, seed, d)
        assert isinstance(draw.difficulty, int) and draw.difficulty >= 1
        assert draw.probe_kind == f"depth-{draw.difficulty}"
        q = tuple(f["query"])
        if f["proof"]:
            height = check_proof(f, level)
            assert height == draw.difficulty, (tid, seed, d)
            # the proof is as short as any: the naive solver's round number agrees
            assert level[tuple(f["proof"][-1]["derives"])] == draw.difficulty
        else:
            assert q not in level and (f["assumption"] == "closed" or _neg(q) not in level)
        assert draw.difficulty == d, (tid, seed, d, draw.difficulty)


@pytest.mark.parametrize("tid", IDS)
def test_reasoning_follows_the_proof(lib, tid):
    """The reply states each derived fact of the proof, in the proof's order."""
    for seed, d in cases(tid, seeds=4):
        spec, draw, text, messages = render(lib, tid, seed, d)
        steps = draw.vars["derivation"] if draw.vars.get("derivation") else draw.vars["steps"]
        where = (
            full_text(text, messages) if draw.vars.get("derivation") else final_text(text, messages)
        )
        if draw.formal["proof"]:
            assert len(draw.vars["steps"]) == len(draw.formal["proof"])
        pos = 0
        for st in steps:
            i = where.find(st["derives"]["text"], pos)
            assert i >= 0, (tid, seed, d, st["derives"]["text"], where)
            pos = i


@pytest.mark.parametrize("tid", IDS)
def test_deterministic(lib, tid):
    for seed, d in list(cases(tid))[:6]:
        a = render(lib, tid, seed, d)
        b = render(lib, tid, seed, d)
        assert full_text(a[2], a[3]) == full_text(b[2], b[3])
        assert a[1].formal == b[1].formal and a[1].answer == b[1].answer


@pytest.mark.parametrize("tid", IDS)
def test_diversity(lib, tid):
    lo, hi = lib.spec(tid).difficulty
    texts = {full_text(*render(lib, tid, s, lo + s % (hi - lo + 1))[2:]) for s in range(200)}
    assert len(texts) > 150


@pytest.mark.parametrize(
    "tid", [t for t in IDS if "task: prove" not in TemplateLibrary([], builtin=True).spec(t).source]
)
def test_answer_balance(lib, tid):
    spec = lib.spec(tid)
    fam = get_family(spec.family)
    lo, hi = spec.difficulty
    labels = Counter()
    for s in range(300):
        ctx = ItemContext(
            random.Random(s),
            None,
            lo + s % (hi - lo + 1),
            family_params(spec),
            "en",
            "train",
            Scope(),
            0,
        )
        labels[fam.fn(ctx).answer] += 1
    want = (
        {"true", "false"}
        if family_params(spec).assumption == "closed"
        else {"true", "false", "unknown"}
    )
    assert set(labels) == want, labels
    for label in want:
        assert labels[label] >= 0.15 * 300, (tid, labels)


def test_prove_task_derives_named_consequence(lib):
    for seed, d in cases("structural.what_follows"):
        _, draw, _, messages = render(lib, "structural.what_follows", seed, d)
        assert draw.answer == "true" and draw.formal["proof"]
        assert draw.vars["query"]["text"] in messages[-2]["content"]


def test_proof_check_flags_the_bad_step(lib):
    seen = Counter()
    for seed in range(60):
        d = 1 + seed % 8
        _, draw, _, messages = render(lib, "structural.proof_check", seed, d)
        der = draw.vars["derivation"]
        assert len(der) == d
        bad = [i for i, s in enumerate(der, 1) if not s["ok"]]
        if draw.answer == "true":
            assert not bad and draw.vars["bad"] == 0
        else:
            assert bad == [draw.vars["bad"]]
            assert f"Step {bad[0]} is" in messages[-1]["content"]
            seen[der[bad[0] - 1]["flaw"]] += 1
    assert seen["converse"] and seen["mismatch"]


def test_counterfactual_contrast(lib):
    changed = Counter()
    for seed in range(80):
        _, draw, _, _ = render(lib, "structural.counterfactual", seed, 1 + seed % 8)
        v = draw.vars
        changed[v["changed"]] += 1
        assert v["changed"] == (v["original_answer"] != draw.answer)
        # the formal holds the modified theory: the supposed rule is in it
        new = v["change"]["new"]["id"]
        assert any(r["id"] == new for r in draw.formal["rules"])
        if v["change"]["mode"] == "replace":
            assert v["change"]["old"]["id"] not in {r["id"] for r in draw.formal["rules"]}
    assert changed[True] and changed[False]


def test_params_are_checked():
    for fam in ("theory_chain", "relation_chain", "propositional", "counterfactual"):
        with pytest.raises(UserError, match="t.j2:7: params: unknown key 'bogus'"):
            get_family(fam).parse_params({"bogus": 1}, "t.j2:7")
    with pytest.raises(UserError, match="'assumption' must be one of closed, open, any"):
        get_family("theory_chain").parse_params({"assumption": "half"}, "t.j2:7")
    with pytest.raises(UserError, match=r"'negation' must be in \[0.0, 1.0\]"):
        get_family("relation_chain").parse_params({"negation": 2}, "t.j2:7")


def test_difficulty_is_clamped():
    for fam in ("theory_chain", "relation_chain", "propositional", "counterfactual"):
        for d, want in ((0, 1), (-3, 1), (20, 8)):
            params = get_family(fam).parse_params({}, "test")
            draw = get_family(fam).fn(
                ItemContext(random.Random(5), None, d, params, "en", "eval", Scope(), 0)
            )
            assert draw.difficulty == want


def test_score_reads_the_reply_as_the_answer_filter_does():
    score = get_family("theory_chain").score
    assert score("Reasoning...\nAnswer: True", "true")
    assert score("Answer: true\nwait\nAnswer: Unknown", "unknown")
    assert score("Answer: Yes", "true")  # the answer filter's reading: Yes states true
    assert not score("Answer: True", "false")
    assert not score("no answer line", "false")


def test_curriculum(lib):
    tier = load_tier("structural")
    assert tier.tier == "structural"
    assert set(tier.templates) == set(IDS)
    specs = {t: lib.spec(t) for t in tier.templates}
    for spec in specs.values():
        assert (
            spec.kind == "logic" and spec.lang == "en" and spec.id == "structural." + spec.path.stem
        )
    introduced_by = {c: t for t, s in specs.items() for c in s.introduces}
    for t, s in specs.items():
        for c in s.requires:
            assert c in introduced_by, (t, c)
    # the requires graph over concepts has no cycle
    edges = {
        c: {r for s in specs.values() if c in s.introduces for r in s.requires}
        for c in introduced_by
    }
    state: dict[str, int] = {}

    def visit(c):
        assert state.get(c) != 1, f"cycle through {c}"
        if state.get(c) == 2:
            return
        state[c] = 1
        for r in edges[c]:
            visit(r)
        state[c] = 2

    for c in edges:
        visit(c)
    known: set[str] = set()
    for stage in tier.stages:
        known |= set(stage.concepts)
        for t in stage.templates:
            assert set(specs[t].requires) <= known, (stage.name, t)
            assert set(specs[t].introduces) <= known, (stage.name, t)
            lo, hi = specs[t].difficulty
            assert lo <= stage.difficulty[1] and stage.difficulty[0] <= hi, (stage.name, t)
