"""An independent re-derivation of a row's `formal`, written from the contract the
README states for `formal` alone (naive fixpoint, no code shared with synth.world.solver)."""

from __future__ import annotations

import json


def _unify(pattern, fact, env):
    env = dict(env)
    for p, f in zip(pattern, fact):
        if p.startswith("?"):
            if env.setdefault(p, f) != f:
                return None
        elif p != f:
            return None
    return env


def closure(facts, rules):
    known = {tuple(f) for f in facts}
    changed = True
    while changed:
        changed = False
        for rule in rules:
            envs = [{}]
            for prem in rule["if"]:
                envs = [e2 for e in envs for f in known if (e2 := _unify(prem, f, e)) is not None]
            for e in envs:
                new = tuple(e.get(t, t) for t in rule["then"])
                if new not in known:
                    known.add(new)
                    changed = True
    return known


def negation(t):
    s, r, o = t
    return (s, r[4:], o) if r.startswith("not:") else (s, "not:" + r, o)


def rederive(formal: dict | str):
    """The answer `formal` implies (or, for a document, whether all it states follows)."""
    f = json.loads(formal) if isinstance(formal, str) else formal
    if "task" in f:  # instruction samples carry their expected output
        return f["expected"]
    known = closure(f["facts"], f["rules"])
    if f.get("query") is None:
        return all(tuple(s) in known for s in f.get("states", []))
    q = tuple(f["query"])
    for fact in known:  # a derived fact and its negation together would be a broken world
        assert negation(fact) not in known, f"contradiction on {fact}"
    var = [t for t in q if t.startswith("?")]
    if var:
        values = {fact[q.index(var[0])] for fact in known if _unify(q, fact, {}) is not None}
        assert len(values) == 1, f"value query with answers {values}"
        return values.pop()
    if q in known:
        return "true"
    if f["assumption"] == "open":
        return "false" if negation(q) in known else "unknown"
    return "false"
