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

from typing import Any

from synth.errors import UserError
from synth.families.base import Draw, ItemContext, family
from synth.families.logic.common import (
    Lexicon,
    Views,
    clamp_depth,
    draw_label,
    formal,
    get_params,
    make_draw,
    number,
    settle,
)
from synth.families.logic.common import score as _score
from synth.world.names import NameMaker
from synth.world.solver import Closure, Rule, Triple

DEFAULTS: dict[str, Any] = {
    "assumption": "closed",
    "distractors": True,
    "negation": 0.5,
    "inverse": 0.3,
    "domain": "any",
}
DOMAINS = ("any", "people", "places")


def _forms(pos: str, neg: str | None = None, q: str | None = None) -> tuple[str, str, str]:
    """(statement, negation, question) with {s}/{o} slots; "is" sentences derive the rest."""
    if neg is None:
        assert pos.startswith("{s} is ")
        rest = pos[len("{s} is ") :]
        neg, q = "{s} is not " + rest, "is {s} " + rest
    return pos, neg, q  # type: ignore[return-value]


# (step relation, derived relation, inverse relation): id and forms. Forks (two steps
# into one member) must make sense: two parents, two places just north of one town.
CHAINS = {
    "people": [
        (("parent_of", _forms("{s} is a parent of {o}")),
         ("ancestor_of", _forms("{s} is an ancestor of {o}")),
         ("descendant_of", _forms("{s} is a descendant of {o}"))),
        (("year_older_than", _forms("{s} is exactly one year older than {o}")),
         ("older_than", _forms("{s} is older than {o}")),
         ("younger_than", _forms("{s} is younger than {o}"))),
        (("bit_taller_than", _forms("{s} is a little taller than {o}")),
         ("taller_than", _forms("{s} is taller than {o}")),
         ("shorter_than", _forms("{s} is shorter than {o}"))),
        (("direct_superior_of", _forms("{s} is the direct superior of {o}")),
         ("outranks", _forms("{s} outranks {o}", "{s} does not outrank {o}", "does {s} outrank {o}")),
         ("outranked_by", _forms("{s} is outranked by {o}"))),
        (("mentor_of", _forms("{s} is the mentor of {o}")),
         ("teaching_line_above", _forms("{s} is above {o} in the teaching line")),
         ("teaching_line_below", _forms("{s} is below {o} in the teaching line"))),
    ],
    "places": [
        (("directly_north_of", _forms("{s} lies directly north of {o}", "{s} does not lie directly north of {o}", "does {s} lie directly north of {o}")),
         ("north_of", _forms("{s} is north of {o}")),
         ("south_of", _forms("{s} is south of {o}"))),
        (("directly_east_of", _forms("{s} lies directly east of {o}", "{s} does not lie directly east of {o}", "does {s} lie directly east of {o}")),
         ("east_of", _forms("{s} is east of {o}")),
         ("west_of", _forms("{s} is west of {o}"))),
        (("next_upstream_of", _forms("{s} is the next village upstream from {o}")),
         ("upstream_of", _forms("{s} is upstream of {o}")),
         ("downstream_of", _forms("{s} is downstream of {o}"))),
        (("one_terrace_above", _forms("{s} sits one terrace above {o}", "{s} does not sit one terrace above {o}", "does {s} sit one terrace above {o}")),
         ("higher_than", _forms("{s} lies higher than {o}", "{s} does not lie higher than {o}", "does {s} lie higher than {o}")),
         ("lower_than", _forms("{s} lies lower than {o}", "{s} does not lie lower than {o}", "does {s} lie lower than {o}"))),
    ],
}  # fmt: skip
SYMMETRIC = {
    "people": [
        ("married_to", _forms("{s} is married to {o}")),
        ("cousin_of", _forms("{s} is a cousin of {o}")),
        ("neighbour_of", _forms("{s} is a neighbour of {o}")),
    ],
    "places": [
        ("borders", _forms("{s} shares a border with {o}", "{s} does not share a border with {o}", "does {s} share a border with {o}")),
        ("twinned_with", _forms("{s} is twinned with {o}")),
    ],
}  # fmt: skip
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


@family("relation_chain", "logic")
def relation_chain(ctx: ItemContext) -> Draw:
    """Transitive chains with inverse, one-way and symmetric rules: proof depth = difficulty."""
    p = get_params("relation_chain", ctx.params, DEFAULTS)
    if p["domain"] not in DOMAINS:
        raise UserError(
            f"family 'relation_chain': domain must be one of {', '.join(DOMAINS)}, got {p['domain']!r}"
        )
    rng = ctx.rng
    d = clamp_depth(ctx.difficulty)
    assumption, outcome = draw_label(rng, p["assumption"], p["negation"])
    domain = p["domain"] if p["domain"] != "any" else rng.choice(("people", "places"))
    (B, fb), (D, fd), (INV, fi) = rng.choice(CHAINS[domain])
    S, fs = rng.choice(SYMMETRIC[domain])
    th = _Theory(WORDS[domain])
    th.lex.rel.update({B: fb, D: fd, INV: fi, S: fs})
    names = NameMaker(rng)
    new = names.first if domain == "people" else names.place

    # Which relation the question is about, and how long the chain must be for depth d.
    Q = INV if rng.random() < p["inverse"] else D
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
        (
            assumption == "open"
            or (fork_query or outcome == "proved")
            and rng.random() < p["negation"]
        )
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
    if Q == INV or (p["distractors"] and rng.random() < 0.5):
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

    if p["distractors"]:
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
        vars, answer, formal(th.facts, th.rules, query, assumption, answer, proof), depth
    )


score = _score
