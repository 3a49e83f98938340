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
    # The hot loop of every closure: `is_var` inlined as `p[:1] == "?"`.
    out = None
    for p, f in zip(pattern, fact):
        if p[:1] == "?":
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
    s, r, o = pattern
    return (
        env.get(s, s) if s[:1] == "?" else s,
        env.get(r, r) if r[:1] == "?" else r,
        env.get(o, o) if o[:1] == "?" else o,
    )


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

    @classmethod
    def assembled(
        cls,
        given: Iterable[Triple],
        derived: Iterable[tuple[int, Triple, tuple[str, tuple[Triple, ...]]]],
        rules: Iterable[Rule],
    ) -> Closure:
        """The closure of `given` under `rules`, from parts closed on their own: `derived`
        holds (round, fact, why) of every derived fact. Parts no rule connects (a being's
        kinds and its links) close to the same facts, proofs and order as one run would:
        a semi-naive run adds round r's facts sorted, and a fact's round is its proof
        depth, so sorting by (round, fact) replays it. The caller vouches that no rule
        of one part reads a fact of another and that each part was checked."""
        c = cls.__new__(cls)
        c.rules = list(rules)
        c.why = {}
        c._by_rel, c._by_rs, c._by_ro = defaultdict(set), defaultdict(set), defaultdict(set)
        for f in given:
            f = tuple(f)  # type: ignore[assignment]
            if f not in c.why:
                c._add(f, None)
        for _, f, why in sorted(derived, key=lambda x: (x[0], x[1])):
            if f not in c.why:
                c._add(f, why)
        return c

    def rounds(self) -> list[tuple[int, Triple, tuple[str, tuple[Triple, ...]]]]:
        """(round, fact, why) of every derived fact: what `assembled` takes."""
        depth: dict[Triple, int] = {}
        out = []
        for f, why in self.why.items():  # premises come before what they derive
            if why is None:
                depth[f] = 0
            else:
                depth[f] = 1 + max(depth[p] for p in why[1])
                out.append((depth[f], f, why))
        return out

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
        s_free, o_free = s[:1] == "?", o[:1] == "?"
        for f in list(self._candidates(r, s, o)):
            if not s_free and f[0] != s or not o_free and f[2] != o:
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
