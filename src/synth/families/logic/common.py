"""What the logic families share: params checking, word lists, turning triples and rules
into the plain dicts templates render, the `formal` form and the scorer.

Every answer, proof and depth comes from `synth.world.solver.Closure`; this module only
phrases what the solver found. Word lists are built once at import.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from synth.english import article, join_and, plural
from synth.families.base import Draw
from synth.vocab import PROPERTIES
from synth.world.solver import Closure, Rule, Triple, negate

ISA = "is_a"
HAS = "is"
MAX_DEPTH = 8
ANSWER_WORD = {"true": "True", "false": "False", "unknown": "Unknown"}

# Adjectives that would read as a contradiction side by side ("warm" and "cold") are
# grouped; a theory draws at most one adjective per group.
_ANTONYMS = [
    {"cold", "warm"}, {"slow", "swift"}, {"tiny", "huge"}, {"bright", "dull"},
    {"smooth", "spiny", "hairy"}, {"opaque", "translucent"}, {"gentle", "fierce"},
    {"shy", "loud"}, {"luminous", "dull"},
]  # fmt: skip


def _groups(words: list[str], antonyms: list[set[str]]) -> list[tuple[str, ...]]:
    merged: list[set[str]] = []
    for g in antonyms:
        hit = [m for m in merged if m & g]
        for m in hit:
            merged.remove(m)
            g = g | m
        merged.append(set(g))
    out, seen = [], set()
    for w in words:
        if w in seen:
            continue
        group = next((m for m in merged if w in m), {w})
        seen |= group
        out.append(tuple(x for x in words if x in group))
    return out


PROP_GROUPS: list[tuple[str, ...]] = _groups(PROPERTIES, _ANTONYMS)


def draw_props(rng: random.Random, k: int) -> list[str]:
    """k adjectives, no two from one antonym group."""
    k = min(k, len(PROP_GROUPS))
    return [g[rng.randrange(len(g))] for g in rng.sample(PROP_GROUPS, k)]


def clamp_depth(d: int, lo: int = 1, hi: int = MAX_DEPTH) -> int:
    return max(lo, min(hi, int(d)))


def draw_label(rng: random.Random, assumption: str, negation: float = 0.5) -> tuple[str, str]:
    """(assumption, outcome) with balanced answers. outcome is `proved` (query derived),
    `refuted` (its negation derived) or `absent` (neither). Closed: half true, half
    false (a `negation` share of the false ones by a derived negation); open and `any`:
    a third each of true / false / unknown."""
    if assumption == "any":
        label = rng.choice(("true", "false", "unknown"))
        if label == "unknown":
            return "open", "absent"
        assumption = rng.choice(("closed", "open"))
    else:
        label = (
            rng.choice(("true", "false"))
            if assumption == "closed"
            else rng.choice(("true", "false", "unknown"))
        )
        if label == "unknown":
            return "open", "absent"
    if label == "true":
        return assumption, "proved"
    if assumption == "open" or rng.random() < negation:
        return assumption, "refuted"
    return assumption, "absent"


# -- views: what templates render ------------------------------------------------------


class Lexicon:
    """Surface forms: how a term reads (`glorp` → `the glorp`) and how each relation
    reads as a sentence, its negation and its yes/no question (`{s}`, `{o}` slots)."""

    def __init__(self) -> None:
        self.surface: dict[str, str] = {}
        self.rel: dict[str, tuple[str, str, str]] = {}


def atom_view(t: Triple, lex: Lexicon) -> dict[str, Any]:
    s, r, o = t
    neg = r.startswith("not:")
    base = r[4:] if neg else r
    subj, obj = lex.surface.get(s, s), lex.surface.get(o, o)
    if base == ISA:
        ao = f"{article(obj)} {obj}"
        pos, nt, q, kind = f"{subj} is {ao}", f"{subj} is not {ao}", f"is {subj} {ao}", "isa"
    elif base == HAS:
        pos, nt, q, kind = f"{subj} is {obj}", f"{subj} is not {obj}", f"is {subj} {obj}", "prop"
    else:
        fp, fn, fq = lex.rel[base]
        pos, nt, q = (f.format(s=subj, o=obj) for f in (fp, fn, fq))
        kind = "rel"
    return {
        "k": kind,
        "s": subj,
        "o": obj,
        "rel": base,
        "neg": neg,
        "text": nt if neg else pos,
        "not_text": pos if neg else nt,
        "question": q if not neg else f"is it the case that {nt}",
        "n": 0,
        "is_rule": False,
    }


def nouns(key: str, noun: str) -> dict[str, str]:
    """A kind's forms for templates: `{key}_a` "a wumpus", `{key}_pl` "wumpuses"."""
    return {f"{key}_a": f"{article(noun)} {noun}", f"{key}_pl": plural(noun)}


class Views:
    """Caches one view per triple so a fact and its mentions in proof steps are the
    same dict (they share the premise number `n`)."""

    def __init__(self, lex: Lexicon, rule_views: dict[str, dict[str, Any]]):
        self.lex = lex
        self.rules = rule_views
        self._atoms: dict[Triple, dict[str, Any]] = {}

    def atom(self, t: Iterable[str]) -> dict[str, Any]:
        t = tuple(t)  # type: ignore[assignment]
        v = self._atoms.get(t)  # type: ignore[arg-type]
        if v is None:
            v = self._atoms[t] = atom_view(t, self.lex)  # type: ignore[index,arg-type]
        return v

    def step(
        self, rule_id: str, uses: Iterable[Iterable[str]], derives: Iterable[str], depth: int = 0
    ) -> dict[str, Any]:
        uses = [tuple(u) for u in uses]
        used = [self.atom(u) for u in uses]
        return {
            "rule": self.rules[rule_id],
            "uses": used,
            "u": join_and([x["text"] for x in used]),  # the facts used, as one clause
            "derives": self.atom(derives),
            "depth": depth,
            # the step as `formal` records it (what the text writes, re-checkable)
            "formal": {"rule": rule_id, "uses": [list(u) for u in uses], "derives": list(derives)},
        }

    def proof_steps(self, closure: Closure, fact: Triple) -> list[dict[str, Any]]:
        return [self.step(s["rule"], s["uses"], s["derives"]) for s in closure.proof(fact)]

    def closure_steps(self, closure: Closure, facts: Iterable[Triple]) -> list[dict[str, Any]]:
        """One step per derived fact, shallowest first: forward chaining written out."""
        depth = {f: closure.depth(f) for f in facts if closure.why.get(f) is not None}
        out = []
        for f in sorted(depth, key=lambda f: (depth[f], f)):
            rid, uses = closure.why[f]  # type: ignore[misc]
            out.append(self.step(rid, uses, f, depth[f]))
        return out


def number(rng: random.Random, facts: list[dict], rules: list[dict]) -> list[dict]:
    """Shuffle facts and rules into one theory and number its statements 1..N."""
    theory = facts + rules
    rng.shuffle(theory)
    for i, s in enumerate(theory, 1):
        s["n"] = i
    return theory


# -- the formal form and the draw --------------------------------------------------------


def formal(
    facts: list[Triple],
    rules: list[Rule],
    query: Triple,
    assumption: str,
    answer: str,
    proof: list[dict],
    written: list[dict[str, Any]] | None = None,
    first_invalid: int = 0,
) -> dict:
    """The formal form. `written`: the step views the text writes, recorded as `steps`
    when they are not the proof (what forward chaining derives when the question stays
    open; a derivation being checked, whose first invalid step is `first_invalid`)."""
    out = {
        "facts": [list(f) for f in facts],
        "rules": [r.to_json() for r in rules],
        "query": list(query),
        "assumption": assumption,
        "answer": answer,
        "proof": proof,
    }
    if written is not None:
        steps = [s["formal"] for s in written]
        if steps != proof or first_invalid:
            out["steps"] = steps
        if first_invalid:
            out["first_invalid"] = first_invalid
    return out


def settle(closure: Closure, query: Triple, assumption: str) -> tuple[str, str, Triple | None]:
    """(answer, outcome, proved fact): what the solver says about the query."""
    answer = closure.answer(query, assumption)
    if query in closure:
        return answer, "proved", query
    if negate(query) in closure:
        return answer, "refuted", negate(query)
    return answer, "absent", None


def make_draw(vars: dict[str, Any], answer: str, form: dict, depth: int) -> Draw:
    vars["answer"] = answer
    vars["Answer"] = ANSWER_WORD[answer]
    vars["depth"] = depth
    return Draw(
        vars=vars, answer=answer, formal=form, difficulty=depth, probe_kind=f"depth-{depth}"
    )
