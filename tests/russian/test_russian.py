"""Russian corpora: morphology, Cyrillic names, and the Russian templates.

The tables of forms below are written by hand from Russian grammar, not produced by the
code under test; the template tests render every Russian template exactly as the
pipeline does (see docs/templates.md) and read what came out.
"""

from __future__ import annotations

import random
import re

import jinja2
import pytest
from answer_line import ANSWER_LABEL, answer_line_says

import synth.families  # noqa: F401  (registers every family)
from synth.families.base import Scope
from synth.filters.answer import same_answer, stated_answer
from synth.russian import grammar, morph
from synth.russian import names as names_ru
from synth.templating import TemplateLibrary
from synth.templating.helpers import FILTERS
from synth.templating.item import render_item
from synth.world.fictional import build_world

pytest.importorskip("pymorphy3")

CASES = morph.CASES
BOOL_RU = {"true": "Да", "false": "Нет", "unknown": "Неизвестно"}
# Latin allowed in Russian text: the variable letters of a rule ("если X — предок Y").
VARIABLES = re.compile(r"[XYZABCPQR]")

# -- nouns -------------------------------------------------------------------------------

# (word, role, six singular forms, six plural forms), cases in CASES order.
NOUNS = [
    # nonce kinds: masculine, animate (accusative = genitive)
    ("вумпус", "kind",
     ["вумпус", "вумпуса", "вумпусу", "вумпуса", "вумпусом", "вумпусе"],
     ["вумпусы", "вумпусов", "вумпусам", "вумпусов", "вумпусами", "вумпусах"]),
    ("глорпик", "kind",  # after к the plural is -и
     ["глорпик", "глорпика", "глорпику", "глорпика", "глорпиком", "глорпике"],
     ["глорпики", "глорпиков", "глорпикам", "глорпиков", "глорпиками", "глорпиках"]),
    ("гролникс", "kind",
     ["гролникс", "гролникса", "гролниксу", "гролникса", "гролниксом", "гролниксе"],
     ["гролниксы", "гролниксов", "гролниксам", "гролниксов", "гролниксами", "гролниксах"]),
    # nonce objects and places: inanimate (accusative = nominative)
    ("балоп", "place",
     ["балоп", "балопа", "балопу", "балоп", "балопом", "балопе"],
     ["балопы", "балопов", "балопам", "балопы", "балопами", "балопах"]),
    ("Бримора", "place",
     ["Бримора", "Бриморы", "Бриморе", "Бримору", "Бриморой", "Бриморе"],
     ["Бриморы", "Бримор", "Бриморам", "Бриморы", "Бриморами", "Бриморах"]),
    # real nouns, through the dictionary
    ("ткач", "real",
     ["ткач", "ткача", "ткачу", "ткача", "ткачом", "ткаче"],
     ["ткачи", "ткачей", "ткачам", "ткачей", "ткачами", "ткачах"]),
    ("писец", "real",  # the fleeting е
     ["писец", "писца", "писцу", "писца", "писцом", "писце"],
     ["писцы", "писцов", "писцам", "писцов", "писцами", "писцах"]),
    ("лампа", "real",
     ["лампа", "лампы", "лампе", "лампу", "лампой", "лампе"],
     ["лампы", "ламп", "лампам", "лампы", "лампами", "лампах"]),
    ("печь", "real",  # a noun here, not the verb "печь"
     ["печь", "печи", "печи", "печь", "печью", "печи"],
     ["печи", "печей", "печам", "печи", "печами", "печах"]),
    ("мельничное колесо", "real",
     ["мельничное колесо", "мельничного колеса", "мельничному колесу", "мельничное колесо",
      "мельничным колесом", "мельничном колесе"],
     ["мельничные колёса", "мельничных колёс", "мельничным колёсам", "мельничные колёса",
      "мельничными колёсами", "мельничных колёсах"]),
]  # fmt: skip


@pytest.mark.parametrize(("word", "role", "sing", "plur"), NOUNS, ids=[n[0] for n in NOUNS])
def test_noun_forms(word, role, sing, plur):
    assert [morph.inflect(word, c, "sing", role) for c in CASES] == sing
    assert [morph.inflect(word, c, "plur", role) for c in CASES] == plur


# -- adjectives ----------------------------------------------------------------------------

ADJECTIVES = [
    # (adjective, case, masc, femn, neut, plur)
    ("ядовитый", "nomn", "ядовитый", "ядовитая", "ядовитое", "ядовитые"),
    ("ядовитый", "gent", "ядовитого", "ядовитой", "ядовитого", "ядовитых"),
    ("ядовитый", "ablt", "ядовитым", "ядовитой", "ядовитым", "ядовитыми"),
    ("тёплый", "nomn", "тёплый", "тёплая", "тёплое", "тёплые"),
    ("горячий", "loct", "горячем", "горячей", "горячем", "горячих"),
    ("светящийся", "datv", "светящемуся", "светящейся", "светящемуся", "светящимся"),
]


@pytest.mark.parametrize(("adj", "case", "m", "f", "n", "pl"), ADJECTIVES)
def test_adjective_agreement(adj, case, m, f, n, pl):
    got = [morph.adjective(adj, g, "sing", case) for g in morph.GENDERS]
    assert got + [morph.adjective(adj, "masc", "plur", case)] == [m, f, n, pl]


def test_short_adjectives_and_accusative_animacy():
    assert [morph.adjective("ядовитый", g, short=True) for g in morph.GENDERS] == [
        "ядовит",
        "ядовита",
        "ядовито",
    ]
    assert morph.adjective("ядовитый", "masc", "plur", short=True) == "ядовиты"
    assert morph.adjective("ночной", "femn", short=True) == "ночная"  # no short form
    assert morph.adjective("ядовитый", "masc", "sing", "accs", anim=True) == "ядовитого"
    assert morph.adjective("ядовитый", "masc", "sing", "accs", anim=False) == "ядовитый"


# -- numerals --------------------------------------------------------------------------------

NUMERALS = {
    1: ("вумпус", "ткач", "лампа"),
    2: ("вумпуса", "ткача", "лампы"),
    3: ("вумпуса", "ткача", "лампы"),
    4: ("вумпуса", "ткача", "лампы"),
    5: ("вумпусов", "ткачей", "ламп"),
    11: ("вумпусов", "ткачей", "ламп"),
    12: ("вумпусов", "ткачей", "ламп"),
    21: ("вумпус", "ткач", "лампа"),
    22: ("вумпуса", "ткача", "лампы"),
    25: ("вумпусов", "ткачей", "ламп"),
    101: ("вумпус", "ткач", "лампа"),
    111: ("вумпусов", "ткачей", "ламп"),
}


@pytest.mark.parametrize("n", sorted(NUMERALS))
def test_numeral_agreement(n):
    kind, job, lamp = NUMERALS[n]
    assert morph.agree(n, "вумпус", role="kind") == f"{n} {kind}"
    assert morph.agree(n, "ткач", role="real") == f"{n} {job}"
    assert morph.agree(n, "лампа", role="real") == f"{n} {lamp}"


def test_numerals_in_oblique_cases():
    assert morph.agree(5, "вумпус", "ablt", role="kind") == "5 вумпусами"
    assert morph.agree(21, "вумпус", "loct", role="kind") == "21 вумпусе"
    assert morph.agree(2, "вумпус", "accs", role="kind") == "2 вумпусов"  # вижу двух вумпусов
    assert morph.agree(2, "балоп", "accs", role="place") == "2 балопа"


# -- people -----------------------------------------------------------------------------------

PEOPLE = [
    ("Грима Вонглерова", "femn",
     ["Грима Вонглерова", "Гримы Вонглеровой", "Гриме Вонглеровой", "Гриму Вонглерову",
      "Гримой Вонглеровой", "Гриме Вонглеровой"]),
    ("Гримон Вонглеров", "masc",
     ["Гримон Вонглеров", "Гримона Вонглерова", "Гримону Вонглерову", "Гримона Вонглерова",
      "Гримоном Вонглеровым", "Гримоне Вонглерове"]),
    ("Трилия Брагина", "femn",
     ["Трилия Брагина", "Трилии Брагиной", "Трилии Брагиной", "Трилию Брагину",
      "Трилией Брагиной", "Трилии Брагиной"]),
    ("Гримель Брагин", "masc",
     ["Гримель Брагин", "Гримеля Брагина", "Гримелю Брагину", "Гримеля Брагина",
      "Гримелем Брагиным", "Гримеле Брагине"]),
    ("Плея Тумингова", "femn",
     ["Плея Тумингова", "Плеи Туминговой", "Плее Туминговой", "Плею Тумингову",
      "Плеей Туминговой", "Плее Туминговой"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "gender", "forms"), PEOPLE, ids=[p[0] for p in PEOPLE])
def test_person_names(name, gender, forms):
    assert [morph.inflect(name, c) for c in CASES] == forms
    assert morph.gender_of(name) == gender


def test_names_a_world_author_wrote_use_the_dictionary():
    """A user world's own Russian names (world.names["ru"]) are real words: "лев" has
    the fleeting е, a woman's name in a consonant does not decline."""
    names = {"Lion": "лев", "red": "красный", "Old Maren": "Старая Марен"}
    assert grammar.ru("Lion", names, "gent") == "льва"
    assert grammar.ru("red", names, "gent") == "красного"
    assert grammar.ru("Old Maren", names, "ablt") == "Старой Марен"
    assert grammar.gender("Old Maren", names) == "femn"
    assert morph.person("Брок Железнорук", "datv", dictionary=True) == "Броку Железноруку"


def test_pymorphy_predictor_is_not_trusted_for_nonce_names():
    """Why nonce words are declined by rule: the predictor reads "Грима" as a form of
    "грим" and guesses "глорпус" has the plural "глорпуса". The rule gets both right."""
    guess = morph.analyzer().parse("глорпус")[0].inflect({"nomn", "plur"}).word
    assert guess != "глорпусы"
    assert morph.inflect("глорпус", "nomn", "plur", "kind") == "глорпусы"
    assert morph.inflect("Грима", "gent", "sing", "kind") == "Гримы"


def test_prepositions_take_their_vowel():
    assert morph.prep("Скононом", "с") == "со Скононом"
    assert morph.prep("Гримой", "с") == "с Гримой"
    assert morph.prep("Врене", "в") == "во Врене"
    assert morph.prep("Бриморе", "в") == "в Бриморе"
    assert morph.prep("Але", "о") == "об Але"


# -- names of a world ----------------------------------------------------------------------


def test_nonce_ids_become_regular_cyrillic():
    assert names_ru.kind_ru("wumpus") == "вумпус"
    assert names_ru.kind_ru("glorrax") == "глорракс"
    assert names_ru.person_ru("Grimo Vonglerane") == "Гримон Вонглеранин"
    assert names_ru.person_ru("Grima Vonglerow") == "Грима Вонглерова"  # her surname agrees
    assert names_ru.person_ru("Plea Tuming") == "Плея Тумингова"
    assert names_ru.place_ru("Bemford") == "Бемфорд"
    assert names_ru.place_ru("Grovale") == "Гродол"
    assert names_ru.surface_ru("venomous") == "ядовитый"
    assert names_ru.surface_ru("the mill wheel") == "мельничное колесо"


@pytest.fixture(scope="module")
def world():
    return build_world(3, {"entities": 40, "chains": 8, "neighbours": 12, "mentors": 12})


def _ids_of(world) -> set[str]:
    ids = set(world.kinds) | {e.id for e in world.entities}
    ids |= {v for e in world.entities for vs in e.attrs.values() for v in _values(vs)}
    ids |= {p for props in world.kind_props.values() for p, _ in props}
    return ids


def _values(v) -> tuple:
    return v if isinstance(v, tuple) else (v,)


def test_world_names_cover_every_id_and_are_unique(world):
    """A fictional world's Russian names derive from its ids (world.surface), are
    Cyrillic, and no two beings, kinds or places read alike."""
    names = {i: world.surface(i, "ru") for i in _ids_of(world)}
    assert all(re.fullmatch(r"[А-Яа-яЁё -]+|\d+", s) for s in names.values()), names
    for group in (world.kinds, [e.id for e in world.entities], world.bank.places):
        surfaces = [world.surface(i, "ru") for i in group]
        assert len(set(surfaces)) == len(surfaces)
    again = build_world(3, {"entities": 40, "chains": 8, "neighbours": 12, "mentors": 12})
    assert names == {i: again.surface(i, "ru") for i in names}


def test_world_nonce_names_decline_by_rule(world):
    """Every generated ending is one the rule knows: no name is left indeclinable."""
    for k in world.kinds:
        name = world.surface(k, "ru")
        assert morph.inflect(name, "gent", "plur", "kind") != name
    for e in world.entities:
        name = world.surface(e.id, "ru")
        assert morph.inflect(name, "ablt") != name
        place = world.surface(e.attrs["lives_in"], "ru")
        assert morph.inflect(place, "loct", "sing", "place") != place


def test_numbers_read_as_numbers():
    assert names_ru.surface_ru("1843") == "1843"
    assert grammar.ru("1843", {}, "gent") == "1843"


# -- filters ---------------------------------------------------------------------------------


def _env() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    return env


def test_filters_read_names_from_the_context():
    t = _env().from_string(
        '{{ k | ru("gent", "plur") }}|{{ 5 | agree(k) }}|{{ "venomous" | ru_adj(p) }}|'
        '{{ "open" | ru_pred("the lamp") }}|{{ "ancestor_of" | ru_rel(p, q) }}|'
        '{{ p | by_gender("жил", "жила") }}'
    )
    out = t.render(k="wumpus", p="Grima Vonglerow", q="Bris Tamow", names={"wumpus": "зумпус"})
    assert out == (
        "зумпусов|5 зумпусов|ядовитая|открыта|Грима Вонглерова — предок Бриса Тамова|жила"
    )
    # no `names` at all (the structural tier): the name derived from the id
    assert t.render(k="wumpus", p="Grimo Vonglerane", q="Bris Tamow").startswith("вумпусов|")


def test_relation_forms_of_the_logic_families_map_to_ids():
    assert grammar.relation_id("{s} is a parent of {o}") == "parent_of"
    assert grammar.relation_id("{s} shares a border with {o}") == "borders"
    assert grammar.rel("borders", "Vrolmora", "Svegrad", {}) == "Вролмора граничит со Свеградом"
    neg = grammar.rel("older_than", "Grima Vonglerow", "Bris Tamow", {}, neg=True)
    assert neg == "Грима Вонглерова не старше Бриса Тамова"


# -- templates -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lib() -> TemplateLibrary:
    return TemplateLibrary([], builtin=True)


def _ids(tier: str) -> list[str]:
    lib = TemplateLibrary([], builtin=True)
    return sorted(t for t in lib.variants if t.startswith(tier + "."))


def render(lib, tid, seed, d, lang, world=None):
    spec = lib.spec(tid, lang)
    scope = Scope(known_entities=40, known_kinds=len(world.kinds)) if world else Scope()
    s = render_item(lib, spec, world, random.Random(seed), d, scope, position=seed)
    return s.draw, s.text, s.messages


def _check_ru(draw, text, messages, names) -> None:
    full = text if text is not None else "\n".join(m["content"] for m in messages)
    final = text if text is not None else messages[-1]["content"]
    latin = [w for w in re.findall(r"[A-Za-z]+", full) if not VARIABLES.fullmatch(w)]
    assert not latin, f"untranslated Latin {latin[:5]} in:\n{full}"
    assert "{{" not in full and "{%" not in full and "None" not in full
    assert not re.search(r" [,;:]|\s\.(?!\.)", full), full
    if draw.answer is not None:
        if draw.answer in BOOL_RU:
            want = BOOL_RU[draw.answer]
        else:
            want = names(draw.answer)  # the pipeline's row.meta["answer_text"]
        assert answer_line_says(final.rstrip().splitlines()[-1], want), final
        assert same_answer(stated_answer(final, "ru"), want)
        if draw.answer in BOOL_RU:
            assert same_answer(stated_answer(final, "ru"), draw.answer)


@pytest.mark.parametrize("tid", _ids("ontology"))
def test_ontology_templates_render_in_russian(lib, world, tid):
    assert "ru" in lib.langs(tid)
    for seed in range(4):
        for d in (1, 3, 6):
            draw, text, messages = render(lib, tid, seed, d, "ru", world)
            _check_ru(draw, text, messages, lambda a: world.surface(a, "ru"))


@pytest.mark.parametrize("tid", _ids("structural"))
def test_structural_templates_render_in_russian(lib, tid):
    assert "ru" in lib.langs(tid)
    for seed in range(5):
        for d in (1, 2, 5):
            draw, text, messages = render(lib, tid, seed, d, "ru")
            _check_ru(draw, text, messages, lambda a: a)


@pytest.mark.parametrize("tid", _ids("command"))
def test_command_templates_render_in_russian(lib, tid):
    """Instructions in Russian over the family's data: the exact expected output is
    stated (on an `Ответ:` line, or verbatim where it is a code block)."""
    assert "ru" in lib.langs(tid)
    for seed in range(6):
        for d in (1, 3, 6):
            draw, _, messages = render(lib, tid, seed, d, "ru")
            user, reply = messages[-2]["content"], messages[-1]["content"]
            assert "{{" not in user + reply and "None" not in user + reply
            assert re.search(r"[а-яё]{3}", user), user  # the instruction is Russian
            stated = stated_answer(reply, "ru")
            if stated is not None:
                assert reply.rstrip().splitlines()[-1] == f"Ответ: {draw.answer}"
            else:
                assert draw.answer.strip() in reply


@pytest.mark.parametrize("tid", _ids("ontology") + _ids("structural") + _ids("command"))
def test_russian_variant_matches_the_english_one(lib, tid):
    if "ru" not in lib.langs(tid):
        pytest.skip(f"{tid} has no Russian version")
    en, ru = lib.spec(tid, "en"), lib.spec(tid, "ru")
    same = ("kind", "family", "shape", "introduces", "requires", "concepts", "difficulty", "params")
    assert {k: getattr(en, k) for k in same} == {k: getattr(ru, k) for k in same}


@pytest.mark.parametrize(
    "tid", ["ontology.qa_attribute", "ontology.qa_property", "ontology.derivation_doc"]
)
def test_parallel_items_have_the_same_draw(lib, world, tid):
    """The same item in en and ru: the same facts, formal and answer (only the words
    differ), and each text states the answer in its own language."""
    for seed in range(3):
        d_en, t_en, m_en = render(lib, tid, seed, 3, "en", world)
        d_ru, t_ru, m_ru = render(lib, tid, seed, 3, "ru", world)
        assert (d_en.answer, d_en.formal, d_en.difficulty) == (
            d_ru.answer,
            d_ru.formal,
            d_ru.difficulty,
        )
        assert d_en.vars == d_ru.vars
        en = t_en if t_en is not None else m_en[-1]["content"]
        ru = t_ru if t_ru is not None else m_ru[-1]["content"]
        assert en != ru
        if d_en.answer is not None:
            assert stated_answer(en.splitlines()[-1], "en") is not None
            assert ANSWER_LABEL.match(ru.splitlines()[-1]), ru


@pytest.mark.parametrize(
    "tid", ["structural.multi_hop", "structural.transitive", "structural.propositional"]
)
def test_parallel_logic_items_have_the_same_draw(lib, tid):
    for seed in range(3):
        d_en, _, _ = render(lib, tid, seed, 4, "en")
        d_ru, _, m_ru = render(lib, tid, seed, 4, "ru")
        assert (d_en.answer, d_en.formal) == (d_ru.answer, d_ru.formal)
        assert m_ru[-1]["content"].splitlines()[-1] == f"Ответ: {BOOL_RU[d_ru.answer]}"
