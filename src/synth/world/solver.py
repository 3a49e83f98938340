"""Forward chaining over Horn rules, with a proof for every derived fact.

Facts are triples `(subject, relation, object)`; a negated fact has relation
`not:<relation>`. A rule is `if` a conjunction of triple patterns (strings starting
with `?` are variables) `then` one triple pattern. The closure is computed
semi-naively: each round only joins rules against facts that are new since the
previous round, so a world with thousands of entities closes in well under a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

Triple = tuple[str, str, str]


@dataclass(frozen=True)
class Rule:
    id: str
    premises: tuple[Triple, ...]
    conclusion: Triple

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "if": [list(p) for p in self.premises],
            "then": list(self.conclusion),
        }


def is_var(term: str) -> bool:
    return term.startswith("?")


def negate(t: Triple) -> Triple:
    s, r, o = t
    return (s, r[4:], o) if r.startswith("not:") else (s, "not:" + r, o)


class Contradiction(ValueError):
    def __init__(self, fact: Triple):
        super().__init__(f"the closure derives both {list(fact)} and {list(negate(fact))}")
        self.fact = fact


def _match(pattern: Triple, fact: Triple, env: dict[str, str]) -> dict[str, str] | None:
    out = None
    for p, f in zip(pattern, fact):
        if is_var(p):
            bound = (out or env).get(p)
            if bound is None:
                if out is None:
                    out = dict(env)
                out[p] = f
            elif bound != f:
                return None
        elif p != f:
            return None
    return env if out is None else out


def _subst(pattern: Triple, env: dict[str, str]) -> Triple:
    return tuple(env.get(t, t) if is_var(t) else t for t in pattern)  # type: ignore[return-value]


class Closure:
    """All facts derivable from `facts` under `rules`, each with how it was derived."""

    def __init__(self, facts: Iterable[Triple], rules: Iterable[Rule], check: bool = True):
        self.rules = list(rules)
        # fact -> None for a given fact, or (rule id, premises) for a derived one
        self.why: dict[Triple, tuple[str, tuple[Triple, ...]] | None] = {}
        self._by_rel: dict[str, set[Triple]] = defaultdict(set)
        self._by_rs: dict[tuple[str, str], set[Triple]] = defaultdict(set)
        self._by_ro: dict[tuple[str, str], set[Triple]] = defaultdict(set)
        for f in facts:
            f = tuple(f)  # type: ignore[assignment]
            if f not in self.why:
                self._add(f, None)
        self._run()
        if check:
            for f in self.why:
                if f[1].startswith("not:") and negate(f) in self.why:
                    raise Contradiction(negate(f))

    def add_given(self, facts: Iterable[Triple]) -> None:
        """Given facts no rule's premise can match (a being's colour, its birth year):
        held by the closure, but not run through the rules. The caller vouches that no
        premise mentions their relations."""
        for f in facts:
            f = tuple(f)  # type: ignore[assignment]
            if f not in self.why:
                self._add(f, None)

    def _add(self, f: Triple, why) -> None:
        self.why[f] = why
        self._by_rel[f[1]].add(f)
        self._by_rs[(f[1], f[0])].add(f)
        self._by_ro[(f[1], f[2])].add(f)

    def _candidates(self, rel: str, subject: str, obj: str) -> Iterable[Triple]:
        if is_var(rel):
            return [f for fs in self._by_rel.values() for f in fs]
        if not is_var(subject):
            return self._by_rs.get((rel, subject), ())
        if not is_var(obj):
            return self._by_ro.get((rel, obj), ())
        return self._by_rel.get(rel, ())

    def _join(self, premises: tuple[Triple, ...], env: dict[str, str], used: tuple[Triple, ...]):
        if not premises:
            yield env, used
            return
        head, rest = premises[0], premises[1:]
        s, r, o = _subst(head, env)
        for f in list(self._candidates(r, s, o)):
            if not is_var(s) and f[0] != s or not is_var(o) and f[2] != o:
                continue
            e = _match(head, f, env)
            if e is not None:
                yield from self._join(rest, e, used + (f,))

    def _run(self) -> None:
        # Which (rule, premise) pairs a new fact can trigger, keyed by its relation and
        # object (constant objects like `is_a wumpus` are the common, selective case).
        trig: dict[tuple[str, str | None], list[tuple[Rule, int]]] = defaultdict(list)
        for rule in self.rules:
            for i, (_, r, o) in enumerate(rule.premises):
                trig[(r if not is_var(r) else "?", None if is_var(o) else o)].append((rule, i))
        delta = sorted(self.why)
        while delta:
            new: dict[Triple, tuple[str, tuple[Triple, ...]]] = {}
            for f in delta:
                # Semi-naive: every match uses at least one fact that is new this round.
                for key in ((f[1], f[2]), (f[1], None), ("?", f[2]), ("?", None)):
                    for rule, i in trig.get(key, ()):
                        env = _match(rule.premises[i], f, {})
                        if env is None:
                            continue
                        others = rule.premises[:i] + rule.premises[i + 1 :]
                        for env2, used in self._join(others, env, ()):
                            c = _subst(rule.conclusion, env2)
                            if c not in self.why and c not in new:
                                new[c] = (rule.id, used[:i] + (f,) + used[i:])
            for c, why in sorted(new.items()):
                self._add(c, why)
            delta = sorted(new)

    # -- queries -------------------------------------------------------------------

    def __contains__(self, fact: Triple) -> bool:
        return tuple(fact) in self.why

    def facts(self, relation: str | None = None) -> Iterable[Triple]:
        if relation is None:
            return self.why.keys()
        return self._by_rel.get(relation, ())

    def derived(self) -> list[Triple]:
        return [f for f, w in self.why.items() if w is not None]

    def answer(self, query: Triple, assumption: str = "closed") -> str:
        q = tuple(query)
        if q in self.why:
            return "true"
        if assumption == "open":
            return "false" if negate(q) in self.why else "unknown"
        return "false"

    def depth(self, fact: Triple) -> int:
        """Proof depth: 0 for a given fact, else 1 + the deepest premise."""
        memo: dict[Triple, int] = {}
        stack = [tuple(fact)]
        while stack:
            f = stack[-1]
            why = self.why[f]
            if f in memo or why is None:
                memo.setdefault(f, 0)
                stack.pop()
                continue
            pending = [p for p in why[1] if p not in memo]
            if pending:
                stack.extend(pending)
            else:
                memo[f] = 1 + max(memo[p] for p in why[1])
                stack.pop()
        return memo[tuple(fact)]

    def proof(self, fact: Triple) -> list[dict]:
        """Derivation steps in dependency order; given facts are leaves, not steps."""
        steps: list[dict] = []
        seen: set[Triple] = set()

        def visit(f: Triple) -> None:
            if f in seen:
                return
            seen.add(f)
            why = self.why[f]
            if why is None:
                return
            for p in why[1]:
                visit(p)
            steps.append({"rule": why[0], "uses": [list(p) for p in why[1]], "derives": list(f)})

        visit(tuple(fact))
        return steps

    def support(self, fact: Triple) -> tuple[list[Triple], list[str]]:
        """The given facts and rule ids that the proof of `fact` rests on."""
        leaves: list[Triple] = []
        rules: list[str] = []
        seen: set[Triple] = set()
        stack = [tuple(fact)]
        while stack:
            f = stack.pop()
            if f in seen:
                continue
            seen.add(f)
            why = self.why[f]
            if why is None:
                leaves.append(f)
            else:
                if why[0] not in rules:
                    rules.append(why[0])
                stack.extend(why[1])
        return sorted(leaves), rules
