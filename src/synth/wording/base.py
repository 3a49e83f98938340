"""What every language's wording shares: the document's memory (sentences said, its list
style), the plan that groups a subject's facts into sentences, and the small helpers the
templates call. A language supplies the phrase banks (`predicate`, `clause`, `sentence`,
...): see `en.py` and `ru.py`."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

Triple = tuple[str, str, str]

# Facts said together in one predicate when a subject has both: born there, in that
# year; moved to its home, in that year.
PAIRS = (("born_in", "born_year"), ("lives_in", "moved_year"))
MULTI = ("speaks", "skilled_in")
LIST_STYLES = ("- ", "* ", "• ", "1. ", "1) ")


class Group:
    """Facts one predicate states: one fact, a pair (born_in + born_year), or several
    values of one relation (speaks Ardic and Velmish)."""

    def __init__(self, subject: str, facts: list[Triple]):
        self.subject = subject
        self.facts = facts

    @property
    def rel(self) -> str:
        return "+".join(dict.fromkeys(f[1] for f in self.facts))

    def __repr__(self) -> str:
        return f"Group({self.subject!r}, {self.facts!r})"


class Say:
    """One document's wording (see the package docstring)."""

    lang = "en"

    def __init__(self, rng: random.Random, world: Any = None, *, fullnames: bool = True):
        self.rng = rng
        self.world = world
        self.fullnames = fullnames
        self._said: set[str] = set()
        self._style: str | None = None
        self._mentioned: set[str] = set()

    # -- the language's part -------------------------------------------------------------

    def predicate(self, group: Group) -> str:
        """The group's facts said of its subject, without the subject."""
        raise NotImplementedError

    def sentence(self, subject: str, preds: list[str], first: bool) -> str:
        """One sentence about `subject` saying `preds` (capitalised, with its period)."""
        raise NotImplementedError

    def clause(self, fact: Triple) -> str:
        """One fact as a clause, its subject first (not capitalised, no period): a kind's
        fact as the language says a kind's, anything else as its subject's predicate."""
        s, r, o = (str(x) for x in fact)
        if (
            r in ("is_a", "is", "not:is")
            and s[:1].islower()
            and s in getattr(self.world, "kinds", {})
        ):
            return self.kind_clause(s, r, o)
        return f"{self.name(s)} {self.predicate(Group(s, [(s, r, o)]))}"

    def kind_clause(self, kind: str, rel: str, obj: str) -> str:
        """A kind's fact as a clause ("every krovex is venomous")."""
        raise NotImplementedError

    # -- names ---------------------------------------------------------------------------

    def name(self, ident: str, case: str = "nomn") -> str:
        """How an id reads (a world's own name for it, in its language)."""
        if self.world is not None:
            return self.world.surface(str(ident), self.lang)
        return str(ident)

    def first_name(self, eid: str) -> str:
        return str(eid).split(" ", 1)[0]

    def named(self, idents: Sequence[str]) -> list[str]:
        """How each of these ids reads."""
        return [self.name(i) for i in idents]

    def label(self, rel: str) -> str:
        """How a relation or attribute label reads on its own ("located in", "nickname")."""
        return self._label(rel)

    def _label(self, rel: str) -> str:
        return rel.replace("_", " ")

    # -- facts about one subject -------------------------------------------------------

    def groups(self, subject: str, facts: Sequence[Sequence[str]]) -> list[Group]:
        """The facts grouped as predicates: pairs joined, multi-valued relations merged,
        links kept one to a group; facts about others than `subject` become groups of
        their own subject."""
        facts = [tuple(f) for f in facts]
        by_rel: dict[str, list[Triple]] = {}
        order: list[str] = []
        for f in facts:
            key = f[1] if f[0] == subject else f"{f[1]}<{f[0]}"
            if key not in by_rel:
                by_rel[key] = []
                order.append(key)
            by_rel[key].append(f)
        groups: list[Group] = []
        used: set[str] = set()
        for a, b in PAIRS:
            if a in by_rel and b in by_rel and len(by_rel[a]) == 1 and len(by_rel[b]) == 1:
                groups.append(Group(subject, by_rel[a] + by_rel[b]))
                used.update((a, b))
        for key in order:
            if key in used:
                continue
            fs = by_rel[key]
            if key in MULTI:
                groups.append(Group(subject, fs))
            elif key in ("is", "not:is"):  # properties: two or three to a predicate
                i = 0
                while i < len(fs):
                    n = self.rng.randint(1, 3)
                    groups.append(Group(subject, fs[i : i + n]))
                    i += n
            else:  # a fact about another being is said with its own subject
                groups.extend(Group(f[0], [f]) for f in fs)
        return groups

    def sentences(self, subject: str, facts: Sequence[Sequence[str]], *, pack: int = 3,
                  shuffle: bool = True) -> list[str]:  # fmt: skip
        """Sentences stating every fact of `facts` about `subject`, several facts to a
        sentence (at most `pack`), in shuffled order unless `shuffle` is false."""
        groups = self.groups(subject, facts)
        if shuffle:
            self.rng.shuffle(groups)
        out: list[str] = []
        i = 0
        while i < len(groups):
            n = min(pack, len(groups) - i, self._pack_size(pack))
            chunk = _merge_same(groups[i : i + n])
            i += n
            subj = chunk[0].subject
            same = [g for g in chunk if g.subject == subj]
            rest = [g for g in chunk if g.subject != subj]
            out.append(self._say_once(subj, same))
            for g in rest:
                out.append(self._say_once(g.subject, [g]))
        return out

    def paragraph(self, subject: str, facts: Sequence[Sequence[str]], **kw: Any) -> str:
        return " ".join(self.sentences(subject, facts, **kw))

    def _pack_size(self, pack: int) -> int:
        r = self.rng.random()
        return 1 if r < 0.22 or pack == 1 else (2 if r < 0.7 or pack == 2 else 3)

    def _say_once(self, subject: str, groups: list[Group]) -> str:
        """A sentence not said before in this document (a few tries, then one that
        states the facts one at a time)."""
        first = subject not in self._mentioned
        for _ in range(6):
            text = self.sentence(subject, [self.predicate(g) for g in groups], first)
            if self._fresh(text):
                self._mentioned.add(subject)
                return text
        parts = [self.sentence(subject, [self.predicate(g)], True) for g in groups]
        self._mentioned.add(subject)
        text = " ".join(parts)
        self._fresh(text)
        return text

    # -- answers -------------------------------------------------------------------------

    # The answer line of a yes/no question, by what it settles: its word `{V}`, then the
    # claim `{c}` in words ("true": the claim holds; "false": nothing known makes it so;
    # "not": the negation `{c}` is known; "unknown": nothing settles it).
    VERDICTS: dict[str, tuple[str, ...]] = {}
    BARE_ANSWER = 0.25  # the share of answer lines that give the word alone

    def answer_word(self, a: str) -> str:
        raise NotImplementedError

    def answer_line(self, value: str) -> str:
        """The line that states a sample's answer, as the answer filter reads it."""
        raise NotImplementedError

    def verdict(
        self, answer: str, claim: Sequence[str], negation: Sequence[str] | None = None
    ) -> str:
        """The answer line of a yes/no question about `claim`: the answer word, and most
        often what it settles ("Answer: True - Kruso teaches Timan."), so that the line
        is not the same few sentences in every question (in a corpus of such questions
        the bare "Answer: True" was the most common sentence). `negation`: the fact a
        "false" rests on when it is known (an open-world question), else "false" says
        that nothing known makes the claim so. The filters read the word first."""
        word = self.answer_word(answer)
        key, fact = (
            ("not", negation) if answer == "false" and negation is not None else (answer, claim)
        )
        bank = self.VERDICTS.get(key)
        if not bank or self.rng.random() < self.BARE_ANSWER:
            return self.answer_line(word)
        said = self.pick(bank).replace("{V}", word).replace("{c}", self.clause(tuple(fact)))
        return self.answer_line(said)

    def once(self, *options: str) -> str:
        """The first of `options` (in a random order) not said before in this document."""
        opts = list(options)
        self.rng.shuffle(opts)
        for o in opts:
            if self._fresh(o):
                return o
        return opts[0]

    def statement(self, fact: Sequence[str]) -> str:
        """One fact as a sentence of its own, in words not said before in the document."""
        return self.fresh(lambda: cap(self.clause(tuple(fact))) + ".")

    def fresh(self, make, tries: int = 6) -> str:
        """`make()` until none of its sentences was said before in this document (a few
        tries; then the last one)."""
        for _ in range(tries):
            text = make()
            keys = [_key(s) for s in _SENTENCE.split(text) if len(s.split()) >= 3]
            if not any(k in self._said for k in keys) and len(set(keys)) == len(keys):
                self._said.update(keys)
                return text
        return text

    def _fresh(self, text: str) -> bool:
        key = re.sub(r"\s+", " ", text.strip().lower())
        if key in self._said:
            return False
        self._said.add(key)
        return True

    # -- layout --------------------------------------------------------------------------

    @property
    def style(self) -> str:
        """The document's one list marker, chosen at its first list."""
        if self._style is None:
            self._style = self.rng.choice(LIST_STYLES)
        return self._style

    def items(self, lines: Sequence[str]) -> str:
        """Lines as a list in the document's style (numbered styles count from 1)."""
        st = self.style
        out = []
        for i, line in enumerate(lines, start=1):
            marker = st.replace("1", str(i)) if st[0] == "1" else st
            out.append(marker + line)
        return "\n".join(out)

    def pick(self, *options: Any) -> Any:
        return self.rng.choice(
            options[0] if len(options) == 1 and isinstance(options[0], (list, tuple)) else options
        )


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _key(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence.strip().lower())


def _merge_same(chunk: list[Group]) -> list[Group]:
    """Groups of one subject and one relation (two sets of properties) as one group."""
    out: list[Group] = []
    for g in chunk:
        same = next((h for h in out if h.subject == g.subject and h.rel == g.rel
                     and h.rel in ("is", "not:is")), None)  # fmt: skip
        if same is not None:
            same.facts = same.facts + g.facts
        else:
            out.append(Group(g.subject, list(g.facts)))
    return out


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]
