"""Every line right over every world: 2,000 ontology rows in both languages over the
fictional default world, tests/data/worlds/guild.yaml, tests/data/worlds/zoo.ttl and the
YAML and Turtle examples of docs/worlds.md, read as a reviewer would.

- An explanation's verdict agrees with the gold answer: a question left open says so
  and only then, a "no" of the closed world is stated as one, and the last clause of a
  proof (or of a "recorded directly") holds or does not hold as the answer does; each
  point of a derivation or a "how we know" ends on its own fact, with its polarity.
- A user world reads as words: no identifier with an underscore or in camelCase, no
  verb said as an adjective ("is swims", "Is North Wing flies?", "penguins swims"),
  verbs negated with "does not", relation labels with their verb ("is fed by", not "fed
  by"); in Russian no Latin, no transliterated label («свимс»), no relation said as
  «связан отношением», no verb after a dash or «бывает».

Then the forms themselves (inferred, declared, refused), the Russian forms a Russian run
needs, and each documented example generated at the capacity synth names for it, every
row re-derived by the independent oracle.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rederive import rederive

import synth.families  # noqa: F401  (registers every family)
from synth.curriculum.tier import load_tier
from synth.english import plural
from synth.errors import UserError
from synth.families.base import Scope
from synth.generation.resolve import fit_to_world
from synth.russian.names import translit
from synth.templating import TemplateLibrary
from synth.templating.item import render_item
from synth.wording import forms, wording_for
from synth.wording.en import FORWARD, HAS_PROPS
from synth.world import load_world
from synth.world.fictional import build_world
from synth.world.forms import property_form, relation_form

DATA = Path(__file__).parents[1] / "data" / "worlds"
DOCS = Path(__file__).parents[2] / "docs" / "worlds.md"
VERDICT = ("qa_property", "qa_relation", "qa_compare", "qa_membership", "qa_attribute")
ANSWER_LINE = re.compile(r"^(?:\*\*)?(?:Final answer|Answer|Итоговый ответ|Ответ):", re.M)
# What an answer line says after its word: that nothing makes a claim so, or that
# nothing settles it (the claim itself is read with NEGATION).
NOTHING = {
    "en": ("nothing", "no record"),
    "ru": ("ничто", "нет записи", "ни одна запись", "неизвестно ничего"),
}
UNSETTLED = {"en": ("whether",), "ru": ("верно ли", "ни того")}
OPEN = {"en": ("cannot tell", "leave it open"), "ru": ("Сказать нельзя", "оставляют это открытым")}
NO = {
    "en": ("the answer is no", "it is false", "cannot say so: false", "none of these is",
           "are not among them", "is not among them", "Nothing records"),
    "ru": ("ответ — нет", "это неверно", "утверждать этого нельзя", "ни один из этих видов не",
           "среди них нет", "в записях не значится", "записи молчат"),
}  # fmt: skip
NEGATION = {
    "en": re.compile(r"\b(?:not|never|no|neither|nor|none|cannot)\b|\bin no way\b"),
    "ru": re.compile(r"(?:^|[\s,])(?:не|ни|нет|никогда)(?=[\s,.])"),
}
MARKER = re.compile(r"^(?:[-*•] |\d+[.)] )")


def _docs_examples(tmp: Path) -> list[Path]:
    """The YAML and the Turtle example of docs/worlds.md, as files."""
    text = DOCS.read_text(encoding="utf-8")
    yaml_block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kinds:" in b)
    ttl_block = re.findall(r"```turtle\n(.*?)```", text, re.S)[0]
    (tmp / "zoo.yaml").write_text(yaml_block, encoding="utf-8")
    (tmp / "zoo.ttl").write_text(ttl_block, encoding="utf-8")
    return [tmp / "zoo.yaml", tmp / "zoo.ttl"]


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    user = [load_world(p, 0) for p in [DATA / "guild.yaml", DATA / "zoo.ttl", *_docs_examples(tmp)]]
    return [build_world(0), *user]


@pytest.fixture(scope="module")
def rendered(worlds):
    """2,000 rows: every (language, world, template a run keeps for that world) in turn."""
    lib = TemplateLibrary([], builtin=True)
    tier = load_tier("ontology")
    combos = []
    for lang in ("en", "ru"):
        for w in worlds:
            fitted, _ = fit_to_world(tier, lib, w)
            combos += [(lang, w, tid) for tid in sorted(fitted.templates)]
    out = []
    for i in range(2000):
        lang, w, tid = combos[i % len(combos)]
        spec = lib.spec(tid, lang)
        lo, hi = spec.difficulty
        scope = Scope(known_entities=len(w.entities), known_kinds=len(w.kinds))
        s = render_item(lib, spec, w, random.Random(i), lo + i % (hi - lo + 1), scope, position=i)
        out.append((lang, w, tid, s))
    return out


def _text(s) -> str:
    return s.text if s.text is not None else "\n".join(m["content"] for m in s.messages)


def _explanation(s) -> str:
    """What the answer says before its answer line."""
    return ANSWER_LINE.split(s.response)[0].strip()


def _tail(text: str, name: str) -> str:
    """The last clause about `name`: from its last mention in the last sentence."""
    last = re.split(r"(?<=[.!?])\s+", text.strip())[-1]
    i = last.rfind(name)
    return last[i:] if i >= 0 else last


def _holds(clause: str, lang: str) -> bool:
    return not NEGATION[lang].search(clause)


def _answer_line_problem(lang: str, answer: str, s) -> str | None:
    """What is wrong with what a yes/no answer line says after its word, if anything."""
    line = ANSWER_LINE.split(s.response)[-1].strip().splitlines()[0].strip("* ")
    word, _, tail = line.partition(" ")
    tail = tail.strip(" -—,;.")
    if not tail:
        return None
    low = tail.lower()
    nothing = any(m in low for m in NOTHING[lang])
    unsettled = any(m in low for m in UNSETTLED[lang])
    negated = bool(NEGATION[lang].search(tail))
    said = {"true": not (nothing or unsettled or negated), "unknown": unsettled,
            "false": (nothing or negated) and not unsettled}[answer]  # fmt: skip
    return None if said else f"the answer line says {line!r} for {answer}"


def _verdict_problem(lang: str, w, tid: str, s) -> str | None:
    """What is wrong with a row's explanation against its gold answer, if anything."""
    say = wording_for(lang, random.Random(0), w)
    name = tid.removeprefix("ontology.")
    draw, answer = s.draw, s.draw.answer
    expl = _explanation(s)
    if not expl:
        return "no explanation"
    is_open = any(m in expl for m in OPEN[lang])
    said_no = any(m in expl for m in NO[lang])
    if name in VERDICT:
        problem = _answer_line_problem(lang, answer, s)
        if problem:
            return problem
        if (answer == "unknown") != is_open:
            return f"open? {is_open}, answer {answer}"
        if answer == "unknown":
            return None
        subject = say.name(draw.formal["query"][0])
        if name == "qa_attribute":
            asked = draw.vars["asked"]
            if asked is None:  # a value: the explanation states it (in Russian, in any case)
                value = draw.vars["value"]
                stated = (
                    say._last_form(expl, value) is not None
                    if lang == "ru"
                    else say.name(value).lower() in expl.lower()
                )
                return None if stated else f"{value} not stated"
            return None if said_no == (answer == "false") else f"'no' said? {said_no}"
        if name == "qa_property":
            if said_no:
                return "a closed-world 'no' for an open-world question"
            holds = _holds(_tail(expl, subject), lang)
            return None if holds == (answer == "true") else f"last clause holds? {holds}"
        if said_no != (answer == "false"):
            return f"'no' said? {said_no}, answer {answer}"
        if answer == "true" and not _holds(_tail(expl, subject), lang):
            return "a 'true' whose last clause does not hold"
        return None
    # derivation_doc, how_we_know: each point ends on its own fact, as it holds
    items = draw.vars["items"]
    if name == "derivation_doc":
        points = [MARKER.sub("", x) for x in s.text.splitlines() if MARKER.match(x)]
    else:  # a question on one line, its reasons on the next
        lines = [x for x in s.text.splitlines()[1:] if x.strip()]
        points = ["\n".join(lines[i : i + 2]) for i in range(0, len(lines), 2)]
    if len(points) != len(items):
        return f"{len(points)} points for {len(items)} facts"
    for it, point in zip(items, points):
        fact = it["fact"]
        holds = _holds(_tail(point, say.name(fact[0])), lang)
        if holds != (fact[1] != "not:is"):
            return f"{fact}: its explanation ends with holds={holds}"
        if name == "how_we_know":
            question = point.splitlines()[0]
            if _holds(question[question.rfind(say.name(fact[0])) :], lang) != holds:
                return f"{fact}: the question and its reasons disagree"
    return None


def test_every_explanation_agrees_with_its_answer(rendered):
    problems: Counter = Counter()
    examples: dict[str, str] = {}
    seen: Counter = Counter()
    for lang, w, tid, s in rendered:
        name = tid.removeprefix("ontology.")
        if name not in (*VERDICT, "derivation_doc", "how_we_know"):
            continue
        seen[(lang, name)] += 1
        problem = _verdict_problem(lang, w, tid, s)
        if problem:
            key = f"{lang} {tid}"
            problems[key] += 1
            examples.setdefault(key, f"{problem} (answer {s.draw.answer})\n{_text(s)[:1200]}")
    assert not problems, f"{dict(problems)}\n\n" + "\n\n".join(examples.values())
    # every verdict template was read in both languages, and the open answers occurred
    assert {n for _, n in seen} == {*VERDICT, "derivation_doc", "how_we_know"}
    assert min(seen.values()) >= 15  # qa_compare: only worlds with an age chain
    opens = [s for lang, _, tid, s in rendered if s.draw.answer == "unknown"]
    assert len(opens) >= 10


# A sentence that opens in lower case: at the start of a line, or after a full stop,
# question or exclamation mark and a space; not after a one-letter abbreviation («Г. р.»).
LOWER_START = re.compile(r"(?:^|(?<!\b\w)[.!?] )(?:[#*]+ )?([a-zа-яё][\w-]*)", re.M)


def _lower_starts(text: str) -> list[str]:
    return [f"sentence opens in lower case: {m.group(1)!r}" for m in LOWER_START.finditer(text)]


def _english_problems(w, text: str) -> list[str]:
    out = _lower_starts(text)
    for m in re.finditer(r"\b[A-Za-z]+_\w+|\b[a-z]+[A-Z]\w*|\b[A-Z][a-z]+[A-Z][a-z]\w*", text):
        out.append(f"identifier {m.group(0)!r}")
    kinds = [w.surface(k, "en") for k in w.kinds]
    for label, form in w.forms.items():
        if form["role"] == "property" and forms.pred(w, label).pos == "verb":
            verb = form["en"].split(" ")[0]  # "swims", "flies", "speaks"
            bad = [rf"\b(?:is|are|am|be|was|were|never|way|neither|nor)\s+(?:\w+\s+)?{verb}\b",
                   rf"\bnot\s+{verb}\b",  # "does not flies" (but "not only flies" is English)
                   rf"\bIs\b(?! it\b)[^.?!\n]*\b{verb}\?", rf"\b[Dd]oes\s+(?:[A-Z]\w*\s+){{1,3}}{verb}\?",
                   *(rf"\b{re.escape(plural(k))} {verb}\b" for k in kinds)]  # fmt: skip
            out += [
                f"verb as an adjective: {m.group(0)!r}" for b in bad for m in re.finditer(b, text)
            ]
        if form["role"] == "relation" and form["en"].startswith("is ") and label not in FORWARD:
            core = re.sub(r"^is (?:an? |the )?", "", form["en"])  # "fed by", "neighbour of"
            for m in re.finditer(rf"\b{re.escape(core)}\b", text):
                before = [
                    x.strip("'\"«(") for x in text[max(0, m.start() - 40) : m.start()].split()[-4:]
                ]
                if not {"is", "are", "am", "was", "were", "be", "being"} & set(before):
                    out.append(
                        f"relation without its verb: {text[max(0, m.start() - 30) : m.end()]!r}"
                    )
            if re.search(rf"\bthe {re.escape(core)} of\b", text):
                out.append(f"relation asked as a noun: 'the {core} of'")
    return out


def _russian_problems(w, text: str) -> list[str]:
    out = _lower_starts(text)
    latin = re.sub(r"(?<![A-Za-z])[XYZABC](?![A-Za-z])", "", text)
    out += [f"Latin {m.group(0)!r}" for m in re.finditer(r"[A-Za-z]+", latin)]
    if "связан отношением" in text or "признак «" in text and re.search(r"«[a-z]", text):
        out.append("a relation said without its Russian form")
    low = text.lower()
    for label in w.forms:
        for raw in {translit(label), translit(label.replace("_", " "))}:
            if len(raw) > 3 and re.search(rf"(?<!\w){re.escape(raw.lower())}", low):
                out.append(f"transliterated label {raw!r}")
        verb = forms.ru_property(w, w.names.get("ru", {}), label)
        if verb:
            for bad in (f"— {verb}", f"бывает {verb}", f"бывают {verb}"):
                if bad in text:
                    out.append(f"verb as a noun or adjective: {bad!r}")
    return out


def test_user_worlds_read_as_words(rendered):
    problems: Counter = Counter()
    examples: dict[str, str] = {}
    for lang, w, tid, s in rendered:
        text = _text(s)
        found = (_english_problems if lang == "en" else _russian_problems)(w, text)
        for p in found:
            key = f"{lang} {w.source or 'fictional'}: {p.split(':')[0]}"
            problems[key] += 1
            examples.setdefault(key, f"{tid}: {p}\n{text[:800]}")
    assert not problems, f"{dict(problems)}\n\n" + "\n\n".join(examples.values())


def test_every_world_and_language_is_rendered(rendered, worlds):
    seen = Counter((lang, w.source) for lang, w, _, _ in rendered)
    assert len(seen) == 2 * len(worlds) and min(seen.values()) >= 100


def test_fictional_text_keeps_its_words(rendered):
    """A fictional world's properties are adjectives and its relations have banks: the
    forms leave its text alone (no "does not" appears, as no property is a verb)."""
    for lang, w, tid, s in rendered:
        if not w.source and lang == "en":
            assert "does not " not in _text(s), tid


# -- the forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, en, en_not",
    [
        ("swims", "swims", "does not swim"),
        ("flies", "flies", "does not fly"),
        ("lays eggs", "lays eggs", "does not lay eggs"),
        ("has wings", "has wings", "does not have wings"),
        ("can fly", "can fly", "cannot fly"),
        ("easy to spot", "is easy to spot", "is not easy to spot"),
        ("famous", "is famous", "is not famous"),
        ("a swimmer", "is a swimmer", "is not a swimmer"),
        ("is hungry", "is hungry", "is not hungry"),
    ],
)
def test_property_forms_are_inferred(label, en, en_not):
    assert property_form(label) == {"en": en, "en_not": en_not}


@pytest.mark.parametrize(
    "label, en",
    [
        ("feeds", "feeds"),
        ("lives in", "lives in"),
        ("fed by", "is fed by"),
        ("located in", "is located in"),
        ("neighbour of", "is a neighbour of"),
        ("is part of", "is part of"),
        ("is point of", "is a point of"),
        ("next to", "is next to"),
        ("larger than", "is larger than"),
        ("has part", "has the part"),
        ("sibling", "is a sibling of"),
    ],
)
def test_relation_forms_are_inferred(label, en):
    assert relation_form(label) == en


def test_a_user_world_reads_with_its_forms(worlds):
    zoo = next(w for w in worlds if w.source.endswith("zoo.yaml"))
    en = wording_for("en", random.Random(0), zoo)
    assert en.clause(("Pingu", "is", "swims")) == "Pingu swims"
    assert en.clause(("Pingu", "not:is", "flies")) == "Pingu does not fly"
    assert en.clause(("Tweety", "is", "easy_to_spot")) in {
        "Tweety " + p.replace("{p}", "easy to spot") for p in HAS_PROPS
    }
    assert en.clause(("Tweety", "fed_by", "Ada")) == "Tweety is fed by Ada"
    asked = {en.ask_property("North Wing", "flies") for _ in range(200)}
    assert "Does North Wing fly?" in asked
    assert "Does it follow that North Wing flies?" in asked
    assert "Based on what is known, does North Wing fly?" in asked
    # a verb is asked with "does" and stated with its -s form, never "is North Wing flies"
    assert all("fly?" in q or "flies" in q for q in asked), asked
    assert not any(re.search(r"\b(?:is|are) North Wing fl", q) for q in asked), asked
    kinds = {en.kind_clause("penguin", "is", "swims") for _ in range(30)}
    assert kinds == {
        "every penguin swims",
        "all penguins swim",
        "penguins swim",
        "each penguin swims",
    }
    assert en.ask(("Tweety", "fed_by", "Ada"))[0] in (
        "Which keeper is Tweety fed by?", "Name a keeper that Tweety is fed by."
    )  # fmt: skip
    ru = wording_for("ru", random.Random(0), zoo)
    assert ru.clause(("Pingu", "not:is", "flies")) == "Пингу не летает"
    assert ru.clause(("Tweety", "fed_by", "Ada")) == "Твити получает корм от Ады"
    assert ru.clause(("North Wing", "located_in", "City Zoo")) == (
        "Северное крыло находится в Городском зоопарке"
    )
    assert ru.ask(("Tweety", "fed_by", "Ada")) == (
        "От какого смотрителя получает корм Твити?",
        "Ада",
    )
    assert {ru.kind_clause("penguin", "is", "swims") for _ in range(30)} == {
        "каждый пингвин плавает", "все пингвины плавают", "пингвины плавают"
    }  # fmt: skip


def test_an_ontology_reads_with_its_labels(worlds):
    """The Turtle example: relations without labels read by their ids, individuals
    without English labels are named from theirs, a value tagged @ru is its Russian."""
    zoo = next(w for w in worlds if w.source.endswith("zoo.ttl") and "docs" in w.source)
    assert zoo.form("locatedIn")["en"] == "is located in" and zoo.form("fedBy")["en"] == "is fed by"
    assert zoo.surface("northWing", "en") == "North Wing" and zoo.surface("Bird", "en") == "bird"
    assert zoo.names["ru"]["black"] == "чёрный" and zoo.entity_by_id["pingu"].attrs == {
        "colour": "black"
    }
    ru = wording_for("ru", random.Random(0), zoo)
    assert ru.clause(("pingu", "neighbourOf", "tweety")) == "Пингу — сосед Твити"
    assert ru.clause(("tweety", "fedBy", "ada")) == "Твити получает корм от Ады"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_a_label_that_is_not_words_is_refused_at_load(tmp_path):
    p = _write(tmp_path, "w.yaml", "kinds:\n  bird: {props: [p_2]}\nentities:\n  Tweety: bird\n")
    with pytest.raises(UserError) as e:
        load_world(p)
    assert str(e.value) == (
        f"{p}:2: property 'p_2' does not read as words;"
        " declare its English form under 'properties:' (e.g. p_2: {en: ...})"
    )
    ok = p.read_text() + "properties:\n  p_2: {en: glows, en_not: does not glow}\n"
    w = load_world(_write(tmp_path, "ok.yaml", ok))
    assert wording_for("en", random.Random(0), w).clause(("Tweety", "not:is", "p_2")) == (
        "Tweety does not glow"
    )
    typo = ok + "  p2: {en: glows}\n"
    with pytest.raises(UserError, match=r"ok2.yaml:7: properties: 'p2' is not a property"):
        load_world(_write(tmp_path, "ok2.yaml", typo))


def test_an_ontology_relation_that_is_not_words_is_refused(tmp_path):
    ttl = (
        "@prefix : <http://example.org/x#> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        ":P31 a owl:ObjectProperty .\n:a :P31 :b .\n"
    )
    with pytest.raises(
        UserError, match=r"relation 'P31' does not read as words; give it an rdfs:label"
    ):
        load_world(_write(tmp_path, "x.ttl", ttl))
    w = load_world(_write(tmp_path, "y.ttl", ttl + ':P31 rdfs:label "instance of"@en .\n'))
    assert w.form("P31")["en"] == "is an instance of"
    assert (
        wording_for("en", random.Random(0), w).clause(("a", "P31", "b")) == "A is an instance of B"
    )


def test_a_russian_run_needs_the_russian_forms(tmp_path):
    """Without them it stops at once, with one line naming the first label and how to
    give its form (exit 2), and writes nothing; English needs none."""
    plain = (DATA / "guild.yaml").read_text(encoding="utf-8").split("properties:")[0]
    p = _write(tmp_path, "g.yaml", plain + "names:\n  ru: {creature: существо}\n")
    args = ["generate", "--tier", "ontology", "--world", str(p), "--tokens", "10k", "-q"]
    r = subprocess.run([sys.executable, "-m", "synth", *args, "--lang", "ru", "--out",
                        str(tmp_path / "o")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"{p}: property 'speaks' has no ru form" in lines[0]
    assert "give it 'properties: {speaks: {ru: ..., ru_not: ...}}'" in lines[0]
    assert not (tmp_path / "o").exists()
    with pytest.raises(UserError, match="property 'speaks' has no ru form"):
        forms.check(load_world(p), ["en", "ru"])
    forms.check(load_world(p), ["en"])


def _capacity(path: Path, tmp_path: Path) -> str:
    """The budget synth names when asked for more than the world can say."""
    import synth

    with pytest.raises(UserError) as e:
        synth.generate(synth.GenerateConfig(tier="ontology", world=str(path),
                                            out=str(tmp_path / "too-much"), tokens="10M",
                                            progress=False))  # fmt: skip
    return re.search(r"give --tokens (\S+) or less", str(e.value)).group(1)


@pytest.mark.parametrize("example, lang", [(0, "en"), (1, "en"), (0, "ru")])
def test_documented_examples_generate_at_their_capacity(tmp_path, example, lang):
    """`synth generate --world <docs example> --tokens <the capacity it names>` works, and
    every row re-derives from its `formal` (tests/rederive.py)."""
    import datasets

    import synth

    path = _docs_examples(tmp_path)[example]
    tokens = _capacity(path, tmp_path)
    out = tmp_path / "out"
    synth.generate(synth.GenerateConfig(tier="ontology", world=str(path), out=str(out),
                                        tokens=tokens, lang=lang, progress=False))  # fmt: skip
    ds = datasets.load_from_disk(str(out))
    assert ds.num_rows > 50
    for row in ds:
        assert rederive(row["formal"]) == (True if row["answer"] is None else row["answer"])
    w = load_world(path)
    check = _english_problems if lang == "en" else _russian_problems
    said = [  # what the rows say, without the chat format's markup
        "\n".join(m["content"] for m in row["messages"]) if row["messages"] else row["text"]
        for row in ds
    ]
    problems = [p for t in said for p in check(w, t)]
    assert not problems, problems[:5]
