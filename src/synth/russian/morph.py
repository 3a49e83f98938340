"""Russian morphology for templates: nouns, adjectives, numerals and names in the case,
number and gender a sentence needs.

Real words (properties, colours, trades, objects) go through pymorphy3 and its
OpenCorpora dictionary. The world's nonce words (kinds, people, places) are declined by
rule: pymorphy3's predictor gets them wrong (it reads "Грима" as the genitive of "грим",
"дорзор" as a feminine plural, "глорпус" with the plural "глорпуса"), so
`synth.russian.names` generates nonce words only with endings whose declension is
regular, and this module declines those endings itself.

Every public function is pure and cached: templates call them for every sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
NUMBERS = ("sing", "plur")
GENDERS = ("masc", "femn", "neut")

_SURNAME = re.compile(r"(?:ов|ев|ёв|ин|ын)а?$")
_VELAR_SIBILANT = "гкхжшщч"  # after these, -ы is spelt -и
_SIBILANT = "жшщч"  # ...and the genitive plural is -ей
_VOWELS = "аеёиоуыэюя"


@lru_cache(maxsize=1)
def analyzer() -> Any:
    """One MorphAnalyzer per process (loading the dictionaries takes a while)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def _check(case: str, number: str) -> None:
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; one of {', '.join(CASES)}")
    if number not in NUMBERS:
        raise ValueError(f"unknown number {number!r}; one of {', '.join(NUMBERS)}")


def _like(src: str, out: str) -> str:
    """`out` with the capitalisation of `src` (pymorphy3 answers in lower case)."""
    if src[:1].isupper():
        return out[:1].upper() + out[1:]
    return out


# -- nonce words: declension by rule ----------------------------------------------------


Endings = tuple[str | None, ...]


def _paradigm(word: str) -> tuple[str, str, Endings, Endings]:
    """(stem, gender, singular endings, plural endings) in CASES order, accusative as
    None (it depends on animacy). Only the endings the name generator produces are
    regular; anything else is left indeclinable."""
    w = word.lower()
    if w.endswith("ия"):
        return (
            word[:-2],
            "femn",
            ("ия", "ии", "ии", "ию", "ией", "ии"),
            ("ии", "ий", "иям", None, "иями", "иях"),
        )
    if w.endswith("я") and len(w) > 1 and w[-2] in "аеиоуэ":
        return (
            word[:-1],
            "femn",
            ("я", "и", "е", "ю", "ей", "е"),
            ("и", "й", "ям", None, "ями", "ях"),
        )
    if w.endswith("а"):
        y = "и" if w[-2:-1] in _VELAR_SIBILANT else "ы"
        return word[:-1], "femn", ("а", y, "е", "у", "ой", "е"), (y, "", "ам", None, "ами", "ах")
    if w.endswith("ь"):
        return (
            word[:-1],
            "masc",
            ("ь", "я", "ю", None, "ем", "е"),
            ("и", "ей", "ям", None, "ями", "ях"),
        )
    if w.endswith("й"):
        return (
            word[:-1],
            "masc",
            ("й", "я", "ю", None, "ем", "е"),
            ("и", "ев", "ям", None, "ями", "ях"),
        )
    if w.endswith("о"):
        return (
            word[:-1],
            "neut",
            ("о", "а", "у", "о", "ом", "е"),
            ("а", "", "ам", None, "ами", "ах"),
        )
    if w[-1:] and w[-1] in "бвгджзклмнпрстфхцчшщ":
        y = "и" if w[-1] in _VELAR_SIBILANT else "ы"
        gpl = "ей" if w[-1] in _SIBILANT else "ов"
        return word, "masc", ("", "а", "у", None, "ом", "е"), (y, gpl, "ам", None, "ами", "ах")
    return word, "neut", ("",) * 6, ("",) * 6  # indeclinable: every form is the word


def _accusative(endings: Endings, number: str, gender: str, anim: bool) -> str:
    """Accusative = genitive for animate masculine singulars and all animate plurals,
    = nominative for inanimate ones; feminine singulars have their own form."""
    acc = endings[3]
    if acc is not None:
        return acc
    if number == "plur" or gender == "masc":
        return (endings[1] if anim else endings[0]) or ""
    return endings[0] or ""


@lru_cache(maxsize=65536)
def nonce(word: str, case: str = "nomn", number: str = "sing", anim: bool = True) -> str:
    """A nonce noun or name declined by rule: "вумпус" → "вумпусов" (gent, plur)."""
    _check(case, number)
    stem, gender, sing, plur = _paradigm(word)
    endings = sing if number == "sing" else plur
    i = CASES.index(case)
    end = _accusative(endings, number, gender, anim) if case == "accs" else endings[i]
    return stem + (end or "")


@lru_cache(maxsize=65536)
def surname(word: str, case: str = "nomn", number: str = "sing") -> str:
    """A Russian-style surname in -ов/-ев/-ин/-ын (feminine -ова/-ина), declined the
    way surnames are (instrumental -ым, not -ом): "Вонглеров" → "Вонглеровым"."""
    _check(case, number)
    if not _SURNAME.search(word.lower()):
        return nonce(word, case, number, anim=True)
    i = CASES.index(case)
    if number == "plur":
        stem = word[:-1] if word.lower().endswith("а") else word
        return stem + ("ы", "ых", "ым", "ых", "ыми", "ых")[i]
    if word.lower().endswith("а"):
        return word[:-1] + ("а", "ой", "ой", "у", "ой", "ой")[i]
    return word + ("", "а", "у", "а", "ым", "е")[i]


def name_gender(first: str) -> str:
    """Gender of a person from the first name: -а/-я are feminine, the rest masculine."""
    return "femn" if first.lower().endswith(("а", "я")) else "masc"


@lru_cache(maxsize=65536)
def person(full: str, case: str = "nomn", dictionary: bool = False) -> str:
    """ "Имя Фамилия" with each part declined: "Грима Вонглерова" → "Гримой Вонглеровой".

    Generated names decline by rule. With `dictionary` (a name a world's author wrote:
    "Старая Марен", "Брок Железнорук"), words the dictionary knows as names or
    adjectives decline by the dictionary, in the person's gender; the rest by rule."""
    parts = full.split(" ")
    gender = name_gender(parts[0])
    out = []
    for i, word in enumerate(parts):
        form = _dictionary_name(word, case, gender) if dictionary else None
        if form is None and gender == "femn" and word[-1:].lower() not in _VOWELS + "ь":
            form = word  # a woman's name in a consonant does not decline (Кармен, Марен)
        if form is None:
            form = surname(word, case) if i else nonce(word, case, "sing", anim=True)
        out.append(form)
    return " ".join(out)


def _dictionary_name(word: str, case: str, gender: str) -> str | None:
    if not is_known(word):
        return None
    for p in analyzer().parse(word.lower()):
        tag = p.tag
        if "nomn" not in tag or not (
            {"Name", "Surn", "Patr"} & set(tag.grammemes) or tag.POS == "ADJF"
        ):
            continue
        want = {case, "sing"} | ({gender} if tag.POS == "ADJF" else set())
        if case == "accs" and tag.POS == "ADJF" and gender == "masc":
            want.add("anim")
        form = p.inflect(want)
        if form is not None:
            return _like(word, form.word)
    return None


@lru_cache(maxsize=65536)
def is_adjective(text: str) -> bool:
    """Whether a dictionary phrase is an adjective ("ярко-красный", "верный")."""
    last = text.split(" ")[-1]
    p = analyzer().parse(last.lower())[0]
    return is_known(last) and p.tag.POS in ("ADJF", "PRTF")


def nonce_gender(word: str) -> str:
    return _paradigm(word)[1]


@lru_cache(maxsize=65536)
def is_verb(word: str) -> bool:
    """Whether a dictionary word is a verb in the present (or future) tense, as a
    property or relation of a user's world may be ("плавает", "кормит")."""
    if not is_known(word):
        return False
    p = analyzer().parse(word.lower())[0]
    return p.tag.POS == "VERB" and p.tag.person is not None


@lru_cache(maxsize=65536)
def verb(word: str, number: str = "sing", person: str = "3per") -> str:
    """A present-tense verb in another number or person: ("плавает", "plur") →
    "плавают", ("плавает", "sing", "1per") → "плаваю"; a word that is not one stays."""
    p = analyzer().parse(word.lower())[0]
    if p.tag.POS != "VERB":
        return word
    form = p.inflect({number, person})
    return _like(word, form.word) if form else word


# -- real words: pymorphy3 ---------------------------------------------------------------


@lru_cache(maxsize=65536)
def is_known(word: str) -> bool:
    return bool(analyzer().word_is_known(word.lower()))


def _parse(word: str, pos: tuple[str, ...]) -> Any:
    """The dictionary parse of a nominative `word` with one of the parts of speech `pos`
    ("печь" is a noun here, not the verb)."""
    parses = analyzer().parse(word.lower())
    for p in parses:
        if p.tag.POS in pos and "nomn" in p.tag and ("sing" in p.tag or "Pltm" in p.tag):
            return p
    for p in parses:
        if p.tag.POS in pos:
            return p
    return None


@lru_cache(maxsize=65536)
def real_noun(word: str, case: str = "nomn", number: str = "sing") -> str:
    """A dictionary noun in a case and number: "писец" → "писцом"."""
    _check(case, number)
    p = _parse(word, ("NOUN",))
    if p is None:
        return nonce(word, case, number, anim=False)
    form = p.inflect({case, number}) or (p.inflect({case}) if number == "sing" else None)
    return _like(word, form.word) if form else word


@lru_cache(maxsize=65536)
def real_gender(word: str) -> str:
    p = _parse(word, ("NOUN",))
    return (p.tag.gender or "masc") if p is not None else nonce_gender(word)


@lru_cache(maxsize=65536)
def real_anim(word: str) -> bool:
    p = _parse(word, ("NOUN",))
    return p is not None and p.tag.animacy == "anim"


@lru_cache(maxsize=65536)
def adjective(
    adj: str,
    gender: str = "masc",
    number: str = "sing",
    case: str = "nomn",
    anim: bool = False,
    short: bool = False,
) -> str:
    """An adjective (or participle) agreeing with a noun: ("ядовитый", "femn") →
    "ядовитая"; `short` gives the short form where the word has one ("ядовита") and
    the full form otherwise. Multi-word adjectives ("сине-зелёный") agree in the last
    word."""
    _check(case, number)
    if gender not in GENDERS:
        raise ValueError(f"unknown gender {gender!r}; one of {', '.join(GENDERS)}")
    head, sep, last = adj.rpartition(" ")
    if sep:
        return head + " " + adjective(last, gender, number, case, anim, short)
    p = _parse(adj, ("ADJF", "PRTF"))
    if p is None:
        return adj
    if short and case == "nomn":
        pos = "ADJS" if p.tag.POS == "ADJF" else "PRTS"
        want = {pos, "plur"} if number == "plur" else {pos, "sing", gender}
        form = p.inflect(want)
        if form is not None:
            return _like(adj, form.word)
    want = {case, "plur"} if number == "plur" else {case, "sing", gender}
    if case == "accs" and (number == "plur" or gender == "masc"):
        want.add("anim" if anim else "inan")
    form = p.inflect(want)
    return _like(adj, form.word) if form else adj


@lru_cache(maxsize=65536)
def real_phrase(phrase: str, case: str = "nomn", number: str = "sing") -> str:
    """A dictionary noun phrase, adjectives before the head noun ("мельничное колесо"):
    the noun is inflected and the adjectives agree with it."""
    words = phrase.split(" ")
    noun = words[-1]
    nouns = [i for i, w in enumerate(words) if _parse(w, ("NOUN",)) is not None]
    head = nouns[-1] if nouns else len(words) - 1
    noun = words[head]
    gender, anim = real_gender(noun), real_anim(noun)
    out = []
    for i, w in enumerate(words):
        if i == head:
            out.append(real_noun(w, case, number))
        elif i < head and _parse(w, ("ADJF", "PRTF")) is not None:
            out.append(adjective(w, gender, number, case, anim))
        else:
            out.append(w)  # a dependent after the head ("флаг с гербом") stays
    return " ".join(out)


# -- one entry point --------------------------------------------------------------------


@lru_cache(maxsize=65536)
def inflect(text: str, case: str = "nomn", number: str = "sing", role: str = "") -> str:
    """`text` (a Russian surface) in `case` and `number`.

    role: "person" (first name + surname, generated), "named" (a person's name a world's
    author wrote, see `person`), "fixed" (an indeclinable name), "kind" (a nonce
    creature, animate),
    "place" or "thing" (nonce, inanimate), "real" (dictionary words, pymorphy3), or ""
    to guess: two capitalised words are a person, a dictionary word is real, anything
    else a nonce word.
    """
    _check(case, number)
    if not text or role == "fixed":  # an indeclinable name (Пингу) reads the same in every case
        return text
    role = role or guess_role(text)
    if role in ("person", "named"):
        return person(text, case, role == "named") if number == "sing" else text
    if role == "real":
        return real_phrase(text, case, number)
    return nonce(text, case, number, anim=role == "kind")


def guess_role(text: str) -> str:
    words = text.split(" ")
    if (
        len(words) == 2
        and all(w[:1].isupper() for w in words)
        and _SURNAME.search(words[1].lower())
    ):
        return "person"
    if all(is_known(w) for w in words):
        return "real"
    return "kind" if text[:1].islower() else "place"


@lru_cache(maxsize=65536)
def gender_of(text: str, role: str = "") -> str:
    """The grammatical gender a predicate agrees with: a person's is their first name's."""
    role = role or guess_role(text)
    if role == "fixed":
        return "masc"
    if role in ("person", "named"):
        return name_gender(text.split(" ")[0])
    if role == "real":
        words = text.split(" ")
        nouns = [w for w in words if _parse(w, ("NOUN",)) is not None]
        return real_gender(nouns[-1] if nouns else words[-1])
    return nonce_gender(text)


def prep(word: str, p: str) -> str:
    """A preposition and its word, with the vowel Russian adds before some clusters:
    "со Скононом", "во Врене", "ко Гроне"... and "об" before a vowel ("об Але")."""
    w = word.lower()
    cluster = len(w) > 1 and w[1] not in _VOWELS and w[1] not in "ьъ"
    if p == "с" and cluster and w[0] in "сзшжщ" or p == "в" and cluster and w[0] in "вф":
        p += "о"
    elif p == "к" and cluster and w[0] in "кг":
        p += "о"
    elif p == "о" and w[:1] in "аоуэиы":
        p += "б"
    return f"{p} {word}"


def plural_count(n: int) -> str:
    """Which form a noun takes after the number n in the nominative: "one" (1, 21,
    101: вумпус), "few" (2-4, 22: вумпуса), "many" (5-20, 11-14, 25, 111: вумпусов)."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def _few(text: str, role: str) -> str:
    """After 2, 3, 4 the noun is genitive singular, but its adjectives are genitive
    plural (feminine: nominative plural): "3 наибольших значения", "2 большие книги"."""
    words = text.split(" ")
    if role != "real" or len(words) == 1:
        return inflect(text, "gent", "sing", role)
    head = words[-1]
    fem = real_gender(head) == "femn"
    adjs = [adjective(w, number="plur", case="nomn" if fem else "gent") for w in words[:-1]]
    return " ".join(adjs + [real_noun(head, "gent", "sing")])


@lru_cache(maxsize=65536)
def agree(n: int, text: str, case: str = "nomn", role: str = "") -> str:
    """ "n noun" with the noun in the form the numeral governs: 1 вумпус, 2 вумпуса,
    5 вумпусов, 21 вумпус, 11 вумпусов; in an oblique case the noun takes that case
    (с 5 вумпусами, о 21 вумпусе). The number stays in digits."""
    _check(case, "sing")
    role = role or guess_role(text)
    form = plural_count(n)
    anim = role in ("kind", "person", "named") or (
        role == "real" and real_anim(text.split(" ")[-1])
    )
    if case in ("nomn", "accs"):
        if form == "one":
            noun = inflect(text, case, "sing", role)
        elif case == "accs" and anim:
            noun = inflect(text, "gent", "plur", role)  # вижу двух вумпусов
        elif form == "few":
            noun = _few(text, role)
        else:
            noun = inflect(text, "gent", "plur", role)
    else:
        noun = inflect(text, case, "sing" if form == "one" else "plur", role)
    return f"{n} {noun}"
