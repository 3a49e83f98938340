"""propositional: Horn logic over nonce statements.

"If the glorp is lit and the bell is ringing, then the gate is open." Each atom is a
triple `[thing, "is", state]` (negated: `not:is`), every thing appears in one atom. A
chain of `difficulty` rule applications leads to the query; each rule may also need
given facts or earlier conclusions. Distractors: rules that fire but lead elsewhere,
rules that never fire (they need a statement nobody establishes), extra facts.

params:
  assumption: closed | open | any
  distractors: bool
  negation: float        share of closed-world "false" items refuted by a negative rule
  max_premises: int      most conditions one rule has (1-4)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from synth.english import join_and
from synth.families.base import Draw, ItemContext, between, choices, default_score, family, share
from synth.families.logic.common import (
    HAS,
    Lexicon,
    Views,
    clamp_depth,
    draw_label,
    formal,
    make_draw,
    number,
    settle,
)
from synth.world.names import NameMaker
from synth.world.solver import Closure, Rule, Triple, negate


@dataclass(frozen=True)
class Params:
    assumption: str = choices("closed", "open", "any")
    distractors: bool = True
    negation: float = share(0.5)
    max_premises: int = between(3, 1, 4)


THINGS = [
    "bell", "gate", "lamp", "kettle", "drum", "mill wheel", "signal flag", "furnace", "fountain",
    "clock", "shutter", "horn", "valve", "lantern", "loom", "pump", "drawbridge", "beacon",
    "organ", "sluice", "weathervane", "chimney", "music box", "compass", "barrel", "windmill",
]  # fmt: skip
STATES = [
    "lit", "open", "humming", "frozen", "awake", "glowing", "silent", "wet", "locked", "spinning",
    "tilted", "hot", "full", "cracked", "raised", "ringing", "sealed", "buzzing", "charged",
    "sunken", "polished", "floating", "blinking", "rattling", "dusty", "damp", "steaming", "tangled",
]  # fmt: skip


class _Atoms:
    """Fresh atoms, one per thing: half nonce nouns, half everyday objects."""

    def __init__(self, rng: random.Random, lex: Lexicon, need: int):
        self.rng = rng
        names = NameMaker(rng)
        k_real = min(len(THINGS), need // 2)
        things = rng.sample(THINGS, k_real) + [names.kind() for _ in range(need - k_real)]
        rng.shuffle(things)
        for t in things:
            lex.surface[t] = "the " + t
        self.things = iter(things)

    def fresh(self, neg: bool = False) -> Triple:
        return (next(self.things), "not:" + HAS if neg else HAS, self.rng.choice(STATES))


@family("propositional", "logic", params=Params, score=default_score)
def propositional(ctx: ItemContext) -> Draw:
    """Propositional Horn rules over nonce statements: depth = number of rule applications."""
    p: Params = ctx.params
    maxp = int(p.max_premises)
    rng = ctx.rng
    d = clamp_depth(ctx.difficulty)
    assumption, outcome = draw_label(rng, p.assumption, p.negation)
    dis = p.distractors
    lex = Lexicon()
    rule_views: dict[str, dict[str, Any]] = {}
    views = Views(lex, rule_views)
    atoms = _Atoms(rng, lex, d + 16)
    facts: list[Triple] = []
    rules: list[Rule] = []

    def rule(premises: list[Triple], concl: Triple) -> str:
        rid = f"r{len(rules) + 1}"
        rng.shuffle(premises)
        rules.append(Rule(rid, tuple(premises), concl))
        rule_views[rid] = {
            "id": rid, "k": "horn", "is_rule": True, "n": 0, "neg": concl[1].startswith("not:"),
            "ifs": [views.atom(a) for a in premises], "then": views.atom(concl),
            "if_text": join_and([views.atom(a)["text"] for a in premises]),
        }  # fmt: skip
        return rid

    givens = [atoms.fresh() for _ in range(rng.randint(2, 3))]
    facts.extend(givens)
    query = atoms.fresh()
    # The chain: c[i] is derived by rule i from c[i-1] and maybe older atoms, depth i.
    c: list[Triple] = [rng.choice(givens)]
    for i in range(1, d + 1):
        if i < d:
            concl = atoms.fresh(assumption == "open" and rng.random() < 0.15)
        elif outcome == "proved":
            concl = query
        elif outcome == "refuted":
            concl = negate(query)
        else:
            concl = atoms.fresh(assumption == "open" and rng.random() < 0.3)
        older = [a for a in dict.fromkeys(givens + c[:-1]) if a != c[-1]]
        extra = rng.sample(older, min(len(older), rng.randint(0, maxp - 1)))
        rule([c[-1], *extra], concl)
        c.append(concl)
    bait = None
    if outcome == "absent":
        need = atoms.fresh()
        rid = rule(
            [rng.choice(c[:-1]), need],
            query if rng.random() < 0.8 or assumption == "closed" else negate(query),
        )
        bait = {"rule": rule_views[rid], "need": views.atom(need), "converse": False}
    if dis:
        reach = givens + c[1:]
        for _ in range(rng.randint(1, 2)):  # never fire: one condition is never established
            concl = query if outcome == "proved" and rng.random() < 0.5 else atoms.fresh()
            some = [a for a in reach if a != concl]
            rule(
                rng.sample(some, min(len(some), rng.randint(0, maxp - 1))) + [atoms.fresh()], concl
            )
        for _ in range(rng.randint(0, 2)):  # fire, but lead nowhere (depth 1)
            rule(
                rng.sample(givens, rng.randint(1, min(2, maxp))),
                atoms.fresh(assumption == "open" and rng.random() < 0.3),
            )
        facts.extend(atoms.fresh() for _ in range(rng.randint(0, 2)))

    closure = Closure(facts, rules)
    answer, got, fact = settle(closure, query, assumption)
    if fact is not None:
        steps = views.proof_steps(closure, fact)
        depth = closure.depth(fact)
    else:
        steps = views.closure_steps(closure, closure.derived())
        depth = max((s["depth"] for s in steps), default=0)
    fviews = [views.atom(f) for f in facts]
    theory = number(rng, fviews, list(rule_views.values()))
    vars = {
        "theory": theory,
        "facts": fviews,
        "rules": [rule_views[r.id] for r in rules],
        "query": views.atom(query),
        "assumption": assumption,
        "steps": steps,
        "outcome": got,
        "bait": bait,
    }
    proof = closure.proof(fact) if fact is not None else []
    form = formal(facts, rules, query, assumption, answer, proof, steps)
    return make_draw(vars, answer, form, depth)
