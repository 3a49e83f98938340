"""English wording: the phrase banks and how English builds sentences from them.

Each fact type has several predicates (the fact said of its subject) and, for links,
several reverse predicates (said of its object: "descends from", "trains under"); a
sentence joins one to three predicates about one subject in one of a few shapes (a
list, a relative clause, an apposition, a fronted time, a clause after a semicolon with
the subject's pronoun). Nothing here is filler: every word either names a fact's terms
or carries its meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synth.english import article, join_and, plural
from synth.wording import forms
from synth.wording.base import Group, Say, Triple, cap

# Predicates of a subject, `{o}` the object. `{o:a}` with its article, `{o:pl}` plural.
FORWARD: dict[str, tuple[str, ...]] = {
    "is_a": ("is {o:a}", "is one of the {o:pl}", "belongs to the {o:pl}",
             "is a member of the {o:pl}", "counts among the {o:pl}", "is by kind {o:a}",
             "is classed among the {o:pl}", "is listed as {o:a}", "ranks among the {o:pl}",
             "falls among the {o:pl}", "is of the {o} kind", "is classed as {o:a}",
             "is counted among the {o:pl}", "belongs among the {o:pl}", "is numbered among the {o:pl}",
             "is recorded as {o:a}", "is known to be {o:a}", "is a creature of the {o} kind"),
    "colour": ("is {o} in colour", "has {o} colouring", "is coloured {o}", "has {o:a} hue",
               "shows {o:a} colour", "wears {o}", "is {o:a} sort of being", "has {o:a} look",
               "bears {o:a} coat"),
    "lives_in": ("lives in {o}", "makes a home in {o}", "resides in {o}", "has settled in {o}",
                 "dwells in {o}", "keeps house in {o}", "has a home in {o}", "is a resident of {o}",
                 "calls {o} home", "is at home in {o}", "has a house in {o}"),
    "works_as": ("works as {o:a}", "is {o:a} by trade", "earns a living as {o:a}",
                 "makes a living as {o:a}", "is employed as {o:a}", "has the trade of {o:a}",
                 "works for a living as {o:a}", "follows the craft of {o:a}", "is known as {o:a}",
                 "plies the trade of {o:a}", "is by profession {o:a}"),
    "born_in": ("was born in {o}", "comes from {o}", "is a native of {o}", "was born and raised in {o}",
                "hails from {o}", "has {o} as a birthplace", "first drew breath in {o}",
                "is {o}-born"),
    "born_year": ("was born in {o}", "was born in the year {o}", "came into the world in {o}",
                  "was born back in {o}", "dates from {o}", "has been alive since {o}",
                  "saw the light of day in {o}", "arrived in the world in {o}"),
    "moved_year": ("moved house in {o}", "changed homes in {o}", "left for a new home in {o}",
                   "settled in a new place in {o}", "made a move in {o}", "relocated in {o}",
                   "packed up and moved in {o}", "took up a new home in {o}"),
    "height_cm": ("is {o} cm tall", "stands {o} centimetres tall", "measures {o} cm in height",
                  "has a height of {o} cm", "reaches {o} cm", "is {o} centimetres in height",
                  "stands at {o} cm", "is a being of {o} cm"),
    "weight_kg": ("weighs {o} kg", "weighs {o} kilograms", "has a weight of {o} kg",
                  "tips the scales at {o} kg", "weighs in at {o} kg", "has a mass of {o} kilograms",
                  "carries {o} kg of weight"),
    "speaks": ("speaks {o}", "is fluent in {o}", "has a command of {o}", "can converse in {o}",
               "knows {o}", "talks in {o}", "has learned {o}", "gets by in {o}"),
    "skilled_in": ("is skilled in {o}", "practises {o}", "has a talent for {o}", "is adept at {o}",
                   "is well versed in {o}", "has a gift for {o}", "excels at {o}",
                   "is practised in {o}", "has a knack for {o}"),
    "ancestor_of": ("is an ancestor of {o}", "is one of the forebears of {o}",
                    "stands in the ancestry of {o}", "counts {o} among their descendants",
                    "has {o} among their descendants", "is a forebear of {o}",
                    "is one of those {o} descends from",
                    "comes before {o} in the family line", "is among the ancestors of {o}"),
    "descendant_of": ("is a descendant of {o}", "descends from {o}", "comes of the line of {o}",
                      "has {o} among their ancestors", "is of the line of {o}",
                      "traces their descent to {o}", "is among the descendants of {o}",
                       "has {o} in their ancestry",
                      "comes after {o} in the family line", "counts {o} among their forebears"),
    "older_than": ("is older than {o}", "was born before {o}", "has more years than {o}",
                   "is senior in age to {o}", "is the elder of {o}", "came into the world before {o}",
                   "has been alive longer than {o}", "was born earlier than {o}",
                   "has lived more years than {o}"),
    "younger_than": ("is younger than {o}", "was born after {o}", "has fewer years than {o}",
                     "is junior in age to {o}", "came into the world after {o}",
                     "was born later than {o}", "has lived fewer years than {o}"),
    "neighbour_of": ("is a neighbour of {o}", "lives next door to {o}", "lives beside {o}",
                     "shares a street with {o}", "has {o} as a neighbour", "lives near {o}"),
    "mentor_of": ("is the mentor of {o}", "mentors {o}", "teaches {o}", "has {o} as an apprentice",
                  "guides {o} in the trade", "took {o} on as an apprentice"),
    "apprentice_of": ("is an apprentice of {o}", "trains under {o}", "learns from {o}",
                      "has {o} as a mentor", "is taught by {o}", "studies under {o}"),
    "friend_of": ("is a friend of {o}", "is friends with {o}", "counts {o} as a friend",
                  "keeps a close friendship with {o}", "is on good terms with {o}",
                  "shares a friendship with {o}", "is a close companion of {o}"),
    "lies_in": ("lies in {o}", "is in the region of {o}", "belongs to {o}", "is part of {o}",
                "is found in {o}", "sits within {o}"),
    "population": ("has a population of {o:n}", "is home to {o:n} inhabitants",
                   "counts {o:n} residents", "houses {o:n} souls", "has {o:n} people living in it",
                   "numbers {o:n} inhabitants"),
    "founded_year": ("was founded in {o}", "dates from {o}", "was established in {o}",
                     "has stood since {o}", "goes back to {o}", "was built in {o}"),
    "elevation_m": ("lies {o:n} metres above sea level", "sits at an elevation of {o:n} m",
                    "stands {o:n} m above the sea", "has an elevation of {o:n} metres",
                    "lies at a height of {o:n} m"),
}  # fmt: skip
# Said of a link's object, `{s}` the link's subject.
REVERSE: dict[str, tuple[str, ...]] = {
    "ancestor_of": ("descends from {s}", "is a descendant of {s}", "has {s} among their ancestors",
                    "comes of the line of {s}", "counts {s} among their forebears"),
    "descendant_of": ("is an ancestor of {s}", "counts {s} among their descendants",
                      "is a forebear of {s}", "has {s} among their descendants"),
    "older_than": ("is younger than {s}", "was born after {s}", "was born later than {s}"),
    "younger_than": ("is older than {s}", "was born before {s}", "was born earlier than {s}"),
    "neighbour_of": ("is a neighbour of {s}", "lives next door to {s}"),
    "mentor_of": ("is an apprentice of {s}", "trains under {s}", "learns from {s}"),
    "apprentice_of": ("is the mentor of {s}", "teaches {s}"),
    "friend_of": ("is a friend of {s}", "is friends with {s}"),
}  # fmt: skip
# Pairs said in one predicate (see base.PAIRS): `{a}` the first fact's object, `{b}` the second's.
PAIRED: dict[str, tuple[str, ...]] = {
    "born_in+born_year": ("was born in {a} in {b}", "was born in {b} in {a}",
                          "came into the world in {a} in {b}", "was born in {a} in the year {b}",
                          "was born in {a} back in {b}", "first drew breath in {a} in {b}",
                          "is a native of {a}, born in {b}", "was born in {b}, in {a}"),
    "lives_in+moved_year": ("moved to {a} in {b}", "has lived in {a} since {b}",
                            "settled in {a} in {b}", "made a home in {a} in {b}",
                            "came to live in {a} in {b}", "has been a resident of {a} since {b}",
                            "moved house to {a} in {b}", "took up residence in {a} in {b}"),
}  # fmt: skip
# A being's properties said of it (`{p}`: one, or several joined); every one says only
# that the properties hold (or, below, that they do not).
HAS_PROPS = ("is {p}", "is known to be {p}", "is {p} by nature", "is by nature {p}",
             "counts as {p}", "can be described as {p}", "has the trait of being {p}",
             "proves to be {p}", "is naturally {p}", "is described as {p}",
             "is rightly called {p}", "is {p} in nature", "is found to be {p}",
             "is recorded as {p}", "is held to be {p}", "is seen to be {p}",
             "is {p} by all accounts", "is noted for being {p}")  # fmt: skip
LACKS_PROPS = (
    "is not {p}",
    "is never {p}",
    "is in no way {p}",
    "is by no means {p}",
    "is not {p} at all",
    "cannot be called {p}",
    "is not in any way {p}",
)
# A property rule's shapes: of the members of one kind, and of anything at all.
RULE_OF_KIND = (
    "every {k} that is {c} {is3}",
    "any {k} that is {c} {is3}",
    "each {k} that is {c} {is3}",
    "if {a k} is {c}, it {is3}",
    "whenever {a k} is {c}, it {is3}",
    "among the {ks}, those that are {c} {are3}",
    "{ks} that are {c} {are3}",
    "all {ks} that are {c} {are3}",
    "for {a k}, being {c} means it {is3}",
)
LAW_OF_KIND = tuple(x for x in RULE_OF_KIND if not x.startswith(("if", "whenever", "for")))
RULE_OF_ALL = (
    "anything that is {c} {is3}",
    "whatever is {c} {is3}",
    "if something is {c}, then it {is3}",
    "every being that is {c} {is3}",
    "any being that is {c} {is3}",
    "whenever a being is {c}, it {is3}",
    "beings that are {c} {are3}",
    "all beings that are {c} {are3}",
)
# A fact stated as what the reasoning after it shows.
CLAIM = ("{C}.", "{C}, and here is why.", "It follows that {c}.", "We can show that {c}.",
         "One consequence is that {c}.", "{C}: this follows.", "Note that {c}.",
         "{C}, as the steps show.", "It can be shown that {c}.", "As we will see, {c}.")  # fmt: skip
# What a step concludes, led in (a sentence of its own follows the lead).
THEN = (
    "Therefore",
    "So",
    "Hence",
    "Thus",
    "It follows that",
    "This means that",
    "That makes it clear:",
    "Consequently,",
    "We conclude that",
    "From this,",
    "Putting these together,",
    "It must be, then, that",
)
OPENERS = ("According to the records, ", "As the registry has it, ", "By all accounts, ",
           "The census notes that ", "Local accounts agree that ", "The parish roll says that ",
           "Those who know the family say that ", "In the town records, ", "As far as anyone knows, ",
           "The archive tells us that ", "Neighbours will tell you that ", "The old ledgers show that ",
           "On the record, ", "As is well known, ", "People say that ")  # fmt: skip
CONNECT = ("Also, ", "Besides, ", "In addition, ", "What is more, ", "Moreover, ", "Further, ",
           "On top of that, ", "Then again, ", "As it happens, ", "Beyond that, ")  # fmt: skip
AUX = ("is", "was", "has", "can", "does")


def _also(pron: str, pred: str) -> str:
    """'she also lives in X', 'she is also tiny'."""
    head, _, rest = pred.partition(" ")
    if head in AUX:
        return f"{pron} {head} also {rest}"
    return f"{pron} also {pred}"


PRONOUN = {"femn": ("she", "her"), "masc": ("he", "his"), "": ("it", "its")}


class EnglishSay(Say):
    lang = "en"
    _in_sentence = False

    def _say_once(self, subject: str, groups: list[Group]) -> str:
        self._in_sentence = True
        try:
            return super()._say_once(subject, groups)
        finally:
            self._in_sentence = False

    # -- names and pronouns ------------------------------------------------------------

    def gender(self, ident: str) -> str:
        """A being's gender from its first name ("Ilsa" feminine), "" when unknown."""
        if self.world is None or self.world.source or not self._is_being(ident):
            return ""  # no rule for the names of a user's world
        return "femn" if str(ident).split(" ", 1)[0].endswith("a") else "masc"

    def _is_being(self, ident: str) -> bool:
        return self.world is not None and str(ident) in self.world.entity_by_id

    def pronoun(self, ident: str) -> str | None:
        g = self.gender(ident)
        return PRONOUN[g][0] if g else None

    def _term(self, value: str, form: str = "") -> str:
        text = self.name(value)
        if form == "a":
            return f"{article(text)} {text}"
        if form == "pl":
            return plural(text)
        if form == "n":
            return f"{int(value):,}" if str(value).isdigit() else text
        return text

    def _fill(self, pattern: str, **slots: str) -> str:
        out = pattern
        for slot, value in slots.items():
            for form in ("a", "pl", "n"):
                out = out.replace(f"{{{slot}:{form}}}", self._term(value, form))
            out = out.replace(f"{{{slot}}}", self._term(value))
        return out

    # -- facts ---------------------------------------------------------------------------

    def predicate(self, group: Group) -> str:
        facts, subj = group.facts, group.subject
        rel = group.rel
        if rel in PAIRED:
            a, b = facts[0][2], facts[1][2]
            return self._fill(self.pick(PAIRED[rel]), a=a, b=b)
        f = facts[0]
        if f[1] in ("is", "not:is") and f[0] == subj:
            via = self._via(facts) if self._in_sentence else None
            if via and self.rng.random() < 0.35:
                k = self.name(via)
                said = forms.plain(self.world, [x[2] for x in facts])
                if said is None:  # a verb or a noun among them: said plainly, with its verb
                    return forms.properties(self.world, f[1], [x[2] for x in facts])
                words = join_and(said, "and" if f[1] == "is" else "or")
                neg = "" if f[1] == "is" else "not "
                return self.pick(f"is, like every {k}, {neg}{words}",
                                 f"is, as {article(k)} {k}, {neg}{words}",
                                 f"is, being {article(k)} {k}, {neg}{words}")  # fmt: skip
            return self._properties(f[1], [x[2] for x in facts])
        if len(facts) > 1:  # several values of one relation
            values = join_and([self._term(x[2]) for x in facts])
            return self.pick(FORWARD.get(f[1], ("has {o}",))).replace("{o}", values)
        if f[0] == subj:
            return self._forward(f)
        if f[2] == subj and f[1] in REVERSE:
            return self._fill(self.pick(REVERSE[f[1]]), s=f[0])
        return self.clause(f)

    def _via(self, facts: list[Triple]) -> str | None:
        """The one kind whose rule gives all of these property facts (None if they come
        from several kinds, a world rule, or are stated)."""
        if self.world is None:
            return None
        c = self.world.closure_of(facts[0][0])
        kinds = set()
        for f in facts:
            why = c.why.get(tuple(f))
            if why is None or ":" not in why[0]:
                return None
            kinds.add(why[0].split(":", 1)[0])
        return kinds.pop() if len(kinds) == 1 else None

    def _properties(self, rel: str, props: list[str]) -> str:
        said = forms.plain(self.world, props)
        if said is None:
            return forms.properties(self.world, rel, props)
        props = said
        if rel == "is":
            return self.pick(HAS_PROPS).replace("{p}", join_and(props))
        if len(props) == 1:
            return self.pick(LACKS_PROPS).replace("{p}", props[0])
        nor = ", ".join(props[:-1]) + " nor " + props[-1]
        return self.pick((f"is neither {nor}", *LACKS_PROPS)).replace("{p}", join_and(props, "or"))

    def _forward(self, f: Triple) -> str:
        s, r, o = f
        if r in ("is", "not:is"):
            return self._properties(r, [o])
        bank = FORWARD.get(r)
        if bank is None:  # a user world's relation or attribute
            return self._generic(r, o)
        return self._fill(self.pick(bank), o=o)

    def _generic(self, r: str, o: str) -> str:
        label = self._label(r)
        rel = self.world.relations.get(r.removeprefix("not:")) if self.world is not None else None
        if rel is not None:
            return f"{label} {self.name(o)}"
        return self.pick(f"has {self.name(o)} as {label}", f"has the {label} {self.name(o)}")

    def _label(self, r: str) -> str:
        return forms.relation(self.world, r) or r.replace("_", " ")

    def sentence(self, subject: str, preds: list[str], first: bool) -> str:
        name = self.name(subject)
        pron = self.pronoun(subject)
        if not self.fullnames and not first and pron:
            name = pron
        who = "who" if pron or self._is_being(subject) else "which"
        r = self.rng.random()
        lead = self.pick(CONNECT) if not first and self.rng.random() < 0.12 else ""
        start = f"{lead}{name}" if lead else cap(name)
        if len(preds) == 1:
            p = preds[0]
            if r < 0.16:
                return f"{self.pick(OPENERS)}{name} {p}."
            if r < 0.24 and who == "who":
                return f"{start} is someone who {p}."
            if r < 0.30 and pron:
                said = self.pick("we know", "the records say", "it is said", "people know")
                return f"Of {name}, {said} that {pron} {p}."
            return f"{start} {p}."
        if len(preds) == 2 and pron and r < 0.2:
            return f"{start} {preds[0]}; {_also(pron, preds[1])}."
        if r < 0.36 and not preds[0].startswith(("is ", "was ")):
            return f"{cap(name)}, {who} {preds[0]}, {join_and(preds[1:])}."
        if r < 0.46 and pron:
            return f"{start} {preds[0]}, and {pron} {join_and(preds[1:])}."
        if r < 0.56:
            return f"{self.pick(OPENERS)}{name} {join_and(preds)}."
        if r < 0.62:
            return f"{start} not only {preds[0]} but also {join_and(preds[1:])}."
        return f"{start} {join_and(preds)}."

    # -- kinds, rules, steps ----------------------------------------------------------------

    def kind_clause(self, kind: str, rel: str, obj: str) -> str:
        if rel != "is_a" and forms.plain(self.world, [obj]) is None:
            return forms.kind_clause(self, kind, rel, obj)
        if rel != "is_a":
            obj = forms.plain(self.world, [obj])[0]
        k, o = self.name(kind), self.name(obj)
        ks = plural(k)
        if rel == "is_a":
            return self.pick(f"every {k} is {article(o)} {o}", f"all {ks} are {plural(o)}",
                             f"{ks} are a kind of {o}", f"each {k} is also {article(o)} {o}",
                             f"{ks} form a branch of the {plural(o)}", f"the {ks} belong among the {plural(o)}",
                             f"{article(k)} {k} is one sort of {o}", f"{ks} count as {plural(o)}",
                             f"{ks} are one branch of the {o} family", f"any {k} is {article(o)} {o}",
                             f"{ks} make up one kind of {o}", f"the {ks} are among the {plural(o)}",
                             f"{article(k)} {k} is {article(o)} {o} of a particular sort",
                             f"{ks} are {plural(o)} of their own sort")  # fmt: skip
        if rel == "is":
            return self.pick(f"every {k} is {o}", f"all {ks} are {o}", f"{ks} are {o}",
                             f"each {k} is {o}", f"{ks} are {o}, one and all", f"{ks} are always {o}",
                             f"{article(k)} {k} is {o} by nature", f"to be {article(k)} {k} is to be {o}",
                             f"any {k} is {o}", f"{ks} are {o} without exception", f"{ks} are {o}, every one",
                             f"the {ks} are {o}")  # fmt: skip
        return self.pick(f"no {k} is {o}", f"{ks} are never {o}", f"{ks} are not {o}",
                         f"not a single {k} is {o}", f"none of the {ks} is {o}",
                         f"{article(k)} {k} is never {o}", f"{ks} are by nature not {o}",
                         f"no {k} is ever {o}", f"{ks} are not {o}, not one of them",
                         f"there is no {k} that is {o}", f"the {ks} are never {o}")  # fmt: skip

    def kind_paragraph(self, view: dict[str, Any]) -> str:
        """A kind's own facts as a few sentences: its parent, what its members are and
        are not (several properties to a sentence)."""
        k = self.name(view["name"])
        out = []
        if view.get("parent"):
            out.append(cap(self.kind_clause(view["name"], "is_a", view["parent"])) + ".")
        yes = [p["name"] for p in view["own_props"] if p["holds"]]
        no = [p["name"] for p in view["own_props"] if not p["holds"]]
        if forms.plain(self.world, yes + no) is None:
            out.append(forms.kind_paragraph(self, view["name"], yes, no))
            yes = no = []
        yes, no = forms.plain(self.world, yes), forms.plain(self.world, no)
        if yes and no:
            out.append(self.pick(
                f"{cap(plural(k))} are {join_and(yes)} but never {join_and(no, 'or')}.",
                f"Every {k} is {join_and(yes)}, and none is {join_and(no, 'or')}.",
                f"{cap(plural(k))} are {join_and(yes)}; they are not {join_and(no, 'or')}.",
            ))  # fmt: skip
        elif yes:
            out.append(cap(self.kind_clause(view["name"], "is", join_and(yes))) + ".")
        elif no:
            out.append(cap(self.kind_clause(view["name"], "not:is", join_and(no, "or"))) + ".")
        self.rng.shuffle(out)
        return " ".join(out)

    def rule(self, rule: dict[str, Any]) -> str:
        """A world rule or a relation's algebra as a sentence."""
        prem, then = rule["if"], rule["then"]
        rels = {p[1] for p in prem} | {then[1]}
        scoped = [p for p in prem if p[1] == "is_a"]
        if len(prem) == 3 and len(scoped) == 1 and rels == {"is", "is_a"}:
            k = self.name(scoped[0][2])
            p1, p2 = (p[2] for p in prem if p[1] == "is")
            p3 = then[2]
            if forms.plain(self.world, [p1, p2, p3]) is None:
                a, b, c = (forms.pred(self.world, p).sing for p in (p1, p2, p3))
                return cap(self.pick(f"every {k} that {a} and {b} {c}",
                                     f"any {k} that {a} and {b} {c}")) + "."  # fmt: skip
            p1, p2, p3 = forms.plain(self.world, [p1, p2, p3])
            return cap(self._law(RULE_OF_KIND, p1, p2, p3, k=k)) + "."
        if len(prem) == 2 and rels == {"is"}:
            p1, p2, p3 = prem[0][2], prem[1][2], then[2]
            if forms.plain(self.world, [p1, p2, p3]) is None:
                a, b, c = (forms.pred(self.world, p).sing for p in (p1, p2, p3))
                return cap(self.pick(f"anything that {a} and {b} {c}",
                                     f"whatever {a} and {b} {c}")) + "."  # fmt: skip
            p1, p2, p3 = forms.plain(self.world, [p1, p2, p3])
            return cap(self._law(RULE_OF_ALL, p1, p2, p3)) + "."
        if len(prem) == 1 and then[1] == prem[0][1] and then[0] == prem[0][2]:
            r = self._relation_phrase(then[1])
            return cap(self.pick(f"if A {r} B, then B {r} A", f"'{r}' works both ways")) + "."
        if len(prem) == 2 and then[1] == prem[0][1] == prem[1][1]:
            r = self._relation_phrase(then[1])
            return cap(self.pick(f"if A {r} B and B {r} C, then A {r} C",
                                 f"the relation '{r}' carries along a chain: A {r} B and B {r} C give A {r} C")) + "."  # fmt: skip
        if len(prem) == 1 and prem[0][0] == then[2] and prem[0][2] == then[0]:
            a, b = self._relation_phrase(prem[0][1]), self._relation_phrase(then[1])
            return (
                cap(self.pick(f"if A {a} B, then B {b} A", f"A {a} B exactly when B {b} A")) + "."
            )
        parts = [self._pattern(p) for p in prem]
        return (
            cap(f"{self.pick('if', 'whenever')} {join_and(parts)}, then {self._pattern(then)}")
            + "."
        )

    def _law(self, shapes: tuple[str, ...], p1: str, p2: str, p3: str, k: str = "") -> str:
        """A property rule in one of `shapes`: its condition (`{c}`, the two premises in
        either order) and its conclusion (`{is3}` of one, `{are3}` of many) each said one
        of several ways."""
        a, b = self.pick((p1, p2), (p2, p1))
        c = self.pick(f"{a} and {b}", f"both {a} and {b}", f"{a} as well as {b}")
        shape = self.pick(shapes)
        is3 = self.pick(f"is also {p3}", f"is {p3}", f"is {p3} as well", f"is always {p3}")
        are3 = self.pick(f"are also {p3}", f"are {p3}", f"are {p3} as well", f"are always {p3}")
        for slot, value in (("{ks}", plural(k)), ("{a k}", f"{article(k)} {k}" if k else ""),
                            ("{k}", k), ("{c}", c), ("{is3}", is3), ("{are3}", are3)):  # fmt: skip
            shape = shape.replace(slot, value)
        return shape

    def _pattern(self, t: list[str]) -> str:
        s, r, o = (x.lstrip("?").upper() if x.startswith("?") else x for x in t)
        return self.clause((s, r, o))

    def _relation_phrase(self, r: str) -> str:
        bank = FORWARD.get(r)
        if bank:
            return bank[0].replace(" {o}", "").replace("{o}", "")
        return self._label(r)

    def step(self, st: dict[str, Any]) -> str:
        """One proof step as a sentence: what it used, which rule, what it gives (in
        words not said before in the document)."""
        return self.fresh(lambda: self._step(st))

    def _step(self, st: dict[str, Any]) -> str:
        d, uses, kind = st["derives"], st["uses"], st["kind"]
        got = self.clause(tuple(d))
        so = self.pick("so", "hence", "and so", "which means", "therefore", "it follows that")
        if kind == "taxonomy":
            k, parent = uses[0][2], d[2]
            given, law = self.clause(tuple(uses[0])), self.kind_clause(k, "is_a", parent)
            return self.pick(
                f"Since {given}, and {law}, {got}.",
                f"{cap(given)}; {law}, {so} {got}.",
                f"{cap(law)}, and {given}: {so} {got}.",
                f"Given that {given} and that {law}, {got}.",
                f"{cap(given)}. As {law}, {got}.",
            )  # fmt: skip
        if kind in ("property", "negative"):
            k = uses[0][2]
            kc = self.kind_clause(k, "is" if kind == "property" else "not:is", d[2])
            given = self.clause(tuple(uses[0]))
            then = self.pick(THEN)
            return self.pick(
                f"{cap(given)}, and {kc}. {then} {got}.",
                f"Because {given} and {kc}, {got}.",
                f"{cap(kc)}; {given}, {so} {got}.",
                f"{cap(given)}, and as {kc}, {got}.",
                f"Since {kc} and {given}, {got}.",
                f"{cap(given)}. {cap(kc)}. {then} {got}.",
                f"{cap(kc)}, and {given}. {then} {got}.",
            )  # fmt: skip
        if kind == "transitive":
            a, b = (self.clause(tuple(u)) for u in uses)
            how = self.pick("following the chain", "so, by transitivity", "putting the two together",
                            "linking the two", "chaining them")  # fmt: skip
            return self.pick(f"{cap(a)} and {b}; {how}, {got}.", f"Since {a}, and {b}, {got}.",
                             f"{cap(a)}. {cap(b)}. {cap(how)}, {got}.")  # fmt: skip
        if kind in ("inverse", "symmetric"):
            given = self.clause(tuple(uses[0]))
            if kind == "inverse":
                return self.pick(f"Since {given}, it follows that {got}.",
                                 f"{cap(given)}, which is the same as saying that {got}.",
                                 f"{cap(given)}; put the other way round, {got}.",
                                 f"If {given}, then {got}.")  # fmt: skip
            return self.pick(f"{cap(given)}, and this works both ways: {got}.",
                             f"{cap(given)}, so equally {got}.", f"As {given}, {got} too.")  # fmt: skip
        kinds = [u for u in uses if u[1] == "is_a"]
        props = [u[2] for u in uses if u[1] == "is"]
        if len(kinds) == 1 and len(props) == len(uses) - 1 and d[1] == "is":
            s, k = self.name(d[0]), self.name(kinds[0][2])
            if forms.plain(self.world, [*props, d[2]]) is None:
                that = join_and([forms.pred(self.world, p).sing for p in props])
                law = f"every {k} that {that} {forms.pred(self.world, d[2]).sing}"
                return self.pick(
                    f"{cap(s)} is {article(k)} {k} and {that}; {law}, so {got}.",
                    f"Since {s} is {article(k)} {k} that {that}, and {law}, {got}.",
                    f"A rule of the world says that {law}. {cap(s)} is {article(k)} {k} and {that}, {so} {got}.",
                )  # fmt: skip
            *props, d2 = forms.plain(self.world, [*props, d[2]])
            law = (
                self._law(LAW_OF_KIND, props[0], props[1], d2, k=k)
                if len(props) == 2
                else f"every {k} that is {join_and(props)} is {d2}"
            )
            return self.pick(
                f"{cap(s)} is {article(k)} {k} and is {join_and(props)}; {law}, so {got}.",
                f"Since {s} is {article(k)} {k} that is {join_and(props)}, and {law}, {got}.",
                f"A rule of the world says that {law}. {cap(s)} is {article(k)} {k} and {join_and(props)}, {so} {got}.",
            )  # fmt: skip
        used = join_and([self.clause(tuple(u)) for u in uses])
        return self.pick(f"We know that {used}; by a rule of the world, {got}.",
                         f"Since {used}, a rule of the world gives: {got}.")  # fmt: skip

    def claim(self, fact: Sequence[str]) -> str:
        """A fact a document goes on to show, as a sentence that says so (in words not
        said before in the document)."""
        return self.fresh(
            lambda: (
                self.pick(CLAIM)
                .replace("{C}", cap(self.clause(tuple(fact))))
                .replace("{c}", self.clause(tuple(fact)))
            )
        )

    # -- answers -------------------------------------------------------------------------

    VERDICTS = {
        "true": ("{V} - {c}.", "{V}, {c}.", "{V}; {c}.", "{V}. So {c}."),
        "false": ("{V} - nothing known says that {c}.", "{V} - no record shows that {c}.",
                  "{V}, since nothing makes it so that {c}.", "{V}; nothing we know says {c}.",
                  "{V}. Nothing on record says that {c}."),
        "not": ("{V} - {c}.", "{V}, {c}.", "{V}; {c}.", "{V}. In fact, {c}."),
        "unknown": ("{V} - nothing settles whether {c}.", "{V}; whether {c} is left open.",
                    "{V}, since the facts do not say whether {c}.",
                    "{V}; it is open whether {c}."),
    }  # fmt: skip

    def answer_word(self, a: str) -> str:
        return {"true": "True", "false": "False", "unknown": "Unknown"}.get(a, a)

    def answer_line(self, value: str) -> str:
        """The line that states a sample's answer, as the answer filter reads it."""
        return self.pick("Answer: ", "Answer: ", "Final answer: ", "**Answer:** ") + value

    def number(self, n: str | int) -> str:
        return f"{int(n):,}"


# -- questions, blanks, the first person ----------------------------------------------------

# A question whose answer is the fact's object: `{s}` the subject.
ASK: dict[str, tuple[str, ...]] = {
    "is_a": ("What kind of being is {s}?", "To which kind does {s} belong?", "What is {s}?",
             "What sort of creature is {s}?", "Of what kind is {s}?", "Which kind is {s} one of?"),
    "colour": ("What colour is {s}?", "What is the colouring of {s}?", "Which colour does {s} have?",
               "How is {s} coloured?", "What hue does {s} show?"),
    "lives_in": ("Where does {s} live?", "Where is the home of {s}?", "In which place does {s} reside?",
                 "Which town does {s} call home?", "Where has {s} settled?", "Where would you find {s} at home?"),
    "works_as": ("What does {s} do for a living?", "What is the trade of {s}?", "What is {s}'s occupation?",
                 "How does {s} earn a living?", "What work does {s} do?", "What is {s} by trade?"),
    "born_in": ("Where was {s} born?", "Which place is {s} a native of?", "What is the birthplace of {s}?",
                "Where does {s} come from?", "In which town was {s} born?"),
    "born_year": ("When was {s} born?", "In which year was {s} born?", "What is the birth year of {s}?",
                  "In what year did {s} come into the world?", "What year was {s} born in?"),
    "moved_year": ("In which year did {s} move to a new home?", "When did {s} move house?",
                   "In what year did {s} settle in the present home?", "When did {s} relocate?"),
    "height_cm": ("How tall is {s}, in centimetres?", "What is the height of {s} in cm?",
                  "How many centimetres tall is {s}?", "What height does {s} stand at, in cm?"),
    "weight_kg": ("How much does {s} weigh, in kilograms?", "What is the weight of {s} in kg?",
                  "How many kilograms does {s} weigh?", "What does {s} weigh, in kg?"),
    "speaks": ("Name a language {s} speaks.", "Which tongue does {s} speak?", "What language does {s} know?",
               "In what language can {s} converse?"),
    "skilled_in": ("Name a craft {s} is skilled in.", "What is {s} skilled in?", "What craft does {s} practise?",
                   "What does {s} have a talent for?"),
    "ancestor_of": ("Name a descendant of {s}.", "Whose ancestor is {s}?", "Who descends from {s}?"),
    "descendant_of": ("Name an ancestor of {s}.", "From whom does {s} descend?", "Who is among the ancestors of {s}?"),
    "older_than": ("Name someone younger than {s}.", "Who was born after {s}?", "Who is younger than {s}?"),
    "younger_than": ("Name someone older than {s}.", "Who was born before {s}?", "Who is older than {s}?"),
    "neighbour_of": ("Who is a neighbour of {s}?", "Who lives next door to {s}?", "Who lives beside {s}?"),
    "mentor_of": ("Who is the apprentice of {s}?", "Whom does {s} mentor?", "Whom does {s} teach?"),
    "apprentice_of": ("Who is the mentor of {s}?", "Under whom does {s} train?", "Who teaches {s}?"),
    "friend_of": ("Name a friend of {s}.", "Who is {s} friends with?", "Who counts as a friend of {s}?"),
    "lies_in": ("In which region does {s} lie?", "Which region is {s} part of?", "Where is {s}?"),
    "population": ("How many people live in {s}?", "What is the population of {s}?", "How many inhabitants does {s} have?"),
    "founded_year": ("When was {s} founded?", "In which year was {s} established?", "How old is {s}: when was it founded?"),
    "elevation_m": ("How high above sea level does {s} lie, in metres?", "What is the elevation of {s}?",
                    "At what height does {s} lie, in metres?"),
}  # fmt: skip
ASK_LEAD = (
    "",
    "",
    "",
    "Quick question: ",
    "Do you know: ",
    "Tell me: ",
    "Can you say: ",
    "One more: ",
)
ASK_TRAITS = ("What traits does {s} have?", "What is {s} like?", "Describe the nature of {s}.",
              "Which properties does {s} have, and which not?", "What can be said of {s}'s nature?")  # fmt: skip
_FIRST = {"is": "am", "has": "have", "was": "was", "does": "do", "comes": "come"}


def _first_person(pred: str) -> str:
    """A predicate said by its subject: "lives in X" → "live in X"."""
    head, _, rest = pred.partition(" ")
    if head in _FIRST:
        head = _FIRST[head]
    elif head.endswith(("ches", "shes", "sses")):
        head = head[:-2]
    elif head.endswith("ies") and len(head) > 4:
        head = head[:-3] + "y"
    elif head.endswith("s") and not head.endswith("ss"):
        head = head[:-1]
    rest = rest.replace(" their ", " my ").replace("their ", "my ")
    rest = rest.removeprefix("known to be ")
    return f"{head} {rest}".strip()


def _ask(self: EnglishSay, fact: Triple) -> tuple[str, str]:
    """(a question whose answer is the fact's object, that answer), for flashcards and
    quizzes; a property is asked as yes or no."""
    s, r, o = (str(x) for x in fact)
    if r in ("is", "not:is"):
        if forms.plain(self.world, [o]) is None:
            p = forms.pred(self.world, o).sing
            q = self.pick(forms.ask(self, s, o), f"Is it true that {self.name(s)} {p}?")
            return q, "Yes" if r == "is" else "No"
        o = forms.plain(self.world, [o])[0]
        q = self.pick(f"Is {self.name(s)} {o}?", f"Is it true that {self.name(s)} is {o}?")
        return q, "Yes" if r == "is" else "No"
    bank = ASK.get(r)
    if bank is None:
        q = forms.ask_relation(self, (s, r, o))
        if q is not None:
            return q, self._term(o)
        return f"What is the {self._label(r)} of {self.name(s)}?", self._term(o)
    answer = self._term(o, "n") if r in ("population", "elevation_m") else self._term(o)
    return self.pick(ASK_LEAD) + self.pick(bank).replace("{s}", self.name(s)), answer


def _blank(self: EnglishSay, fact: Triple, gap: str = "____") -> tuple[str, str]:
    """(the fact as a sentence with its object left out, the object)."""
    s, r, o = (str(x) for x in fact)
    text = self.clause((s, r, o))
    value = self._term(o, "n") if r in ("population", "elevation_m") else self._term(o)
    if value in text:
        i = text.rindex(value)
        return cap(text[:i] + gap + text[i + len(value) :]) + ".", value
    return cap(text) + ".", value


def _said_by(self: EnglishSay, subject: str, facts: list) -> list[str]:
    """The facts as the subject says them, one to three to a sentence: "I live in X and
    work as a miller."""
    out = []
    groups = self.groups(subject, facts)
    self.rng.shuffle(groups)
    i = 0
    while i < len(groups):
        n = min(len(groups) - i, self._pack_size(3))
        preds = [forms.first_person(self.world, _first_person(self.predicate(g)))
                 for g in groups[i : i + n]]  # fmt: skip
        i += n
        lead = (
            self.once("Well, ", "As it happens, ", "To be honest, ", "Of course, ")
            if self.rng.random() < 0.3
            else ""
        )
        text = f"{lead}I {join_and(preds)}."
        if self._fresh(text):
            out.append(text)
        else:
            out.append(f"I {join_and(preds)}, as I said.")
    return out


def _property_pred(
    self: EnglishSay, prop: str, holds: bool = True, many: bool = False, subject: str | None = None
) -> str:
    """A property said of a subject without it: "is venomous", "swims", "do not fly"
    (`many`: of several; English needs no `subject` to agree with)."""
    return forms.pred(self.world, prop).said(holds, many)


def _ask_property(self: EnglishSay, subject: str, prop: str) -> str:
    """Whether a property holds of a being, asked: "Does Pingu swim?", "True, false or
    unknown: Pingu swims."."""
    n, said = self.name(subject), forms.pred(self.world, prop).sing
    q = forms.ask(self, subject, prop)
    low = f"{q[:1].lower()}{q[1:]}"
    return self.pick(q, f"True, false or unknown: {n} {said}.", f"Based on what is known, {low}",
                     f"Does it follow that {n} {said}?", f"Is it true that {n} {said}?",
                     f"Going by the records, {low}", f"Given what we know, {low}",
                     f"Judging by the facts, {low}", f"Decide whether {n} {said}.",
                     f"Is it true, false or unknown that {n} {said}?",
                     f"{q} Answer true, false or unknown.",
                     f"Is it so that {n} {said}, or is that not known?")  # fmt: skip


def _inherited(self: EnglishSay, kind: str, via: str, prop: str, holds: bool) -> str:
    """A property a kind takes from a wider kind, as a sentence."""
    k, v = self.name(kind), self.name(via)
    p = forms.pred(self.world, prop)
    aux = "do" if p.pos == "verb" else "are"
    so = f"so {aux}" if holds else f"neither {aux}"
    return self.pick(f"Like every {v}, {article(k)} {k} {p.said(holds)}.",
                     f"Being {plural(v)}, {plural(k)} {p.said(holds, True)} too.",
                     f"As {plural(v)} {p.said(holds, True)}, {so} {plural(k)}.",
                     f"{cap(plural(k))} inherit from the {plural(v)} that they {p.said(holds, True)}.")  # fmt: skip


# What a kind takes from a wider one, several properties at once: a subject (one member,
# every member, the kind), what they are (`{p}`, joined with "and", or with "or" where
# they do not hold) and the reason, before or after (`{a v}`, `{vs}`: the wider kind).
INHERIT_WHO = {"one": ("{a k}", "every {k}", "each {k}", "any {k}"),
               "many": ("{ks}", "all {ks}", "the {ks}")}  # fmt: skip
INHERIT_WHY = {
    ("one", "front"): ("Like every {v}", "Like any {v}", "Being {a v}", "As {a v}"),
    ("many", "front"): ("Like all {vs}", "Like the other {vs}", "Being {vs}", "As {vs}"),
    ("one", "back"): ("like every {v}", "since it is {a v}", "because it is {a v}",
                      "for it is {a v}", "being {a v}", "{as one}"),
    ("many", "back"): ("like all {vs}", "since they are {vs}", "because they are {vs}",
                       "for they are {vs}", "being {vs}", "{as many}"),
}  # fmt: skip
INHERIT_WHOLE = {
    True: ("What holds of the {vs} holds of the {ks}: they are {p}.",
           "{Ks} inherit from the {vs} that they are {p}.", "As {vs} are {p}, so are {ks}."),
    False: ("What holds of the {vs} holds of the {ks}: they are not {p}.",
            "{Ks} inherit from the {vs} that they are not {p}.", "As no {v} is {p}, no {k} is."),
}  # fmt: skip


def _inherit_sentence(self: EnglishSay, holds: bool) -> str:
    """One pattern for `_inherited_all`, its slots still open."""
    if self.rng.random() < 0.15:
        return self.pick(INHERIT_WHOLE[holds])
    n, where = self.pick("one", "many"), self.pick("front", "back")
    who = self.pick(INHERIT_WHO[n])
    neg = "" if holds else self.pick("not ", "never ")
    verb = ("is " if n == "one" else "are ") + neg + "{p}"
    why = self.pick(INHERIT_WHY[(n, where)])
    as_ = "as every {v} is" if holds else "as no {v} is"
    why = why.replace("{as one}", as_).replace("{as many}", "as all {vs} are" if holds else as_)
    if where == "front":
        return f"{why}, {who} {verb}."
    return f"{who} {verb}, {why}."


def _inherited_all(self: EnglishSay, kind: str, props: list[dict[str, Any]]) -> list[str]:
    """What a kind takes from wider kinds, as sentences: the properties one wider kind
    gives (or denies) said together, one sentence to each such set."""
    k = self.name(kind)
    sets: dict[tuple[str, bool], list[str]] = {}
    out = []
    for p in props:
        if forms.plain(self.world, [p["name"]]) is None:  # a verb: said on its own
            out.append(self.inherited(kind, p["via"], p["name"], p["holds"]))
        else:
            sets.setdefault((p["via"], bool(p["holds"])), []).append(p["name"])
    for (via, holds), names in sets.items():
        v = self.name(via)
        words = join_and(forms.plain(self.world, names), "and" if holds else "or")
        slots = {"{Ks}": cap(plural(k)), "{ks}": plural(k), "{A k}": cap(f"{article(k)} {k}"),
                 "{a k}": f"{article(k)} {k}", "{k}": k, "{vs}": plural(v), "{a v}": f"{article(v)} {v}",
                 "{v}": v, "{p}": words}  # fmt: skip
        out.append(
            self.fresh(lambda h=holds, slots=slots: cap(_slots(_inherit_sentence(self, h), slots)))
        )
    return out


def _slots(pattern: str, slots: dict[str, str]) -> str:
    for key, value in slots.items():
        pattern = pattern.replace(key, value)
    return pattern


EnglishSay.ask = _ask
EnglishSay.blank = _blank
EnglishSay.said_by = _said_by
EnglishSay.property_pred = _property_pred
EnglishSay.ask_property = _ask_property
EnglishSay.inherited = _inherited
EnglishSay.inherited_all = _inherited_all


# -- many questions and blanks at once --------------------------------------------------------

ASK_MANY = {
    "speaks": ("Which languages does {s} speak?", "What tongues does {s} know?"),
    "skilled_in": ("What crafts is {s} skilled in?", "What does {s} practise?"),
}


def _questions(self: EnglishSay, facts: list) -> list[tuple[str, str, list]]:
    """(question, short answer, the facts it asks about) for every fact, the values of a
    multi-valued relation asked together ("Which languages does X speak?" — "Ardic and
    Velmish"); no question twice."""
    out = []
    seen: set[tuple[str, str]] = set()
    for f in facts:
        s, r = str(f[0]), str(f[1])
        group = [f]
        if r in ("is", "not:is"):  # a being's traits: one question, one answer
            if (s, "is") in seen:
                continue
            seen.add((s, "is"))
            group = [g for g in facts if str(g[0]) == s and str(g[1]) in ("is", "not:is")]
            if len(group) > 1:
                q = self.pick(ASK_TRAITS).replace("{s}", self.name(s))
                out.append((q, self.paragraph(s, group), [list(g) for g in group]))
                continue
        if r in ASK_MANY:
            if (s, r) in seen:
                continue
            seen.add((s, r))
            group = [g for g in facts if str(g[0]) == s and str(g[1]) == r]
        if len(group) > 1:
            values = join_and([self._term(str(g[2])) for g in group])
            q, a = self.pick(ASK_MANY[r]).replace("{s}", self.name(s)), values
        else:
            for _ in range(8):  # a question not asked before, whatever its lead-in
                q, a = self.ask(f)
                lead = next((x for x in ASK_LEAD if x and q.startswith(x)), "")
                if self._fresh(q[len(lead) :]):
                    break
        out.append((q, a, [list(g) for g in group]))
    return out


def _blanks(self: EnglishSay, facts: list, gap: str = "____") -> list[tuple[str, str]]:
    """(a sentence with a gap, what fills it) for every fact: a subject's properties
    share a sentence with a gap each, its kind is asked as the kind's name; no gap
    sentence twice in the document."""
    extra = iter(("again", "once more", "a second one", "a third one", "yet another"))
    out = []

    def add(make) -> None:
        for _ in range(8):
            sentence, value = make()
            if self._fresh(sentence):
                out.append((sentence, value))
                return
        while not self._fresh(sentence):
            sentence = sentence[:-1].split(" (")[0] + f" ({next(extra, 'another')})."
        out.append((sentence, value))

    props: dict[tuple[str, str], list[str]] = {}
    for f in facts:
        s, r, o = (str(x) for x in f)
        if r in ("is", "not:is") and forms.plain(self.world, [o]) is None:
            before, value = forms.gap(self, o, r == "is")
            add(lambda s=s, before=before, value=value: (
                " ".join(x for x in (self.name(s), before, gap) if x) + ".", value))  # fmt: skip
        elif r in ("is", "not:is"):
            props.setdefault((s, r), []).append(forms.plain(self.world, [o])[0])
        elif r == "is_a":
            add(lambda s=s, o=o: (
                f"{self.name(s)} {self.pick('is a member of the kind', 'belongs to the kind', 'is of the kind')} {gap}.",
                self.name(o),
            ))  # fmt: skip
        else:
            add(lambda s=s, r=r, o=o: self.blank((s, r, o), gap))
    for (s, r), values in props.items():
        leads = (
            ["is", "is also", "is, moreover,"]
            if r == "is"
            else ["is never", "is not", "is in no way"]
        )
        conj = "and" if r == "is" else "or"
        for i in range(0, len(values), 3):
            chunk, lead = values[i : i + 3], leads[min(i // 3, 2)]
            add(lambda s=s, lead=lead, chunk=chunk, conj=conj: (
                f"{self.name(s)} {lead} {join_and([gap] * len(chunk), conj)}.", join_and(chunk, conj)
            ))  # fmt: skip
    self.rng.shuffle(out)
    return out


EnglishSay.questions = _questions
EnglishSay.blanks = _blanks
