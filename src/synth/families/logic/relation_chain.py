"""relation_chain: transitive chains and inverse / symmetric relations among named people
or places.

"Alma is a parent of Bren. Bren is a parent of Cato. A parent of someone is their
ancestor; a parent of an ancestor of someone is also their ancestor; if X is an
ancestor of Y, Y is a descendant of X. Is Cato a descendant of Alma?"

Each chain has a stated step relation (`parent_of`) and the derived relation it builds
(`ancestor_of`), with a linear rule (step + derived -> derived), so the proof of a
chain of n steps is n deep; the inverse (`descendant_of`) adds one more. Open world adds
the one-way rule "if X is older than Y, Y is not older than X", which refutes reversed
questions; forks ("Dara is also a parent of Cato") make unrelated pairs: unknown.

params:
  assumption: closed | open | any
  distractors: bool     forks, a second chain, symmetric facts (married to, borders)
  negation: float       share of closed-world "false" items refuted by the one-way rule
  inverse: float        how often the question asks about the inverse relation
  domain: any | people | places
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synth.families.base import Draw, ItemContext, choices, default_score, family, share
from synth.families.logic.common import (
    Lexicon,
    Views,
    clamp_depth,
    draw_label,
    formal,
    make_draw,
    number,
    settle,
)
from synth.vocab import CHAINS, SYMMETRIC
from synth.world.names import NameMaker
from synth.world.solver import Closure, Rule, Triple


@dataclass(frozen=True)
class Params:
    assumption: str = choices("closed", "open", "any")
    distractors: bool = True
    negation: float = share(0.5)
    inverse: float = share(0.3)
    domain: str = choices("any", "people", "places")


WORDS = {
    "people": {"any": "anyone", "who": "who", "some": "someone", "one": "someone", "them": "them", "other": "another person",
               "third": "a third person", "that": "that person", "first": "the first", "second": "the second",
               "the_other": "the other person"},
    "places": {"any": "any place", "who": "that", "some": "another place", "one": "one place", "them": "it", "other": "another place",
               "third": "a third place", "that": "that place", "first": "the first", "second": "the second",
               "the_other": "the other place"},
}  # fmt: skip


class _Theory:
    def __init__(self, words: dict[str, str]):
        self.facts: list[Triple] = []
        self.rules: list[Rule] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.lex = Lexicon()
        self.words = words

    def rule(self, premises: tuple[Triple, ...], concl: Triple, view: dict[str, Any]) -> str:
        rid = f"r{len(self.rules) + 1}"
        self.rules.append(Rule(rid, premises, concl))
        self.views[rid] = {
            "id": rid,
            "is_rule": True,
            "n": 0,
            "neg": concl[1].startswith("not:"),
            "w": self.words,
            **view,
        }
        return rid


@family("relation_chain", "logic", params=Params, score=default_score)
def relation_chain(ctx: ItemContext) -> Draw:
    """Transitive chains with inverse, one-way and symmetric rules: proof depth = difficulty."""
    p: Params = ctx.params
    rng = ctx.rng
    d = clamp_depth(ctx.difficulty)
    assumption, outcome = draw_label(rng, p.assumption, p.negation)
    domain = p.domain if p.domain != "any" else rng.choice(("people", "places"))
    (B, fb), (D, fd), (INV, fi) = rng.choice(CHAINS[domain])
    S, fs = rng.choice(SYMMETRIC[domain])
    th = _Theory(WORDS[domain])
    th.lex.rel.update({B: fb, D: fd, INV: fi, S: fs})
    names = NameMaker(rng)
    new = names.first if domain == "people" else names.place

    # Which relation the question is about, and how long the chain must be for depth d.
    Q = INV if rng.random() < p.inverse else D
    if outcome == "refuted":
        if Q == INV and d < 3:
            Q = D
        if d == 1:
            Q = B
        n = {D: d - 1, INV: d - 2, B: 1}[Q]
    else:
        if Q == INV and d < 2:
            Q = D
        n = d if Q == D else d - 1
    fork_query = outcome == "absent" and (assumption == "open" or rng.random() < 0.5)
    anti = outcome == "refuted" or (
        (assumption == "open" or (fork_query or outcome == "proved") and rng.random() < p.negation)
        and Q != B
    )

    chain = [new() for _ in range(n + 1)]
    for a, b in zip(chain, chain[1:], strict=False):
        th.facts.append((a, B, b))
    fq = {"b": fb[0], "d": fd[0], "i": fi[0], "s": fs[0]}
    # the same without the subject, as predicates: "is a parent of {o}"
    fq.update({k + "p": v.replace("{s} ", "") for k, v in fq.items()})
    th.rule((("?x", B, "?y"),), ("?x", D, "?y"), {"k": "rel_base", **fq})
    if rng.random() < 0.5:
        th.rule(
            (("?x", B, "?y"), ("?y", D, "?z")),
            ("?x", D, "?z"),
            {"k": "rel_trans", "left": False, **fq},
        )
    else:
        th.rule(
            (("?x", D, "?y"), ("?y", B, "?z")),
            ("?x", D, "?z"),
            {"k": "rel_trans", "left": True, **fq},
        )
    if Q == INV or (p.distractors and rng.random() < 0.5):
        th.rule((("?x", D, "?y"),), ("?y", INV, "?x"), {"k": "rel_inv", **fq})
    if anti:
        fQ = th.lex.rel[Q]
        th.rule(
            (("?x", Q, "?y"),),
            ("?y", "not:" + Q, "?x"),
            {"k": "rel_anti", "q": fQ[0], "qn": fQ[1], "qp": fQ[0][4:], "qnp": fQ[1][4:], **fq},
        )

    first, last = chain[0], chain[-1]
    forward = (first, Q, last) if Q != INV else (last, INV, first)
    fork = None
    if outcome == "proved":
        query = forward
    elif outcome == "refuted" or not fork_query:
        query = (last, Q, first) if Q != INV else (first, INV, last)
    else:
        extra = new()
        if rng.random() < 0.5:  # a second step into the chain: not related to the first member
            k = rng.randint(1, n)
            fork = (extra, B, chain[k])
            query = (first, Q, extra) if rng.random() < 0.5 else (extra, Q, first)
        else:  # a second step out of the chain: not related to the last member
            k = rng.randint(0, n - 1)
            fork = (chain[k], B, extra)
            query = (last, Q, extra) if rng.random() < 0.5 else (extra, Q, last)
        th.facts.append(fork)

    if p.distractors:
        if fork is None and n >= 1 and rng.random() < 0.6:
            k = rng.randint(1, n)
            th.facts.append(
                (new(), B, chain[k]) if rng.random() < 0.5 else (chain[k - 1], B, new())
            )
        if rng.random() < 0.5:
            side = [new() for _ in range(rng.randint(2, 3))]
            th.facts.extend((a, B, b) for a, b in zip(side, side[1:], strict=False))
        people = chain + [new() for _ in range(2)]
        for _ in range(rng.randint(1, 2)):
            a, b = rng.sample(people, 2)
            th.facts.append((a, S, b))
        th.rule((("?x", S, "?y"),), ("?y", S, "?x"), {"k": "rel_sym", **fq})

    closure = Closure(th.facts, th.rules)
    answer, got, fact = settle(closure, query, assumption)
    views = Views(th.lex, th.views)
    if got == "absent":
        steps = views.proof_steps(closure, forward)
        depth = closure.depth(forward)
    else:
        steps = views.proof_steps(closure, fact)
        depth = closure.depth(fact)
    facts = [views.atom(f) for f in th.facts]
    theory = number(rng, facts, list(th.views.values()))
    vars = {
        "domain": domain,
        "members": chain,
        "theory": theory,
        "facts": facts,
        "rules": [th.views[r.id] for r in th.rules],
        "query": views.atom(query),
        "assumption": assumption,
        "steps": steps,
        "outcome": got,
        "witness": views.atom(forward) if got == "absent" else None,
        "fork": views.atom(fork) if fork is not None and got == "absent" else None,
        "reversed": got != "proved" and fork is None,
        "bait": None,
        "words": WORDS[domain],
        "rel": fq,
    }
    proof = closure.proof(fact) if fact is not None else []
    return make_draw(
        vars, answer, formal(th.facts, th.rules, query, assumption, answer, proof, steps), depth
    )
