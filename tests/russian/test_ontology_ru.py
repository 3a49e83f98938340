"""Russian ontology text: the wording layer (`synth.wording.ru`) and the 24 Russian
ontology templates, read back as a reader would.

The forms written out below are Russian grammar worked by hand; the checks over
rendered documents use pymorphy3's dictionary (not the wording code) to find the
verbs of a text and their gender.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from functools import cache

import pytest
from answer_line import answer_line_says

import synth.families  # noqa: F401  (registers every family)
from synth.families.base import Scope
from synth.filters.answer import AnswerFilter
from synth.row import Row
from synth.russian import morph
from synth.russian import names as names_ru
from synth.templating import TemplateLibrary
from synth.templating.item import render_item
from synth.wording import wording_for
from synth.wording.base import Group
from synth.wording.ru import (
    ASK,
    FIRST_PERSON,
    FORWARD,
    PAIRED,
    REVERSE,
    RussianSay,
    number_ru,
)
from synth.world.fictional import build_world, sizes

pytest.importorskip("pymorphy3")

VARIABLES = re.compile(r"[XYZABCPQR]")  # the variables of a rule ("если X — предок Y")
# Predicatives with no subject: "как и положено вумпусу", "как и записано", "на чём
# основано то, что ...", "в летописи отмечено, что ...".
IMPERSONAL = {"положено", "записано", "основано", "отмечено", "сказано", "нужно"}
MARKER = re.compile(r"^(?:[-*•] |\d+[.)] )", re.M)
BOOL_RU = {"true": "Да", "false": "Нет", "unknown": "Неизвестно"}


@pytest.fixture(scope="module")
def worlds():
    """The default world and one sized for 5,000 beings (as a 20M budget gets)."""
    return [build_world(11), build_world(5, sizes(5000))]


def _being(world, gender: str) -> str:
    for e in world.entities:
        if morph.name_gender(world.surface(e.id, "ru").split()[0]) == gender:
            return e.id
    raise AssertionError(gender)


# -- the wording, fact by fact -----------------------------------------------------------


def test_hand_checked_sentences(worlds):
    """A few facts said every way the banks know, checked against forms worked out by
    hand for one woman and one man of the world."""
    w = worlds[0]
    she, he = _being(w, "femn"), _being(w, "masc")
    say = RussianSay(random.Random(0), w)
    S = w.surface(she, "ru")
    she_gent = morph.inflect(S, "gent", "sing", "person")
    assert she_gent.split()[1].endswith("ой") and she_gent != S
    place = w.entity_by_id[she].attrs["lives_in"]
    P = w.surface(place, "ru")
    loct = morph.prep(morph.inflect(P, "loct", "sing", "place"), "в")
    assert say._fill(
        "[родился|родилась|родилось] {в a:loct} в {b} году", she, a=place, b="1843"
    ) == (f"родилась {loct} в 1843 году")
    assert (
        say._fill("[родился|родилась|родилось] в {o} году", he, o="1843") == "родился в 1843 году"
    )
    assert say._fill("ростом {o:n:сантиметр}", she, o="172") == "ростом 172 сантиметра"
    assert say._fill("ростом {o:n:сантиметр}", she, o="171") == "ростом 171 сантиметр"
    assert say._fill("весит {o:n:килограмм}", she, o="65") == "весит 65 килограммов"
    assert say._fill("насчитывает {o:n:житель}", place, o="12400") == "насчитывает 12 400 жителей"
    assert say._fill("служит домом для {o:n:житель:gent}", place, o="21") == (
        "служит домом для 21 жителя"
    )
    assert say._fill("говорит на {o:lang:loct}", she, o=["Ardic"]) == "говорит на ардском языке"
    assert say._fill("говорит на {o:lang:loct}", she, o=["Ardic", "Sutic"]) == (
        "говорит на ардском и сутском языках"
    )
    assert say._fill("владеет {o:ablt}", she, o=["weaving", "carving"]) == (
        "владеет ткачеством и резьбой"
    )
    assert say._fill("работает {o:ablt}", she, o="miller") == "работает мельником"
    assert say._fill("{o:adj:masc:gent} цвета", she, o="amber") == "янтарного цвета"
    assert say._fill("имеет {o:adj:femn:accs} окраску", she, o="amber") == "имеет янтарную окраску"
    assert say._fill("— [друг|подруга|друг] {o:gent}", she, o=he).startswith("— подруга ")
    assert say._fill("считает {o:accs} <своим другом|своей подругой|своим другом>", he, o=she) == (
        f"считает {morph.inflect(S, 'accs', 'sing', 'person')} своей подругой"
    )
    assert number_ru(1843) == "1843" and number_ru(12400) == "12 400"
    assert number_ru(900000) == "900 000"


def test_every_phrasing_agrees_with_its_subject(worlds):
    """Every predicate, reverse predicate and pair of the banks, said of a woman and of
    a man: no slot left, and every past-tense verb, short participle and short
    adjective in it has the subject's gender (pymorphy3's reading of the word)."""
    w = worlds[1]
    say = RussianSay(random.Random(1), w)
    objects = {
        "is_a": "glorpus", "colour": "amber", "lives_in": w.bank.places[0],
        "works_as": "miller", "born_in": w.bank.places[1], "born_year": "1843",
        "moved_year": "1870", "height_cm": "172", "weight_kg": "64", "speaks": ["Ardic"],
        "skilled_in": ["weaving"], "lies_in": w.bank.regions[0], "population": "12400",
        "founded_year": "1202", "elevation_m": "1383",
    }  # fmt: skip
    for gender in ("femn", "masc"):
        subj = _being(w, gender)
        other = _being(w, "masc" if gender == "femn" else "femn")
        for rel, bank in list(FORWARD.items()) + list(REVERSE.items()) + list(PAIRED.items()):
            for pattern in bank:
                obj = objects.get(rel, other)
                text = say._fill(pattern, subj, o=obj, s=other, a=w.bank.places[0], b="1843")
                assert not re.search(r"[{}\[\]<>|]|[A-Za-z]", text), (pattern, text)
                for word, g in _gendered(text):
                    assert g == gender, (pattern, text, word)


def test_questions_name_their_answer(worlds):
    w = worlds[1]
    e = w.entities[7]
    say = RussianSay(random.Random(2), w)
    for rel in ASK:
        if rel in e.attrs and not isinstance(e.attrs[rel], tuple):
            q, a = say.ask((e.id, rel, e.attrs[rel]))
            assert q.endswith(("?", ".")) and w.surface(e.id, "ru").split()[0][:3] in q
            assert a.split()[0] in (w.surface(e.attrs[rel], "ru"), e.attrs[rel]), (q, a)


def test_first_person_knows_every_present_tense_verb_of_the_banks():
    """The first person ("я живу", "я работаю") replaces every third-person present verb
    the banks use: pymorphy3 finds them, FIRST_PERSON must know each one and give the
    dictionary's first person."""
    banks = list(FORWARD.values()) + list(REVERSE.values()) + list(PAIRED.values())
    words = {
        w
        for bank in banks
        for p in bank
        for w in re.sub(r"\{[^}]*\}|\[[^\]]*\]|<[^>]*>", " ", p).split()
    }
    an = morph.analyzer()
    for word in sorted(words):
        third = [
            p
            for p in an.parse(word)
            if {"VERB", "3per", "sing", "pres"} <= set(p.tag.grammemes) | {p.tag.POS}
        ]
        if third:
            assert word in FIRST_PERSON, word
            assert FIRST_PERSON[word] in {p.inflect({"1per"}).word for p in third}, word


def test_said_by_speaks_in_the_first_person(worlds):
    w = worlds[1]
    she = _being(w, "femn")
    say = RussianSay(random.Random(3), w)
    e = w.entity_by_id[she]
    facts = [(she, "is_a", e.kind), *e.attr_facts()]
    text = " ".join(say.said_by(she, facts))
    an = morph.analyzer()
    for word in re.findall(r"\b[а-яё]+\b", text):
        tags = [p.tag for p in an.parse(word) if p.tag.POS == "VERB"]
        if tags and all("3per" in t for t in tags):
            raise AssertionError(f"third person {word!r} in: {text}")
    assert all(g == "femn" for _, g in _gendered(text)), text


# -- documents -----------------------------------------------------------------------------


@cache
def _parse(word: str):
    return morph.analyzer().parse(word)


def _gendered(text: str) -> list[tuple[str, str]]:
    """(word, gender) for each past-tense verb, short participle and short adjective in
    the singular (impersonal verbs, "довелось", left out)."""
    out = []
    for m in re.finditer(r"\b[а-яё]+\b", text):
        word = m.group(0)
        parses = _parse(word)
        if word in IMPERSONAL or not morph.is_known(word):  # a nonce name read as a verb
            continue
        if any(p.tag.POS == "NOUN" for p in parses):  # "род", "вырос": not a predicate here
            continue
        tag = parses[0].tag
        if tag.number != "sing" or tag.gender is None or "Impe" in tag:
            continue
        if (tag.POS == "VERB" and "past" in tag) or tag.POS in ("PRTS", "ADJS"):
            out.append((word, tag.gender))
    return out


def _subjects(world, draw) -> list[tuple[re.Pattern, str]]:
    """Who a verb of this document can agree with: the nominative names of the beings
    and places its facts mention (a being's first name alone too; a place not after a
    preposition, where its accusative reads like the nominative), a kind after a
    quantifier ("каждый вумпус"; after a dash it is a predicate noun), and pronouns."""
    formal = draw.formal or {}
    ids = set()
    for key in ("states", "facts"):
        for f in formal.get(key) or []:
            ids.update((f[0], f[2]))
    if formal.get("query"):
        ids.update(x for x in formal["query"] if not str(x).startswith("?"))
    pats: list[tuple[str, str]] = []
    for i in ids:
        if i in world.entity_by_id:
            name = world.surface(i, "ru")
            g = morph.gender_of(name, "person")
            pats += [(re.escape(name), g), (re.escape(name.split()[0]), g)]
        elif i in world.place_facts:
            name = world.surface(i, "ru")
            pats.append((rf"(?<!\bв )(?<!\bво )(?<!\bна )(?<!через ){re.escape(name)}",
                         morph.gender_of(name, "place")))  # fmt: skip
    quant = r"(?:каждый|всякий|любой|один|ни один|как и всякий) "
    pats.append((quant + r"[а-яё]+", "masc"))  # the fictional world's kinds are masculine
    words = [("он", "masc"), ("она", "femn"), ("оно", "neut"), ("который", "masc"),
             ("которая", "femn"), ("которое", "neut"), ("кто", "masc"), ("Кто", "masc")]  # fmt: skip
    e = draw.vars.get("e")
    if isinstance(e, dict):  # an interview: "я" is the being itself
        g = morph.gender_of(world.surface(e["name"], "ru"), "person")
        words += [("я", g), ("Я", g)]
    pats += [(re.escape(w), g) for w, g in words]
    return [(re.compile(rf"(?<![\w-]){p}(?![\w-])"), g) for p, g in pats]


def _agreement_errors(text: str, subjects) -> list[str]:
    errors = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        found = [(m.start(), g) for pat, g in subjects for m in pat.finditer(sentence)]
        if not found:
            continue
        for m in re.finditer(r"\b[а-яё]+\b", sentence):
            for word, g in _gendered(m.group(0)):
                before = [x for x in found if x[0] < m.start()]
                after = [x for x in found if x[0] > m.start()]
                if sentence.rstrip().endswith("?") and after:
                    subject = min(after)[1]
                elif before:
                    subject = max(before)[1]
                else:
                    continue
                if subject != g:
                    errors.append(f"{word!r} ({g}) in: {sentence}")
    return errors


def _sentences(text: str) -> list[str]:
    """The sentences of a document with three words or more (an answer line "Да." or a
    table cell is not a sentence), list markers and speaker labels taken off."""
    out = []
    for line in text.splitlines():
        line = MARKER.sub("", line.strip())
        line = re.sub(r"^[А-ЯЁ][а-яё ]{0,20}: ", "", line)
        for s in re.split(r"(?<=[.!?])\s+", line):
            if len(re.findall(r"[А-Яа-яЁё]+", s)) >= 3:
                out.append(" ".join(s.casefold().split()))
    return out


def _forms(world, ident: str) -> set[str]:
    """Every written form of an id's Russian name, in lower case: cases, numbers, and
    for an adjective (a property, colour or language) its genders and short forms; a
    number as digits."""
    ident = str(ident)
    if ident.isdigit():
        return {ident}
    name = world.surface(ident, "ru")
    role = (
        "person"
        if ident in world.entity_by_id
        else names_ru.MORPH_ROLE.get(names_ru.role_of(ident), "")
    )
    role = role or morph.guess_role(name)
    role = {"name": "kind"}.get(role, role)
    out = {morph.inflect(name, c, n, role) for c in morph.CASES for n in morph.NUMBERS}
    if names_ru.role_of(ident) == "adj":
        for g in morph.GENDERS:
            for n in morph.NUMBERS:
                out |= {morph.adjective(name, g, n, c) for c in morph.CASES}
                out.add(morph.adjective(name, g, n, short=True))
    return {x.lower() for x in out}


def _render_all(worlds, n: int):
    lib = TemplateLibrary([], builtin=True)
    tids = sorted(t for t in lib.variants if t.startswith("ontology.") and "ru" in lib.langs(t))
    assert len(tids) == 24
    out = []
    for i in range(n):
        tid = tids[i % len(tids)]
        world = worlds[(i // len(tids)) % len(worlds)]
        spec = lib.spec(tid, "ru")
        lo, hi = spec.difficulty
        scope = Scope(known_entities=len(world.entities), known_kinds=len(world.kinds))
        s = render_item(lib, spec, world, random.Random(i), lo + i % (hi - lo + 1), scope,
                        position=i)  # fmt: skip
        out.append((tid, world, s))
    return out


@pytest.fixture(scope="module")
def rendered(worlds):
    return _render_all(worlds, 2000)


def test_russian_ontology_documents(rendered):
    """2,000 rows over the 24 Russian ontology templates and two worlds, read back:
    Cyrillic only (rule variables aside), every stated fact's terms in the text, the
    answer line the answer filter accepts, no sentence twice, one list style, and past
    tenses that agree with their subject."""
    problems: Counter = Counter()
    examples: dict[str, str] = {}
    filt = AnswerFilter()
    for tid, world, s in rendered:
        draw = s.draw
        text = s.text if s.text is not None else "\n".join(m["content"] for m in s.messages)

        def bad(kind: str, detail: str, tid: str = tid, text: str = text) -> None:
            problems[kind] += 1
            examples.setdefault(kind, f"{tid}: {detail}\n{text}")

        latin = [w for w in re.findall(r"[A-Za-z]+", text) if not VARIABLES.fullmatch(w)]
        if latin:
            bad("latin", str(latin[:5]))
        if "{" in text or "[" in text and "[пропуск]" not in text or "None" in text:
            bad("leftover", "")
        flat = re.sub(r"(?<=\d) (?=\d{3}\b)", "", text).lower()
        for f in (draw.formal or {}).get("states") or []:
            for term in (f[0], f[2]):
                if not any(form in flat for form in _forms(world, term)):
                    bad("fact missing", f"{f} ({term})")
        if draw.answer is not None:
            gold = draw.answer if draw.answer in BOOL_RU else world.surface(draw.answer, "ru")
            row = Row(id=tid, text=text, messages=s.messages, n_tokens=0, tier="ontology",
                      kind="ontology", template=tid, lang="ru", stage=0, concepts=[],
                      difficulty=1, answer=draw.answer, formal=None, seed=0,
                      meta={"answer_text": gold})  # fmt: skip
            if filt.reason(row) is not None:
                bad("answer", filt.reason(row))
            last = s.response.rstrip().splitlines()[-1]
            want = BOOL_RU.get(draw.answer, gold)
            if not answer_line_says(last, want):
                bad("answer line", last)
        sents = _sentences(text)
        twice = [x for x, c in Counter(sents).items() if c > 1]
        if twice:
            bad("sentence twice", twice[0])
        styles = {re.sub(r"\d+", "1", m.group(0)) for m in MARKER.finditer(text)}
        if len(styles) > 1:
            bad("list styles", str(styles))
        for err in _agreement_errors(text, _subjects(world, draw)):
            bad("agreement", err)
    assert not problems, f"{dict(problems)}\n\n" + "\n\n".join(examples.values())


def test_every_template_and_fact_type_is_exercised(rendered):
    seen = Counter(tid for tid, _, _ in rendered)
    assert len(seen) == 24 and min(seen.values()) >= 80
    rels = {f[1] for _, _, s in rendered for f in (s.draw.formal or {}).get("states") or []}
    want = set(FORWARD) | {"is", "not:is"}
    assert want <= rels, want - rels


def test_wording_is_the_same_for_the_same_seed(worlds):
    """Same seed, same words: the wording draws only from the item's generator."""
    w = worlds[1]
    e = w.entities[3]
    facts = [(e.id, "is_a", e.kind), *e.attr_facts()]
    a = wording_for("ru", random.Random(9), w).paragraph(e.id, facts)
    b = wording_for("ru", random.Random(9), w).paragraph(e.id, facts)
    assert a == b and a != wording_for("ru", random.Random(10), w).paragraph(e.id, facts)


def test_group_of_two_languages_is_one_predicate(worlds):
    w = worlds[0]
    she = _being(w, "femn")
    say = RussianSay(random.Random(4), w)
    text = say.predicate(Group(she, [(she, "speaks", "Ardic"), (she, "speaks", "Sutic")]))
    assert "ардск" in text and "сутск" in text and "язык" in text, text


# -- a generated corpus ----------------------------------------------------------------------


def test_generated_russian_corpus_keeps_its_rows_and_rederives(tmp_path):
    """`synth generate --tier ontology --lang ru`: few rows rejected, none for its
    answer (the text states the answer in Russian, `answer_text` says what that is), and
    every kept row re-derives from its formal (the independent oracle)."""
    import datasets
    from rederive import rederive

    import synth

    m = synth.generate(
        synth.GenerateConfig(
            tier="ontology",
            out=str(tmp_path / "ru"),
            tokens="300k",
            lang="ru",
            seed=3,
            progress=False,
        )  # fmt: skip
    )
    t = m["totals"]
    assert t["rejected"] / t["drawn"] <= 0.10, m["filters"]
    answer = m["filters"]["sample"]["filters"]["answer"]
    assert answer["seen"] > 0 and not answer["rejected"], answer
    ds = datasets.load_from_disk(str(tmp_path / "ru"))
    assert set(ds["lang"]) == {"ru"}
    answered = 0
    for row in ds:
        got = rederive(row["formal"])
        if row["answer"] is None:
            assert got is True, row["id"]
        else:
            assert got == row["answer"], row["id"]
            answered += 1
    assert answered > 50
