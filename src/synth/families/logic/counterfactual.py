"""counterfactual: answer under a theory with one rule replaced or added.

"Every wumpus is warm. ... Suppose that every wumpus were cold instead. Is Rex cold?"
The item draws the *modified* theory (a theory_chain theory whose query has the drawn
answer at depth `difficulty`), then derives the original by undoing one change:

  target      the rule that settles the query's term for the entity's deepest kind
              is replaced ("every yumpus were cold instead of warm")
  link        a link of the entity's kind chain is added ("suppose also that every
              wumpus were a yumpus"); without it the query does not follow
  irrelevant  a rule about a kind the entity does not belong to is replaced: the
              answer stays what it was

`formal` holds the modified rules, and what undoes the change: `supposed` (the id of the
rule the supposition makes), `replaces` (the rule it replaced, or null when it was added)
and `original_answer`, the answer without the change (both answers computed by the
solver).

params:
  assumption: closed | open | any
  distractors: bool
  negation: float
  queries: any | property | kind
"""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, choices, default_score, family, share
from synth.families.logic.common import (
    ANSWER_WORD,
    HAS,
    ISA,
    Views,
    clamp_depth,
    draw_label,
    formal,
    make_draw,
    number,
    settle,
)
from synth.families.logic.theory_chain import Taxonomy, build, explain
from synth.world.solver import Closure, Contradiction


@dataclass(frozen=True)
class Params:
    assumption: str = choices("closed", "open", "any")
    distractors: bool = True
    negation: float = share(0.5)
    queries: str = choices("any", "property", "kind")


@family("counterfactual", "logic", params=Params, score=default_score)
def counterfactual(ctx: ItemContext) -> Draw:
    """One rule of a taxonomy theory replaced or added: answer under the modified theory."""
    p: Params = ctx.params
    rng = ctx.rng
    d = clamp_depth(ctx.difficulty)
    for _attempt in range(20):
        assumption, outcome = draw_label(rng, p.assumption, p.negation)
        qtype = p.queries
        if qtype == "any":
            qtype = "property" if rng.random() < 0.6 else "kind"
        b = build(
            rng,
            d,
            outcome,
            assumption,
            qtype=qtype,
            distractors=p.distractors,
            negation=p.negation,
        )
        tx: Taxonomy = b["tx"]
        ent, query = b["ent"], b["query"]
        _, qrel, qobj = query
        neg_ok = b["neg_ok"]
        side = [
            r.id
            for r in tx.rules
            if tx.views[r.id]["k"] == "kprop" and tx.views[r.id]["a"] in b["others"]
        ]

        r = rng.random()
        if r < 0.2 and side:
            mode = "irrelevant"
        elif r < 0.45 and outcome != "absent" and d >= 2:
            mode = "link"
        else:
            mode = "target"
        old_view, old_rule = None, None
        if mode == "link":
            rid = b["links"][rng.randrange(d - 1)]
            original = [x for x in tx.rules if x.id != rid]
        else:
            rid = b["target"] if mode == "target" else rng.choice(side)
            new_view = tx.views[rid]
            kind = new_view["a"]
            if mode == "irrelevant":
                if neg_ok and rng.random() < 0.4:
                    alt = (HAS, new_view["p"], not new_view["neg"])
                else:
                    alt = (HAS, next(b["pool"]), new_view["neg"])
            else:
                choices = []
                if outcome != "proved":
                    choices.append((qrel, qobj, False))
                if outcome != "refuted" and neg_ok:
                    choices.append((qrel, qobj, True))
                if outcome != "absent":
                    choices.append(
                        (HAS, next(b["pool"]), False)
                        if qrel == HAS
                        else (ISA, tx.names.kind(), False)
                    )
                alt = rng.choice(choices)
            old_rule, old_view = tx.make(rid + "o", kind, *alt)
            original = [old_rule if x.id == rid else x for x in tx.rules]
        try:
            closure = Closure(tx.facts, tx.rules)
            before = Closure(tx.facts, original)
        except Contradiction:
            continue
        answer, got, fact = settle(closure, query, assumption)
        original_answer, _, _ = settle(before, query, assumption)
        if mode == "irrelevant":
            assert original_answer == answer

        views = Views(tx.lex, tx.views)
        ex = explain(views, closure, ent, query, b["bait"])
        old_views = dict(tx.views)
        if old_view is not None:
            old_views[old_view["id"]] = old_view
        oviews = Views(tx.lex, old_views)
        ox = explain(oviews, before, ent, query, b["bait"])
        facts = [views.atom(f) for f in tx.facts]
        shown = [old_views[x.id] for x in original]
        theory = number(rng, facts, shown)
        depth = (
            closure.depth(fact)
            if fact is not None
            else max((closure.depth(f) for f in closure.derived() if f[0] == ent), default=0)
        )
        vars = {
            "subject": ent,
            "theory": theory,
            "facts": facts,
            "rules": shown,
            "query": views.atom(query),
            "assumption": assumption,
            "change": {
                "mode": "add" if mode == "link" else "replace",
                "old": old_view,
                "new": tx.views[rid],
            },
            "changed": original_answer != answer,
            "original_answer": original_answer,
            "Original_answer": ANSWER_WORD[original_answer],
            "original_steps": ox["steps"],
            "original_outcome": ox["outcome"],
            **ex,
        }
        proof = closure.proof(fact) if fact is not None else []
        form = formal(tx.facts, tx.rules, query, assumption, answer, proof, ex["steps"])
        # What the text says of the theory without the supposition, re-checkable: the
        # original rules are these with `supposed` taken out and `replaces` put back.
        form["supposed"] = rid
        form["replaces"] = old_rule.to_json() if old_rule is not None else None
        form["original_answer"] = original_answer
        return make_draw(vars, answer, form, depth)
    raise RuntimeError("counterfactual: could not draw a consistent theory in 20 attempts")
