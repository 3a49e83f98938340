"""English ontology documents read back: 2,000 rows over the 24 templates and two worlds
(the default size and a 5,000-being one). Every fact a row's `formal` says it states is
in its text, the answer line is one the answer filter accepts, no sentence is said twice
in a document, a document uses one list style, and nothing is filler."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from synth.families.base import Scope
from synth.filters.answer import AnswerFilter
from synth.row import Row
from synth.templating import TemplateLibrary
from synth.templating.item import render_item
from synth.wording import wording_for
from synth.world.fictional import build_world, sizes

MARKER = re.compile(r"^(?:[-*•] |\d+[.)] )", re.M)
FILLER = ("it is true that", "indeed", "it is a fact that", "needless to say")


@pytest.fixture(scope="module")
def worlds():
    return [build_world(0), build_world(1, sizes(5000, 400))]


def _sentences(text: str) -> list[str]:
    """Sentences of three words or more (an answer or a table cell is not one), list
    markers and speaker labels taken off."""
    out = []
    for line in text.splitlines():
        line = MARKER.sub("", line.strip())
        line = re.sub(r"^[A-Z][A-Za-z ]{0,20}: ", "", line)
        for s in re.split(r"(?<=[.!?])\s+", line):
            if len(re.findall(r"[A-Za-z]+", s)) >= 3:
                out.append(" ".join(s.casefold().split()))
    return out


def _terms(world, ident: str) -> set[str]:
    """How an id may be written: itself, its plural (kinds), a number with commas."""
    ident = str(ident)
    out = {ident.lower()}
    if ident.isdigit():
        out.add(f"{int(ident):,}")
    return out


@pytest.fixture(scope="module")
def rendered(worlds):
    lib = TemplateLibrary([], builtin=True)
    tids = sorted(t for t in lib.variants if t.startswith("ontology.") and "en" in lib.langs(t))
    assert len(tids) >= 24
    out = []
    for i in range(2000):
        tid = tids[i % len(tids)]
        world = worlds[(i // len(tids)) % len(worlds)]
        spec = lib.spec(tid, "en")
        lo, hi = spec.difficulty
        scope = Scope(known_entities=len(world.entities), known_kinds=len(world.kinds))
        s = render_item(
            lib, spec, world, random.Random(i), lo + i % (hi - lo + 1), scope, position=i
        )
        out.append((tid, world, s))
    return out


def test_english_ontology_documents(rendered):
    problems: Counter = Counter()
    examples: dict[str, str] = {}
    filt = AnswerFilter()
    for tid, world, s in rendered:
        draw = s.draw
        text = s.text if s.text is not None else "\n".join(m["content"] for m in s.messages)

        def bad(kind: str, detail: str, tid: str = tid, text: str = text) -> None:
            problems[kind] += 1
            examples.setdefault(kind, f"{tid}: {detail}\n{text[:1500]}")

        low = text.lower()
        for f in (draw.formal or {}).get("states") or []:
            for term in (f[0], f[2]):
                if not any(form in low for form in _terms(world, term)):
                    bad("fact missing", f"{f} ({term})")
        if draw.answer is not None:
            row = Row(id=tid, text=text, messages=s.messages, n_tokens=0, tier="ontology",
                      kind="ontology", template=tid, lang="en", stage=0, concepts=[],
                      difficulty=1, answer=draw.answer, formal=None, seed=0,
                      meta={"answer_text": world.surface(draw.answer, "en")})  # fmt: skip
            if filt.reason(row) is not None:
                bad("answer", filt.reason(row))
        twice = [x for x, c in Counter(_sentences(text)).items() if c > 1]
        if twice:
            bad("sentence twice", twice[0])
        styles = {re.sub(r"\d+", "1", m.group(0)) for m in MARKER.finditer(text)}
        if len(styles) > 1:
            bad("list styles", str(styles))
        numbers = [int(m) for m in re.findall(r"^(\d+)[.)] ", text, re.M)]
        prev = 0
        for k in numbers:  # each numbered list counts 1, 2, 3 ... (a new list starts at 1)
            if k not in (prev + 1, 1):
                bad("numbering", str(numbers[:12]))
                break
            prev = k
        for filler in FILLER:
            if re.search(rf"\b{filler}\b", low):
                bad("filler", filler)
    assert not problems, f"{dict(problems)}\n\n" + "\n\n".join(examples.values())


def test_every_template_is_exercised(rendered):
    seen = Counter(tid for tid, _, _ in rendered)
    assert len(seen) >= 24 and min(seen.values()) >= 80


def test_the_same_seed_gives_the_same_words(worlds):
    w = worlds[0]
    e = w.entity(3)
    facts = [(e.id, "is_a", e.kind), *e.attr_facts()]
    a = wording_for("en", random.Random(7), w).paragraph(e.id, facts)
    b = wording_for("en", random.Random(7), w).paragraph(e.id, facts)
    c = wording_for("en", random.Random(8), w).paragraph(e.id, facts)
    assert a == b and a != c


def test_a_being_is_told_many_ways(worlds):
    """A hundred paragraphs about one being share few sentences: the same facts come out
    in different words, orders and shapes."""
    w = worlds[0]
    e = w.entity(5)
    facts = [(e.id, "is_a", e.kind), *e.attr_facts()]
    sents = Counter()
    for seed in range(100):
        for s in wording_for("en", random.Random(seed), w).sentences(e.id, facts):
            sents[s] += 1
    assert len(sents) > 0.8 * sum(sents.values())
