"""theory_chain: PrOntoQA-style taxonomy chains over nonce kinds.

"Every wumpus is a yumpus. Yumpuses are luminous. Rex is a wumpus. Is Rex luminous?"
The entity's kind chain is `difficulty` rules long, so the query's proof depth (or, when
the query does not follow, the depth of the deepest fact that does) is the difficulty.
Distractors: properties along the chain, off-chain kinds (some below chain kinds, the
converse-error bait), another entity, stated properties. Answers are closed-world
true/false or open-world true/false/unknown (negative rules "No yumpus is opaque").

params:
  assumption: closed | open | any   (any: balanced true/false/unknown over both)
  distractors: bool
  negation: float in [0, 1]  share of closed-world "false" items whose query is refuted
                             by a negative rule (the rest are false by absence); also how
                             often distractor rules are negative
  task: query | prove | check
      query: is the statement true? (balanced labels)
      prove: show that a consequence holds (always derivable; answer True)
      check: is the given derivation valid? A flawed derivation always ends in a
             conclusion that does not follow, so valid <=> the query is derived
             (closed world; answer True for valid, False for flawed)
  queries: any | property | kind   what the question asks about
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from synth.families.base import Draw, ItemContext, choices, default_score, family, share
from synth.families.logic.common import (
    HAS,
    ISA,
    Lexicon,
    Views,
    clamp_depth,
    draw_label,
    draw_props,
    formal,
    make_draw,
    nouns,
    number,
    settle,
)
from synth.world.names import NameMaker
from synth.world.solver import Closure, Contradiction, Rule, Triple, negate


@dataclass(frozen=True)
class Params:
    assumption: str = choices("closed", "open", "any")
    distractors: bool = True
    negation: float = share(0.5)
    task: str = choices("query", "prove", "check")
    queries: str = choices("any", "property", "kind")


class Taxonomy:
    """A small theory under construction: facts, rules and each rule's view."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names = NameMaker(rng)
        self.lex = Lexicon()
        self.facts: list[Triple] = []
        self.rules: list[Rule] = []
        self.views: dict[str, dict[str, Any]] = {}

    def make(
        self, rid: str, a: str, rel: str, obj: str, neg: bool = False
    ) -> tuple[Rule, dict[str, Any]]:
        """A rule "every a is (not) rel obj" and its view, not added to the theory."""
        rule = Rule(rid, (("?x", ISA, a),), ("?x", ("not:" if neg else "") + rel, obj))
        view = {"k": "kprop", "a": a, "p": obj, **nouns("a", a)}
        if rel == ISA:
            view.update(k="sub", b=obj, **nouns("b", obj))
        return rule, {"id": rid, "is_rule": True, "n": 0, "neg": neg, **view}

    def _add(self, a: str, rel: str, obj: str, neg: bool) -> str:
        rule, view = self.make(f"r{len(self.rules) + 1}", a, rel, obj, neg)
        self.rules.append(rule)
        self.views[rule.id] = view
        return rule.id

    def sub(self, a: str, b: str, neg: bool = False) -> str:
        """Every a is a b (neg: no a is a b)."""
        return self._add(a, ISA, b, neg)

    def kprop(self, a: str, p: str, neg: bool = False) -> str:
        """Every a is p (neg: no a is p)."""
        return self._add(a, HAS, p, neg)

    def concl(self, a: str, rel: str, obj: str, neg: bool = False) -> str:
        return self._add(a, rel, obj, neg)

    def fact(self, t: Triple) -> None:
        self.facts.append(t)


def build(
    rng: random.Random,
    d: int,
    outcome: str,
    assumption: str,
    *,
    qtype: str,
    distractors: bool,
    negation: float,
    bait: bool | None = None,
) -> dict[str, Any]:
    """Draw a theory whose query has `outcome` at depth `d` (see module doc)."""
    tx = Taxonomy(rng)
    pool = iter(draw_props(rng, 14 + d))
    neg_ok = assumption == "open" or negation > 0
    ent = tx.names.first()
    K = [tx.names.kind() for _ in range(d)]
    tx.fact((ent, ISA, K[0]))
    links = [tx.sub(K[i], K[i + 1]) for i in range(d - 1)]
    qrel, qobj = (HAS, next(pool)) if qtype == "property" else (ISA, tx.names.kind())
    query = (ent, qrel, qobj)
    bait_view = None
    if outcome in ("proved", "refuted"):
        target = tx.concl(K[-1], qrel, qobj, outcome == "refuted")
        if distractors and rng.random() < 0.7:
            # The query's term also appears where it does not reach the entity.
            B = tx.names.kind()
            if rng.random() < 0.5:
                tx.sub(B, tx.names.kind())
            tx.concl(B, qrel, qobj, neg_ok and rng.random() < 0.5)
    else:
        if qtype == "property" or rng.random() < 0.5:
            target = tx.kprop(K[-1], next(pool), neg_ok and rng.random() < 0.3)
        else:
            target = tx.sub(K[-1], tx.names.kind(), neg_ok and rng.random() < 0.3)
        if bait if bait is not None else (distractors or rng.random() < 0.5):
            j = rng.randrange(d)
            if qrel == HAS:
                B = tx.names.kind()
                tx.sub(B, K[j])
                rid = tx.kprop(B, qobj, assumption == "open" and rng.random() < 0.4)
                bait_view = {"rule": rid, "need": (ent, ISA, B), "converse": False}
            else:
                rid = tx.sub(qobj, K[j])
                bait_view = {"rule": rid, "need": query, "converse": True}
    others: list[str] = []
    if distractors:
        for k in K:
            if rng.random() < 0.35:
                tx.kprop(k, next(pool), neg_ok and rng.random() < 0.3)
        for _ in range(rng.randint(1, 2 + d // 3)):
            off = tx.names.kind()
            r = rng.random()
            if r < 0.45:
                tx.sub(off, rng.choice(K))
            elif r < 0.65 and others:
                tx.sub(off, rng.choice(others))
            tx.kprop(off, next(pool), neg_ok and rng.random() < 0.3)
            others.append(off)
        if rng.random() < 0.6:
            who = tx.names.first()
            tx.fact((who, ISA, rng.choice(others + K)))
            if rng.random() < 0.5:
                tx.fact((who, HAS, next(pool)))
        if rng.random() < 0.5:
            tx.fact((ent, HAS, next(pool)))
    return {
        "tx": tx,
        "ent": ent,
        "K": K,
        "links": links,
        "target": target,
        "query": query,
        "bait": bait_view,
        "others": others,
        "pool": pool,
        "neg_ok": neg_ok,
    }


def explain(
    views: Views, closure: Closure, ent: str, query: Triple, bait: dict | None
) -> dict[str, Any]:
    """steps: the proof of the query or of its negation; when neither is derived, every
    fact derived about the entity (what forward chaining finds, shallowest first)."""
    if query in closure:
        return {"steps": views.proof_steps(closure, query), "outcome": "proved", "bait": None}
    if negate(query) in closure:
        return {
            "steps": views.proof_steps(closure, negate(query)),
            "outcome": "refuted",
            "bait": None,
        }
    about = [f for f in closure.derived() if f[0] == ent]
    b = None
    if bait is not None:
        b = {
            "rule": views.rules[bait["rule"]],
            "need": views.atom(bait["need"]),
            "converse": bait["converse"],
        }
    return {"steps": views.closure_steps(closure, about), "outcome": "absent", "bait": b}


def _flawed(
    rng: random.Random, d: int, b: dict[str, Any], views: Views, closure: Closure
) -> list[dict[str, Any]]:
    """A derivation of the (underivable) query with one invalid step, `d` steps long.

    converse: "every B is a K; Rex is a K; so Rex is a B"; mismatch: a rule about B
    applied to a fact about K. The steps after the flaw are valid in form but rest on it.
    """
    tx, ent, K, qobj = b["tx"], b["ent"], b["K"], b["query"][2]
    flaw = "mismatch" if d == 1 else rng.choice(("converse", "mismatch"))
    room = d - 2 if flaw == "converse" else d - 1
    j = rng.randint(0, min(room, d - 1))
    m = room - j
    Bs = [tx.names.kind() for _ in range(m + 1)]
    up = tx.sub(Bs[0], K[j]) if flaw == "converse" or rng.random() < 0.5 else None
    chain = [tx.sub(Bs[i], Bs[i + 1]) for i in range(m)] + [tx.kprop(Bs[-1], qobj)]
    steps = [dict(s, ok=True, flaw=None) for s in views.proof_steps(closure, (ent, ISA, K[j]))]
    here = (ent, ISA, K[j])
    if flaw == "converse":
        steps.append(dict(views.step(up, [here], (ent, ISA, Bs[0])), ok=False, flaw="converse"))
        here = (ent, ISA, Bs[0])
        rest = chain
    else:
        nxt = (ent, ISA, Bs[1]) if m > 0 else b["query"]
        steps.append(dict(views.step(chain[0], [here], nxt), ok=False, flaw="mismatch"))
        here, rest = nxt, chain[1:]
    for i, rid in enumerate(rest):
        nxt = (ent, ISA, Bs[len(Bs) - len(rest) + i + 1]) if i < len(rest) - 1 else b["query"]
        steps.append(dict(views.step(rid, [here], nxt), ok=True, flaw=None))
        here = nxt
    assert len(steps) == d, (len(steps), d, flaw, j, m)
    return steps


@family("theory_chain", "logic", params=Params, score=default_score)
def theory_chain(ctx: ItemContext) -> Draw:
    """Taxonomy chain (kinds, properties, negative rules): true/false/unknown at proof depth = difficulty."""
    p: Params = ctx.params
    rng = ctx.rng
    d = clamp_depth(ctx.difficulty)
    task = p.task
    for _attempt in range(20):
        if task == "query":
            assumption, outcome = draw_label(rng, p.assumption, p.negation)
        elif task == "prove":
            assumption = rng.choice(("closed", "open")) if p.assumption == "any" else p.assumption
            outcome = "refuted" if rng.random() < p.negation * 0.6 else "proved"
        else:
            assumption, outcome = "closed", rng.choice(("proved", "absent"))
        qtype = p.queries
        if qtype == "any" or task == "check":
            qtype = "property" if task == "check" or rng.random() < 0.6 else "kind"
        b = build(
            rng, d, outcome, assumption, qtype=qtype, distractors=p.distractors,
            negation=p.negation, bait=False if task == "check" else None,
        )  # fmt: skip
        tx: Taxonomy = b["tx"]
        query = b["query"]
        try:
            closure = Closure(tx.facts, tx.rules)
        except Contradiction:
            continue
        if task == "prove" and outcome == "refuted":
            query = negate(query)  # show that Rex is NOT p: the derived negative fact
        answer, got, _ = settle(closure, query, assumption)
        views = Views(tx.lex, tx.views)
        ex = explain(views, closure, b["ent"], query, b["bait"])
        derivation, bad = None, 0
        if task == "check":
            if got == "proved":
                derivation = [dict(s, ok=True, flaw=None) for s in ex["steps"]]
            else:
                derivation = _flawed(rng, d, b, views, closure)
                bad = next(i for i, s in enumerate(derivation, 1) if not s["ok"])
                # the flawed derivation added rules: recompute so `formal` holds them all
                closure = Closure(tx.facts, tx.rules)
                answer, got, _ = settle(closure, query, assumption)
                assert got == "absent"
                ex = explain(views, closure, b["ent"], query, None)
        facts = [views.atom(f) for f in tx.facts]
        theory = number(rng, facts, list(tx.views.values()))
        proof = (
            closure.proof(query)
            if got == "proved"
            else closure.proof(negate(query))
            if got == "refuted"
            else []
        )
        depth = (
            closure.depth(query if got == "proved" else negate(query))
            if proof
            else max((closure.depth(f) for f in closure.derived() if f[0] == b["ent"]), default=0)
        )
        vars = {
            "subject": b["ent"],
            "theory": theory,
            "facts": facts,
            "rules": [tx.views[r.id] for r in tx.rules],
            "query": views.atom(query),
            "assumption": assumption,
            "task": task,
            "derivation": derivation,
            "bad": bad,
            **ex,
        }
        written = derivation if task == "check" else ex["steps"]
        form = formal(tx.facts, tx.rules, query, assumption, answer, proof, written, bad)
        return make_draw(vars, answer, form, depth if task != "check" else d)
    raise RuntimeError("theory_chain: could not draw a consistent theory in 20 attempts")
