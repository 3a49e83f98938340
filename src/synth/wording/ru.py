"""Russian wording: the phrase banks and how Russian builds sentences from them.

The same design as `en.py` (several predicates per fact type, reverse predicates for
links, pairs said in one predicate, sentences of one to three predicates in a few
shapes), written for Russian rather than translated from English: a name is declined
for its role in the predicate ("работает мельником", "живёт во Вролморе", "старше
Бриса Тамова"), a past-tense verb or a short participle agrees with the subject's
gender ("родился" / "родилась", "расположен" / "расположена"), a number governs its
noun ("172 сантиметра", "12 400 жителей"), a language is an adjective with "язык"
("говорит на ардском и сутском языках"), and a property takes its short form where it
reads naturally ("ядовита") and its full form otherwise.

Sentence shapes: a plain list of predicates ("Грима Вонглерова живёт во Вролморе и
работает мельником"), a predicate noun after a dash ("Грима Вонглерова — вумпус, ..."),
an apposition ("Грима Вонглерова, уроженка Бриморы, работает мельником"), a relative
clause ("Грима Вонглерова, которая живёт во Вролморе, — вумпус"), a fronted source
("По записям переписи, ..."), and a second clause after a semicolon with the subject's
pronoun ("...; она также говорит на ардском языке"). Pronouns only for a being of a
fictional world, whose gender its first name gives. No filler: every word names a
fact's terms or carries its meaning.

Patterns are strings with slots, so a phrase reads as it will come out:

    {o} {o:gent} {o:datv:plur}   the object's name declined ({s}: a link's subject;
                                 {a} and {b}: the two facts of a pair)
    {в o:loct} {с o:ablt}        with a preposition that takes its vowel ("во Вролморе")
    {o:n}  {o:n:сантиметр}       a number as Russian writes it, alone or with its noun
    {o:n:житель:gent}            ... in a case ("для 12 400 жителей")
    {o:adj:masc:gent}            the object, an adjective, agreeing ("янтарного" цвета)
    {o:lang:loct}                languages with "язык" ("ардском и сутском языках")
    [родился|родилась|родилось]  agrees with the subject's gender
    <другом|подругой>            agrees with the object's gender
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from synth.english import join_and
from synth.russian import grammar, morph
from synth.russian.names import ATTRIBUTE_NOUNS_RU, SHORT_OK, role_of
from synth.wording import forms
from synth.wording.base import Group, Say, Triple, cap

# Predicates of a subject (see the module docstring for the slots).
FORWARD: dict[str, tuple[str, ...]] = {
    "is_a": ("— {o}", "относится к {o:datv:plur}", "принадлежит к {o:datv:plur}",
             "входит в число {o:gent:plur}", "— [один|одна|одно] из {o:gent:plur}",
             "является {o:ablt}", "— {o} по виду", "числится среди {o:gent:plur}",
             "принадлежит к виду {o:gent:plur}", "по виду {o}",
             "— [представитель|представительница|представитель] вида {o:gent:plur}"),
    "colour": ("{o:adj:masc:gent} цвета", "имеет {o:adj:femn:accs} окраску",
               "[окрашен|окрашена|окрашено] в {o:adj:masc:accs} цвет",
               "отличается {o:adj:femn:ablt} окраской", "имеет {o:adj:masc:accs} окрас"),
    "lives_in": ("живёт {в o:loct}", "проживает {в o:loct}", "обитает {в o:loct}",
                 "[поселился|поселилась|поселилось] {в o:loct}", "держит дом {в o:loct}",
                 "[обосновался|обосновалась|обосновалось] {в o:loct}", "имеет дом {в o:loct}",
                 "[нашёл|нашла|нашло] дом {в o:loct}", "[осел|осела|осело] {в o:loct}",
                 "— [житель|жительница|житель] {o:gent}"),
    "works_as": ("работает {o:ablt}", "— {o} по ремеслу", "зарабатывает на жизнь ремеслом {o:gent}",
                 "служит {o:ablt}", "по профессии {o}", "трудится {o:ablt}",
                 "занимается ремеслом {o:gent}",
                 "— {o} по роду занятий", "[занят|занята|занято] ремеслом {o:gent}",
                 "кормится ремеслом {o:gent}", "[избрал|избрала|избрало] ремесло {o:gent}"),
    "born_in": ("[родился|родилась|родилось] {в o:loct}", "родом {из o:gent}",
                "[появился|появилась|появилось] на свет {в o:loct}",
                "— [уроженец|уроженка|уроженец] {o:gent}",
                "[родился и вырос|родилась и выросла|родилось и выросло] {в o:loct}"),
    "born_year": ("[родился|родилась|родилось] в {o} году",
                  "[появился|появилась|появилось] на свет в {o} году",
                  "— {o} года рождения", "[родился|родилась|родилось] ещё в {o} году"),
    "moved_year": ("[переехал|переехала|переехало] в {o} году",
                   "[сменил|сменила|сменило] место жительства в {o} году",
                   "в {o} году [перебрался|перебралась|перебралось] на новое место",
                   "[переселился|переселилась|переселилось] в {o} году"),
    "height_cm": ("ростом {o:n:сантиметр}", "имеет рост {o} см", "ростом в {o} см",
                  "[вышел|вышла|вышло] ростом в {o:n:сантиметр:accs}"),
    "weight_kg": ("весит {o:n:килограмм}", "весит {o} кг", "имеет вес {o} кг",
                  "тянет на {o} кг"),
    "speaks": ("говорит на {o:lang:loct}", "владеет {o:lang:ablt}", "знает {o:lang:accs}",
               "свободно говорит на {o:lang:loct}", "изъясняется на {o:lang:loct}"),
    "skilled_in": ("владеет {o:ablt}", "занимается {o:ablt}",
                   "[искусен|искусна|искусно] {в o:loct}", "знает толк {в o:loct}",
                   "[сведущ|сведуща|сведуще] {в o:loct}", "хорошо разбирается {в o:loct}"),
    "ancestor_of": ("— предок {o:gent}", "— [один|одна|одно] из предков {o:gent}",
                    "приходится предком {o:datv}", "стоит в родословной {o:gent}",
                    "числит {o:accs} среди своих потомков",
                    "входит в число предков {o:gent}", "числится среди предков {o:gent}",
                    "значится в родословной {o:gent}",
                    "— [прародитель|прародительница|прародитель] {o:gent}"),
    "descendant_of": ("— потомок {o:gent}", "происходит от {o:gent}", "ведёт род от {o:gent}",
                      "приходится потомком {o:datv}", "числит {o:accs} среди своих предков",
                      "— [один|одна|одно] из потомков {o:gent}", "входит в число потомков {o:gent}",
                      "числится среди потомков {o:gent}", "происходит из рода {o:gent}",
                      "ведёт своё происхождение от {o:gent}"),
    "older_than": ("старше {o:gent}", "[родился|родилась|родилось] раньше {o:gent}",
                   "[появился|появилась|появилось] на свет раньше {o:gent}",
                   "по возрасту старше {o:gent}",
                   "[родился|родилась|родилось] прежде {o:gent}", "годами старше {o:gent}",
                   "[появился|появилась|появилось] на свет прежде {o:gent}"),
    "younger_than": ("младше {o:gent}", "моложе {o:gent}",
                     "[родился|родилась|родилось] позже {o:gent}",
                     "[появился|появилась|появилось] на свет позже {o:gent}",
                     "по возрасту младше {o:gent}",
                     "[родился|родилась|родилось] после {o:gent}",
                     "годами младше {o:gent}"),
    "neighbour_of": ("— [сосед|соседка|сосед] {o:gent}", "живёт по соседству {с o:ablt}",
                     "живёт рядом {с o:ablt}", "соседствует {с o:ablt}",
                     "живёт бок о бок {с o:ablt}", "живёт неподалёку от {o:gent}",
                     "приходится [соседом|соседкой|соседом] {o:datv}",
                     "считает {o:accs} <своим соседом|своей соседкой|своим соседом>",
                     "живёт в соседстве {с o:ablt}"),
    "mentor_of": ("— [наставник|наставница|наставник] {o:gent}", "наставляет {o:accs}",
                  "учит {o:accs}", "обучает {o:accs}", "[взял|взяла|взяло] {o:accs} в ученики",
                  "передаёт опыт {o:datv}", "— [учитель|учительница|учитель] {o:gent}",
                  "держит {o:accs} в учениках", "приходится [наставником|наставницей|наставником] {o:datv}"),
    "apprentice_of": ("— [ученик|ученица|ученик] {o:gent}", "учится у {o:gent}",
                      "учится ремеслу у {o:gent}", "перенимает опыт у {o:gent}",
                      "ходит в учениках у {o:gent}",
                      "[взят|взята|взято] в ученики {o:ablt}",
                      "приходится [учеником|ученицей|учеником] {o:datv}", "набирается опыта у {o:gent}",
                      "обучается у {o:gent}", "состоит в учениках у {o:gent}"),
    "friend_of": ("дружит {с o:ablt}", "— [друг|подруга|друг] {o:gent}",
                  "водит дружбу {с o:ablt}", "считает {o:accs} <своим другом|своей подругой|своим другом>",
                  "[дружен|дружна|дружно] {с o:ablt}", "приходится [другом|подругой|другом] {o:datv}",
                  "поддерживает дружбу {с o:ablt}", "состоит в дружбе {с o:ablt}"),
    "lies_in": ("лежит {в o:loct}", "[расположен|расположена|расположено] {в o:loct}",
                "входит {в o:accs}", "— часть {o:gent}", "относится к области {o}"),
    "population": ("насчитывает {o:n:житель}", "имеет население в {o:n:житель:accs}",
                   "служит домом для {o:n:житель:gent}",
                   "[дал|дала|дало] кров {o:n:житель:datv}"),
    "founded_year": ("[основан|основана|основано] в {o} году", "существует с {o} года",
                     "[возник|возникла|возникло] в {o} году", "ведёт историю с {o} года"),
    "elevation_m": ("лежит на высоте {o:n} м над уровнем моря",
                    "[расположен|расположена|расположено] на высоте {o:n:метр:gent}",
                    "поднимается на {o:n:метр:accs} над морем",
                    "стоит на высоте {o:n} метров над уровнем моря"),
}  # fmt: skip
# Said of a link's object, `{s}` the link's subject.
REVERSE: dict[str, tuple[str, ...]] = {
    "ancestor_of": ("происходит от {s:gent}", "— потомок {s:gent}", "ведёт род от {s:gent}",
                    "— [один|одна|одно] из потомков {s:gent}", "приходится потомком {s:datv}",
                    "входит в число потомков {s:gent}"),
    "descendant_of": ("— предок {s:gent}", "числит {s:accs} среди своих потомков",
                      "— [один|одна|одно] из предков {s:gent}", "приходится предком {s:datv}",
                      "входит в число предков {s:gent}"),
    "older_than": ("младше {s:gent}", "[родился|родилась|родилось] позже {s:gent}",
                   "моложе {s:gent}", "[появился|появилась|появилось] на свет позже {s:gent}",
                   "по возрасту младше {s:gent}"),
    "younger_than": ("старше {s:gent}", "[родился|родилась|родилось] раньше {s:gent}",
                     "по возрасту старше {s:gent}", "[родился|родилась|родилось] прежде {s:gent}",
                     "[появился|появилась|появилось] на свет раньше {s:gent}"),
    "neighbour_of": ("— [сосед|соседка|сосед] {s:gent}", "живёт по соседству {с s:ablt}",
                     "живёт рядом {с s:ablt}", "соседствует {с s:ablt}", "живёт бок о бок {с s:ablt}"),
    "mentor_of": ("— [ученик|ученица|ученик] {s:gent}", "учится у {s:gent}",
                  "перенимает опыт у {s:gent}",
                  "ходит в учениках у {s:gent}", "обучается у {s:gent}",
                  "приходится [учеником|ученицей|учеником] {s:datv}"),
    "apprentice_of": ("— [наставник|наставница|наставник] {s:gent}", "учит {s:accs}",
                      "наставляет {s:accs}", "обучает {s:accs}", "передаёт опыт {s:datv}"),
    "friend_of": ("дружит {с s:ablt}", "— [друг|подруга|друг] {s:gent}",
                  "водит дружбу {с s:ablt}", "[дружен|дружна|дружно] {с s:ablt}",
                  "поддерживает дружбу {с s:ablt}"),
}  # fmt: skip
# Pairs said in one predicate (see base.PAIRS): `{a}` the first fact's object, `{b}` the second's.
PAIRED: dict[str, tuple[str, ...]] = {
    "born_in+born_year": ("[родился|родилась|родилось] {в a:loct} в {b} году",
                          "[родился|родилась|родилось] в {b} году {в a:loct}",
                          "[появился|появилась|появилось] на свет {в a:loct} в {b} году",
                          "— [уроженец|уроженка|уроженец] {a:gent} {b} года рождения"),
    "lives_in+moved_year": ("[переехал|переехала|переехало] {в a:accs} в {b} году",
                            "живёт {в a:loct} с {b} года",
                            "[поселился|поселилась|поселилось] {в a:loct} в {b} году",
                            "[перебрался|перебралась|перебралось] {в a:accs} в {b} году"),
}  # fmt: skip
# A being's properties said of it: `{p}` the words agreeing with it (one, or several
# joined), `{p:ablt}` the same in the instrumental; every one says only that they hold.
HAS_PROPS = ("{p}", "от природы {p}", "по своей природе {p}", "{p} от природы",
             "по природе своей {p}", "{p} по своей сути", "по сути своей {p}", "всегда {p}",
             "является {p:ablt}", "[был|была|было] и остаётся {p:ablt}", "от рождения {p}",
             "неизменно {p}", "по праву считается {p:ablt}", "{p} по самой своей природе",
             "{p} от рождения", "по природе {p}", "{p} по природе", "с рождения {p}",
             "— существо {p:neut}", "неизменно остаётся {p:ablt}")  # fmt: skip
# ... and that one does not hold (`{p}` one property).
LACKS_PROP = ("не {p}", "вовсе не {p}", "никогда не бывает {p:ablt}", "отнюдь не {p}",
              "ничуть не {p}", "нисколько не {p}", "совсем не {p}", "не является {p:ablt}",
              "от природы не {p}", "по природе своей не {p}")  # fmt: skip
# ... that none of several holds (`{ni}`: "ни A, ни B"; `{ne}`: "не A и не B").
LACKS_PROPS = ("{ni}", "{ne}", "никогда не бывает {ni:ablt}", "не является {ni:ablt}",
               "вовсе {ne}", "от природы {ne}", "по своей природе {ne}", "отнюдь {ne}")  # fmt: skip
# A fact stated as what the reasoning after it shows.
CLAIM = ("{C}.", "{C}, и вот почему.", "Можно показать, что {c}.", "Покажем, что {c}.",
         "Заметим, что {c}.", "Как мы увидим, {c}.", "Докажем, что {c}.", "{C}; покажем почему.",
         "Нетрудно вывести, что {c}.", "Из законов мира вытекает, что {c}.",
         "{C}, и это можно доказать.", "Ниже показано, что {c}.")  # fmt: skip
# What a step concludes, led in.
THEN = ("Следовательно,", "Значит,", "Отсюда следует, что", "Поэтому", "Итак,", "Стало быть,",
        "Выходит, что", "Из этого следует, что", "Таким образом,", "А значит,", "Получаем:",
        "Тем самым", "Из этого вытекает, что", "Вывод ясен:")  # fmt: skip
OPENERS = ("По записям переписи, ", "Согласно реестру, ", "Как сказано в приходской книге, ",
           "По словам местных жителей, ", "По данным реестра, ", "В летописи отмечено, что ",
           "Как говорят знающие эту семью, ", "Как записано в городской книге, ",
           "По сведениям старосты, ", "В реестре значится, что ", "Соседи рассказывают, что ",
           "Если верить записям, ", "По данным переписи, ", "Судя по записям, ",
           "В приходских записях говорится, что ")  # fmt: skip
# A symmetric link said of both beings at once (`[...|...]`: two women, or not).
BOTH = {
    "neighbour_of": ("{pair} — [соседи|соседки]", "{pair} живут по соседству",
                     "{pair} соседствуют", "{pair} живут бок о бок", "{pair} живут рядом"),
    "friend_of": ("{pair} дружат", "{pair} — [друзья|подруги]", "{pair} водят дружбу",
                  "{pair} дружны", "Между {s:ablt} и {o:ablt} — дружба"),
}  # fmt: skip


def _has_verb(pattern: str) -> bool:
    """Whether a pattern has a finite verb: a present tense the first person knows, or
    a gendered past ("[родился|родилась]"; not "[основан|основана]", a participle)."""
    words = re.sub(r"\{[^}]*\}|<[^>]*>", " ", pattern)
    for m in re.finditer(r"\[([^\]]*)\]", words):
        forms = m.group(1).split("|")
        if len(forms) > 1 and forms[1].endswith(("ла", "лась")):
            return True
    return any(w in FIRST_PERSON for w in re.sub(r"\[[^\]]*\]", " ", words).split())


ALSO = ("{p} также {x}", "{p} к тому же {x}", "{p}, кроме того, {x}")
PRONOUN = {"masc": "он", "femn": "она", "neut": "оно"}
WHICH = {"masc": "который", "femn": "которая", "neut": "которое"}

# A predicate said by its subject ("живёт" → "живу"): the present-tense verbs the banks
# use, in the first person. Past tenses, short forms and nouns stay as they are.
FIRST_PERSON = {
    "живёт": "живу", "проживает": "проживаю", "обитает": "обитаю", "держит": "держу",
    "имеет": "имею", "работает": "работаю", "зарабатывает": "зарабатываю", "служит": "служу",
    "трудится": "тружусь", "занимается": "занимаюсь", "весит": "вешу", "тянет": "тяну",
    "говорит": "говорю", "владеет": "владею", "знает": "знаю", "изъясняется": "изъясняюсь",
    "разбирается": "разбираюсь", "приходится": "прихожусь", "стоит": "стою",
    "числит": "числю", "происходит": "происхожу", "ведёт": "веду", "относится": "отношусь",
    "принадлежит": "принадлежу", "входит": "вхожу", "является": "являюсь",
    "отличается": "отличаюсь", "соседствует": "соседствую", "наставляет": "наставляю",
    "учит": "учу", "обучает": "обучаю", "учится": "учусь", "перенимает": "перенимаю",
    "ходит": "хожу", "дружит": "дружу", "водит": "вожу", "считает": "считаю",
    "бывает": "бываю", "лежит": "лежу", "существует": "существую",
    "насчитывает": "насчитываю", "поднимается": "поднимаюсь", "остаётся": "остаюсь",
    "считается": "считаюсь", "числится": "числюсь", "значится": "значусь",
    "передаёт": "передаю", "набирается": "набираюсь", "обучается": "обучаюсь", "состоит": "состою",
    "поддерживает": "поддерживаю", "кормится": "кормлюсь",
}  # fmt: skip
VERBLESS = {p for bank in (*FORWARD.values(), *REVERSE.values(), *PAIRED.values()) for p in bank
            if not p.startswith("— ") and not _has_verb(p)}  # fmt: skip
_SLOT = re.compile(r"\{(?:(в|во|с|к|о|из|у) )?([osab])(?::([^}]*))?\}|\[([^\]]*)\]|<([^>]*)>")
_NUMBER_WORDS = re.compile(r"^\d+$")


def join_ru(items: list[str], conj: str = "и") -> str:
    """["a", "b", "c"] → "a, b и c"."""
    return join_and(list(items), conj)


def number_ru(n: str | int) -> str:
    """A number as Russian prints it: thousands apart from five digits on ("12 400",
    but "1843")."""
    v = int(n)
    if abs(v) < 10_000:
        return str(v)
    return f"{v:,}".replace(",", " ")


class RussianSay(Say):
    lang = "ru"
    _in_sentence = False
    _via_said = False
    _last_subject: str | None = None

    def __init__(self, rng: Any, world: Any = None, **options: Any):
        super().__init__(rng, world, **options)
        self.names: dict[str, str] = (world.names.get("ru", {}) if world is not None else {}) or {}
        self._verbless: set[str] = set()  # predicates without a verb ("ядовита", "старше Бриса")

    def paragraph(self, subject: str, facts: Any, **kw: Any) -> str:
        """The sentences as one text, now and then two short ones about different
        beings joined with "а" ("Грима старше Бриса, а Брис дружит с Ханной")."""
        self._subject_of: dict[str, str] = {}
        out: list[str] = []
        joined = False
        for text in self.sentences(subject, facts, **kw):
            prev = out[-1] if out else ""
            a, b = self._subject_of.get(prev), self._subject_of.get(text)
            if (not joined and a and b and a != b and _joinable(prev) and _joinable(text)
                    and not text.startswith(tuple(cap(p) for p in PRONOUN.values()))
                    and self.rng.random() < 0.4):  # fmt: skip
                lead = next((o for o in OPENERS if text.startswith(o)), None)
                rest = text[:1].lower() + text[1:] if lead else text
                both = f"{prev[:-1]}, а {rest}"
                if self._fresh(both):
                    out[-1], joined = both, True
                    continue
            out.append(text)
            joined = False
        return " ".join(out)

    def _say_once(self, subject: str, groups: list[Group]) -> str:
        text = self._say_once_(subject, groups)
        if hasattr(self, "_subject_of"):
            self._subject_of[text] = subject
        return text

    def _say_once_(self, subject: str, groups: list[Group]) -> str:
        if len(groups) == 1 and len(groups[0].facts) == 1 and groups[0].rel in BOTH:
            if self.rng.random() < 0.3:  # "Грима и Брис — соседи"
                text = self._both(groups[0].facts[0])
                if self._fresh(text):
                    self._mentioned.add(subject)
                    return text
        self._in_sentence = True
        try:
            return super()._say_once(subject, groups)
        finally:
            self._in_sentence = False

    def _both(self, fact: Triple) -> str:
        """A symmetric link said of both at once: "Грима и Брис живут по соседству"."""
        s, r, o = fact
        pair = f"{self.name(s)} и {self.name(o)}"
        women = self.gender(s) == self.gender(o) == "femn"
        text = self.pick(BOTH[r]).replace("{pair}", pair).replace("{s:ablt}", self.name(s, "ablt"))
        text = text.replace("{o:ablt}", self.name(o, "ablt"))
        return cap(re.sub(r"\[([^\]]*)\]", lambda m: m.group(1).split("|")[women], text)) + "."

    # -- names, gender, pronouns ---------------------------------------------------------

    def ru(self, ident: str, case: str = "nomn", number: str = "sing") -> str:
        """An id's Russian name in a case and number (a number stays as it is)."""
        if not self.names:  # a fictional world: names derive from the ids, cached once
            return _ru_derived(str(ident), case, number)
        ident = str(ident)
        if _NUMBER_WORDS.match(ident):
            return number_ru(ident)
        return grammar.ru(ident, self.names, case, number)

    def name(self, ident: str, case: str = "nomn") -> str:
        return self.ru(ident, case)

    def gender(self, ident: str) -> str:
        """masc | femn | neut: what a predicate about the id agrees with."""
        if not self.names:
            return _gender_derived(str(ident))
        return grammar.gender(str(ident), self.names)

    def _is_being(self, ident: str) -> bool:
        return self.world is not None and str(ident) in self.world.entity_by_id

    def pronoun(self, ident: str) -> str | None:
        """A being's pronoun where its gender is known (a fictional world's being)."""
        if self.world is None or self.world.source or not self._is_being(ident):
            return None
        return PRONOUN[self.gender(ident)]

    # -- filling patterns ----------------------------------------------------------------

    def _value(self, v: str, spec: list[str]) -> str:
        case = next((x for x in spec if x in morph.CASES), "nomn")
        number = "plur" if "plur" in spec else "sing"
        if "n" in spec:
            unit = next((x for x in spec if x not in morph.CASES and x != "n"), None)
            if unit is None:
                return number_ru(v)
            noun = morph.agree(int(v), unit, case, "real").split(" ", 1)[1]
            return f"{number_ru(v)} {noun}"
        if "adj" in spec:
            g = next((x for x in spec if x in morph.GENDERS), "masc")
            return morph.adjective(grammar.lookup(v, self.names)[0], g, "sing", case)
        return self.ru(v, case, number)

    def _fill(self, pattern: str, subject: str, **slots: Any) -> str:
        """`pattern` with its slots filled (module docstring); `subject` is what the
        bracketed words agree with, a slot's value an id or a list of ids."""
        g = self.gender(subject)

        def one(m: re.Match) -> str:
            prep, slot, spec, subj_forms, obj_forms = m.groups()
            if subj_forms is not None:
                return _by_gender(subj_forms, g)
            if obj_forms is not None:
                return _by_gender(obj_forms, self.gender(str(slots["o"])))
            value = slots[slot]
            parts = (spec or "").split(":")
            values = value if isinstance(value, (list, tuple)) else [value]
            if "lang" in parts:
                case = next((x for x in parts if x in morph.CASES), "nomn")
                adjs = [morph.adjective(grammar.lookup(v, self.names)[0], "masc", "sing", case)
                        for v in values]  # fmt: skip
                noun = morph.real_noun("язык", case, "plur" if len(values) > 1 else "sing")
                text = f"{join_ru(adjs)} {noun}"
            else:
                text = join_ru([self._value(str(v), parts) for v in values])
            return morph.prep(text, prep) if prep else text

        return _SLOT.sub(one, pattern)

    # -- facts ---------------------------------------------------------------------------

    def predicate(self, group: Group) -> str:
        facts, subj = group.facts, group.subject
        rel = group.rel
        if rel in PAIRED:
            return self._filled(self.pick(PAIRED[rel]), subj, a=facts[0][2], b=facts[1][2])
        f = facts[0]
        if f[1] in ("is", "not:is") and f[0] == subj:
            props = [x[2] for x in facts]
            via = self._via(facts) if self._in_sentence and not self._via_said else None
            if via and self.rng.random() < 0.35:
                self._via_said = True  # one "как и всякий вумпус" to a sentence
                return self._via_kind(subj, f[1], props, via)
            text = self._properties(subj, f[1], props)
            self._verbless.add(text)
            return text
        if len(facts) > 1:  # several values of one relation
            bank = FORWARD.get(f[1])
            if bank is None:
                return join_ru([self._generic(f[1], str(x[2])) for x in facts])
            return self._filled(self.pick(bank), subj, o=[x[2] for x in facts])
        if f[0] == subj:
            return self._forward(f)
        if f[2] == subj and f[1] in REVERSE:
            return self._filled(self.pick(REVERSE[f[1]]), subj, s=f[0])
        return self.clause(f)

    def _via(self, facts: list[Triple]) -> str | None:
        """The one kind whose rule gives all of these property facts (see en.py)."""
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

    def _adjs(self, subj: str, props: list[str], case: str = "nomn") -> tuple[list[str], bool]:
        """The properties as words agreeing with `subj` (short forms if every one has a
        natural one, half the time), and whether they are predicate nouns instead."""
        short = case == "nomn" and all(p in SHORT_OK for p in props) and self.rng.random() < 0.5
        out, noun = [], False
        for p in props:
            text, role = grammar.lookup(p, self.names)
            if role != "adj" and not morph.is_adjective(text):
                out.append(self.ru(p, case))  # a user world's property without a Russian adjective
                noun = True
            else:
                out.append(grammar.adj(p, subj, self.names, case, short=short))
        return out, noun

    def _properties(self, subj: str, rel: str, props: list[str]) -> str:
        if any(forms.ru_property(self.world, self.names, p) for p in props):
            return forms.ru_properties(self, subj, rel, props)
        words, noun = self._adjs(subj, props)
        if noun:  # a user world's property without a Russian adjective
            return f"— {join_ru(words)}" if rel == "is" else "не " + " и не ".join(words)
        ablt = self._adjs(subj, props, "ablt")[0]
        g = self.gender(subj)
        if rel == "is":
            pattern = self.pick(HAS_PROPS)
            if "{p:neut}" in pattern:  # "— существо ядовитое и полосатое"
                neut = join_ru([grammar.adj(p, "neut", self.names) for p in props])
                pattern = pattern.replace("{p:neut}", neut)
            return _props_said(pattern, g, join_ru(words), join_ru(ablt))
        if len(props) == 1:
            return _props_said(self.pick(LACKS_PROP), g, words[0], ablt[0])
        ne = "не " + ", не ".join(words[:-1]) + " и не " + words[-1]
        pattern = self.pick(LACKS_PROPS).replace("{ne}", ne)
        pattern = pattern.replace("{ni:ablt}", "ни " + ", ни ".join(ablt))
        return pattern.replace("{ni}", "ни " + ", ни ".join(words))

    def _via_kind(self, subj: str, rel: str, props: list[str], kind: str) -> str:
        """Properties with the kind that gives them: "ядовита, как и всякий вумпус"."""
        body = self._properties(subj, rel, props)
        k = self.ru(kind)
        every = _by_gender("всякий|всякая|всякое", self.gender(kind))
        return self.pick(f"{body}, как и {every} {k}", f"{body}, как и все {self.ru(kind, 'nomn', 'plur')}",
                         f"{body}, как и положено {self.ru(kind, 'datv')}",
                         f"{body}, поскольку относится к {self.ru(kind, 'datv', 'plur')}",
                         f"{body}, как и прочие {self.ru(kind, 'nomn', 'plur')}",
                         f"{body}, что свойственно всем {self.ru(kind, 'datv', 'plur')}",
                         f"{body}, будучи {self.ru(kind, 'ablt')}")  # fmt: skip

    def _forward(self, f: Triple) -> str:
        s, r, o = f
        if r in ("is", "not:is"):
            return self._properties(s, r, [o])
        bank = FORWARD.get(r)
        if bank is None:  # a user world's relation or attribute
            return self._generic(r, o, s)
        return self._filled(self.pick(bank), s, o=o)

    def _filled(self, pattern: str, subject: str, **slots: Any) -> str:
        """`_fill`, remembering a predicate without a verb (it leads its sentence)."""
        text = self._fill(pattern, subject, **slots)
        if pattern in VERBLESS:
            self._verbless.add(text)
        return text

    def _label(self, r: str) -> str:
        return (
            self.names.get(r)
            or forms.ru_label(self.world, r)
            or ATTRIBUTE_NOUNS_RU.get(r)
            or r.replace("_", " ")
        )

    def _generic(self, r: str, o: str, s: str | None = None) -> str:
        said = forms.ru_generic(self, r, o, s)
        if said is not None:  # a user world's relation, said with its own verb
            return said
        rel = self.world.relations.get(r) if self.world is not None else None
        if rel is not None:
            return f"связан отношением «{self._label(r)}» {morph.prep(self.ru(o, 'ablt'), 'с')}"
        return f"имеет признак «{self._label(r)}»: {self.ru(o)}"

    # -- sentences -----------------------------------------------------------------------

    def sentence(self, subject: str, preds: list[str], first: bool) -> str:
        self._via_said = False  # its predicates are made: the next sentence may say a kind
        name = self.name(subject)
        pron = self.pronoun(subject)
        if not self.fullnames and not first and pron and self._last_subject == subject:
            name = pron  # only right after a sentence about the same being
        self._last_subject = subject
        if len(preds) == 1:
            if self.rng.random() < 0.18:
                return f"{self.pick(OPENERS)}{_attach(name, preds[0], pron)}."
            return cap(_attach(name, preds[0], pron)) + "."
        nouns = [p[2:] for p in preds if p.startswith("— ")]
        verbs = [p for p in preds if not p.startswith("— ")]
        shape = self.rng.random()
        if len(preds) == 2 and pron and shape < 0.25:
            other = _attach(pron, preds[1], pron)[len(pron) + 1 :]
            also = self.pick(ALSO).format(p=pron, x=other)
            return f"{cap(_attach(name, preds[0], pron))}; {also}."
        plain = [v for v in verbs if "," not in v]
        if name == pron:  # no relative clause or apposition after a pronoun
            shape = max(shape, 0.55 + 0.1 * self.rng.random())
        if shape < 0.45 and plain:
            which = WHICH[self.gender(subject)]
            rel = plain[0]
            rest = _body(nouns, [v for v in verbs if v is not rel], self._verbless)
            return f"{cap(name)}, {which} {rel}, {rest}."
        if shape < 0.55 and len(nouns) == 1 and verbs:
            return f"{cap(name)}, {nouns[0]}, {_body([], verbs, self._verbless)}."
        if shape < 0.65:
            return (
                f"{self.pick(OPENERS)}{_attach(name, _body(nouns, verbs, self._verbless), pron)}."
            )
        return cap(_attach(name, _body(nouns, verbs, self._verbless), pron)) + "."

    # -- kinds, rules, steps -------------------------------------------------------------

    def _every(self, kind: str, word: str = "каждый") -> str:
        forms = {"каждый": "каждый|каждая|каждое", "всякий": "всякий|всякая|всякое",
                 "любой": "любой|любая|любое", "ни один": "ни один|ни одна|ни одно"}  # fmt: skip
        return f"{_by_gender(forms[word], self.gender(kind))} {self.ru(kind)}"

    def kind_clause(self, kind: str, rel: str, obj: str) -> str:
        verb = forms.ru_property(self.world, self.names, obj) if rel != "is_a" else None
        if verb:
            return forms.ru_kind_clause(self, kind, rel, obj, verb)
        if rel == "is_a":
            k_pl = self.ru(kind, "nomn", "plur")
            o_pl = lambda case: self.ru(obj, case, "plur")  # noqa: E731
            return self.pick(f"{self._every(kind)} — {self.ru(obj)}",
                             f"все {k_pl} — {o_pl('nomn')}",
                             f"{k_pl} — разновидность {o_pl('gent')}",
                             f"{self._every(kind, 'любой')} — также {self.ru(obj)}",
                             f"{self._every(kind, 'всякий')} является {self.ru(obj, 'ablt')}",
                             f"{k_pl} относятся к {o_pl('datv')}",
                             f"{self._every(kind)} принадлежит к {o_pl('datv')}",
                             f"{k_pl} — один из видов {o_pl('gent')}",
                             f"{k_pl} входят в число {o_pl('gent')}",
                             f"{k_pl} — это особый род {o_pl('gent')}",
                             f"{k_pl} — подвид {o_pl('gent')}",
                             f"{self.ru(kind)} — одна из разновидностей {o_pl('gent')}")  # fmt: skip
        return self.kind_props(kind, rel, [obj])

    def kind_props(self, kind: str, rel: str, props: list[str]) -> str:
        """What every member of a kind is (`rel` "is") or is not ("not:is"), several
        properties at once: "все лермусы полосатые и быстрые", "среди лермусов нет ни
        робких, ни громких" (a property said by a verb or a noun: one clause each)."""
        if any(forms.ru_property(self.world, self.names, p) for p in props) or any(
            grammar.lookup(p, self.names)[1] != "adj"
            and not morph.is_adjective(grammar.lookup(p, self.names)[0])
            for p in props
        ):
            return join_ru([self._kind_prop(kind, rel, p) for p in props])
        k_pl, k_gent = self.ru(kind, "nomn", "plur"), self.ru(kind, "gent", "plur")
        short = all(grammar.has_short(p) for p in props)

        def words(number: str, case: str = "nomn", short_ok: bool = True) -> list[str]:
            return [grammar.adj(p, kind, self.names, case, number, short and short_ok)
                    for p in props]  # fmt: skip

        one, full, plur = words("sing"), words("sing", short_ok=False), words("plur")
        ablt, ablt_pl = words("sing", "ablt"), words("plur", "ablt")
        gent_pl = words("plur", "gent")
        neut = [grammar.adj(p, "neut", self.names) for p in props]
        if rel == "is":
            o, f, pl = join_ru(one), join_ru(full), join_ru(plur)
            return self.pick(f"{self._every(kind)} {o}", f"все {k_pl} {pl}", f"{k_pl} {pl}",
                             f"{self._every(kind, 'любой')} {f}", f"{self._every(kind, 'всякий')} {o}",
                             f"{k_pl} всегда {pl}", f"{k_pl} {pl} без исключения",
                             f"{k_pl} {pl} от природы", f"все без исключения {k_pl} {pl}",
                             f"{self._every(kind, 'всякий')} по своей природе {o}", f"все до единого {k_pl} {pl}",
                             f"быть {self.ru(kind, 'ablt')} — значит быть {join_ru(ablt)}",
                             f"{k_pl} неизменно {pl}",
                             f"{k_pl} — существа {join_ru(words('plur', short_ok=False))}",
                             f"{self._every(kind)} — существо {join_ru(neut)}")  # fmt: skip
        none = self._every(kind, "ни один")
        if len(props) == 1:
            return self.pick(f"{none} не {one[0]}", f"{k_pl} никогда не бывают {ablt_pl[0]}",
                             f"{k_pl} не {plur[0]}", f"{none} не бывает {ablt[0]}",
                             f"ни один из {k_gent} не {one[0]}", f"среди {k_gent} нет {gent_pl[0]}",
                             f"{k_pl} по своей природе не {plur[0]}",
                             f"не бывает {gent_pl[0]} {k_gent}", f"{k_pl} вовсе не {plur[0]}",
                             f"{gent_pl[0]} {k_gent} не бывает")  # fmt: skip

        def ne(ws: list[str]) -> str:
            return "не " + ", не ".join(ws[:-1]) + " и не " + ws[-1]

        def ni(ws: list[str]) -> str:
            return "ни " + ", ни ".join(ws)

        return self.pick(f"{none} не бывает {ni(ablt)}", f"{k_pl} не бывают {ni(ablt_pl)}",
                         f"{k_pl} {ne(plur)}", f"{none} {ne(one)}", f"среди {k_gent} нет {ni(gent_pl)}",
                         f"{k_pl} никогда не бывают {ni(ablt_pl)}")  # fmt: skip

    def _kind_prop(self, kind: str, rel: str, obj: str) -> str:
        """One property of a kind's members said by a verb or a noun."""
        verb = forms.ru_property(self.world, self.names, obj)
        if verb:
            return forms.ru_kind_clause(self, kind, rel, obj, verb)
        k_pl = self.ru(kind, "nomn", "plur")
        one = grammar.pred(obj, kind, self.names, short=True).removeprefix("— ")
        plur = grammar.pred(obj, kind, self.names, number="plur", short=True).removeprefix("— ")
        if rel == "is":
            return self.pick(f"{self._every(kind)} {one}", f"все {k_pl} {plur}")
        return self.pick(f"{self._every(kind, 'ни один')} не {one}", f"{k_pl} не {plur}")

    def _rel(self, r: str, s: str, o: str) -> str:
        """A relation between two ids (or variables) in its one plain wording."""
        said = forms.ru_generic(self, r, o, s)
        if said is not None:
            return f"{self.name(s)} {said}"
        if r in FORWARD and r not in ("is", "not:is"):
            return f"{self.name(s)} {self._fill(FORWARD[r][0], s, o=o)}"
        return grammar.rel(r, s, o, self.names)

    def rule(self, rule: dict[str, Any]) -> str:
        """A world rule or a relation's algebra as a sentence."""
        prem, then = rule["if"], rule["then"]
        rels = {p[1] for p in prem} | {then[1]}
        if len(prem) == 2 and rels == {"is"}:
            return cap(self._whatever(prem[0][2], prem[1][2], then[2])) + "."
        x, y, z = "X", "Y", "Z"
        if len(prem) == 1 and then[1] == prem[0][1] and then[0] == prem[0][2]:
            r = then[1]
            return cap(self.pick(
                f"если {self._rel(r, x, y)}, то и {self._rel(r, y, x)}",
                f"отношение «{self._noun(r)}» взаимно: если {self._rel(r, x, y)}, то {self._rel(r, y, x)}",
            )) + "."  # fmt: skip
        if len(prem) == 2 and then[1] == prem[0][1] == prem[1][1]:
            r = then[1]
            xy, yz, xz = self._rel(r, x, y), self._rel(r, y, z), self._rel(r, x, z)
            return cap(self.pick(
                f"если {xy}, а {yz}, то {xz}",
                f"отношение «{self._noun(r)}» переходит по цепочке: из того, что {xy}, а {yz}, следует, что {xz}",
            )) + "."  # fmt: skip
        if len(prem) == 1 and prem[0][0] == then[2] and prem[0][2] == then[0]:
            a, b = self._rel(prem[0][1], x, y), self._rel(then[1], y, x)
            return cap(self.pick(f"если {a}, то {b}", f"{a} тогда и только тогда, когда {b}")) + "."
        parts = [self._pattern(p) for p in prem]
        return (
            cap(
                f"{self.pick('если', 'всякий раз, когда')} {join_ru(parts)}, то {self._pattern(then)}"
            )
            + "."
        )

    def _noun(self, r: str) -> str:
        nouns = {"ancestor_of": "предок", "descendant_of": "потомок", "older_than": "старше",
                 "younger_than": "младше", "neighbour_of": "сосед", "mentor_of": "наставник",
                 "apprentice_of": "ученик", "friend_of": "друг"}  # fmt: skip
        return nouns.get(r) or self._label(r)

    def _whatever(self, p1: str, p2: str, p3: str) -> str:
        """ "всякое ядовитое и полосатое существо также крылатое" (short forms, "кто ядовит
        и полосат, тот и крылат", only when all three read well short)."""

        said = forms.ru_whatever(self, p1, p2, p3)
        if said is not None:
            return said

        def a(p: str, g: str = "neut", number: str = "sing", short: bool = False) -> str:
            return grammar.adj(p, g, self.names, "nomn", number, short)

        full = [
            f"всякое {a(p1)} и {a(p2)} существо также {a(p3)}",
            f"если существо {a(p1)} и {a(p2)}, то оно и {a(p3)}",
            f"все существа, которые {a(p2, number='plur')} и {a(p1, number='plur')}, также {a(p3, number='plur')}",
        ]  # fmt: skip
        if all(grammar.has_short(p) for p in (p1, p2, p3)):
            full += [
                f"кто {a(p1, 'masc', short=True)} и {a(p2, 'masc', short=True)}, тот и {a(p3, 'masc', short=True)}",
                f"всё, что {a(p1, short=True)} и {a(p2, short=True)}, также и {a(p3, short=True)}",
            ]  # fmt: skip
        return self.pick(full)

    def _pattern(self, t: list[str]) -> str:
        s, r, o = (x.lstrip("?").upper() if x.startswith("?") else x for x in t)
        return self.clause((s, r, o))

    def step(self, st: dict[str, Any]) -> str:
        """One proof step as a sentence: what it used, which rule, what it gives; a step
        a document already gave (a longer proof repeats a shorter one's first steps) is
        worded anew where a fresh wording exists."""
        for _ in range(6):
            text = self._step(st)
            if self._fresh_sentences(text):
                return text
        return text

    def _fresh_sentences(self, text: str) -> bool:
        """Whether no sentence of `text` was said before (then they all count as said)."""
        keys = [re.sub(r"\s+", " ", p.strip().lower()) for p in re.split(r"(?<=\.)\s+", text)]
        if any(k in self._said for k in keys):
            return False
        self._said.update(keys)
        return True

    def _step(self, st: dict[str, Any]) -> str:
        d, uses, kind = st["derives"], st["uses"], st["kind"]
        got = self.clause(tuple(d))
        if kind == "taxonomy":
            k, parent = uses[0][2], d[2]
            given, kc = self.clause(tuple(uses[0])), self.kind_clause(k, "is_a", parent)
            then = self.pick(THEN)
            return self.pick(f"Поскольку {given}, а {kc}, {got}.",
                             f"{cap(given)}; {kc}, так что {got}.",
                             f"{cap(given)}, а {kc}. {then} {got}.",
                             f"Так как {kc}, а {given}, {got}.")  # fmt: skip
        if kind in ("property", "negative"):
            k = uses[0][2]
            kc = self.kind_clause(k, "is" if kind == "property" else "not:is", d[2])
            given = self.clause(tuple(uses[0]))
            then = self.pick(THEN)
            so = self.pick("так что", "а потому", "поэтому", "значит")
            return self.pick(f"{cap(given)}, а {kc}. {then} {got}.",
                             f"Поскольку {given}, а {kc}, {got}.",
                             f"{cap(kc)}, а {given}. {then} {got}.",
                             f"{cap(given)}. {cap(kc)}. {then} {got}.",
                             f"Так как {kc}, а {given}, {got}.",
                             f"{cap(kc)}; {given}, {so} {got}.",
                             f"{cap(given)}, и раз {kc}, то {got}.")  # fmt: skip
        if kind == "transitive":
            a, b = (self.clause(tuple(u)) for u in uses)
            how = self.pick("следуя по цепочке, получаем:", "значит, по транзитивности,",
                            "соединяя одно с другим, видим, что")  # fmt: skip
            return f"{cap(a)}, а {b}; {how} {got}."
        if kind in ("inverse", "symmetric"):
            given = self.clause(tuple(uses[0]))
            if kind == "inverse":
                return self.pick(f"Поскольку {given}, отсюда следует, что {got}.",
                                 f"{cap(given)}, а это всё равно что сказать: {got}.")  # fmt: skip
            both = self.pick("и это верно в обе стороны", "а значит, и наоборот")
            return f"{cap(given)}, {both}: {got}."
        used = join_ru([self.clause(tuple(u)) for u in uses])
        return self.pick(f"Мы знаем, что {used}; по одному из правил мира {got}.",
                         f"Поскольку {used}, правило мира даёт: {got}.")  # fmt: skip

    def claim(self, fact: Any) -> str:
        """A fact a document goes on to show, as a sentence that says so (in words not
        said before in the document)."""

        def make() -> str:
            c = self.clause(tuple(fact))
            return self.pick(CLAIM).replace("{C}", cap(c)).replace("{c}", c)

        return self.fresh(make)

    # -- answers -------------------------------------------------------------------------

    VERDICTS = {
        "true": ("{V} — {c}.", "{V}, {c}.", "{V}; {c}.", "{V}. Так и есть: {c}."),
        "false": ("{V} — ничто известное не говорит, что {c}.",
                  "{V} — нет записи о том, что {c}.", "{V}, ведь ничто не показывает, что {c}.",
                  "{V}; неизвестно ничего, из чего следовало бы, что {c}.",
                  "{V}. Ни одна запись не говорит, что {c}."),
        "not": ("{V} — {c}.", "{V}, {c}.", "{V}; {c}.", "{V}. На деле {c}.", "{V}. Напротив: {c}."),
        "unknown": ("{V} — факты не решают, верно ли, что {c}.",
                    "{V}; остаётся открытым, верно ли, что {c}.",
                    "{V}, ведь неизвестно, верно ли, что {c}.",
                    "{V}; из известного не следует ни того, что {c}, ни обратного."),
    }  # fmt: skip

    def answer_word(self, a: str) -> str:
        return {"true": "Да", "false": "Нет", "unknown": "Неизвестно"}.get(a, a)

    def answer_line(self, value: str) -> str:
        """The line that states a sample's answer, as the answer filter reads it."""
        return self.pick("Ответ: ", "Ответ: ", "Итоговый ответ: ", "**Ответ:** ") + value

    def number(self, n: str | int) -> str:
        return number_ru(n)


@lru_cache(maxsize=262144)
def _ru_derived(ident: str, case: str, number: str) -> str:
    if _NUMBER_WORDS.match(ident):
        return number_ru(ident)
    return grammar.ru(ident, {}, case, number)


@lru_cache(maxsize=262144)
def _gender_derived(ident: str) -> str:
    return grammar.gender(ident, {})


def _props_said(pattern: str, g: str, words: str, ablt: str) -> str:
    """A property pattern filled: `{p}` the words, `{p:ablt}` in the instrumental,
    `[был|была|было]` agreeing with the subject's gender `g`."""
    pattern = re.sub(r"\[([^\]]*)\]", lambda m: _by_gender(m.group(1), g), pattern)
    return pattern.replace("{p:ablt}", ablt).replace("{p}", words)


def _joinable(text: str) -> bool:
    """A short sentence of one clause: one that may join another with "а"."""
    body = text[:-1]
    return (
        text.endswith(".")
        and not any(c in body for c in ".;:?!—")
        and ", а " not in body
        and len(text.split()) <= 9
    )


def _by_gender(forms: str, g: str) -> str:
    opts = forms.split("|")
    i = {"masc": 0, "femn": 1, "neut": 2}.get(g, 0)
    return opts[i] if i < len(opts) else opts[0]


def _attach(name: str, pred: str, pron: str | None) -> str:
    """Subject and predicate: "Грима — вумпус", but "она вумпус" (no dash after a
    pronoun)."""
    if pred.startswith("— ") and name in PRONOUN.values():
        return f"{name} {pred[2:]}"
    return f"{name} {pred}"


def _complex(pred: str) -> bool:
    return " и " in pred or "," in pred


def _body(nouns: list[str], verbs: list[str], adjectival: set[str] = frozenset()) -> str:
    """Predicates of one subject as one: predicate nouns first after a dash, then the
    properties ("ядовита и полосата"), then the verbs, a predicate with a comma of its
    own last; where a neighbour has its own "и", the last joins with "а также"
    ("ядовита и полосата, живёт во Вролморе и работает мельником")."""
    tail = ""
    if verbs:
        props = [v for v in verbs if v in adjectival]
        plain = [v for v in verbs if v not in adjectival and "," not in v]
        order = props + plain + [v for v in verbs if v not in adjectival and "," in v]
        if len(order) == 1:
            tail = order[0]
        else:
            last = ", а также " if _complex(order[-1]) or _complex(order[-2]) else " и "
            tail = ", ".join(order[:-1]) + last + order[-1]
    if not nouns:
        return tail
    head = "— " + join_ru(nouns)
    return f"{head}, {tail}" if tail else head


# -- questions, blanks, the first person ----------------------------------------------------

# A question whose answer is the fact's object: `{s}` the subject (declined like a slot).
ASK: dict[str, tuple[str, ...]] = {
    "is_a": ("К какому виду относится {s}?", "Кто [такой|такая|такое] {s}?",
             "Что за существо {s}?", "К каким существам принадлежит {s}?"),
    "colour": ("Какого цвета {s}?", "Какой окраски {s}?", "Каков окрас {s:gent}?"),
    "lives_in": ("Где живёт {s}?", "Где находится дом {s:gent}?", "В каком месте проживает {s}?"),
    "works_as": ("Кем работает {s}?", "Каково ремесло {s:gent}?", "Какая профессия у {s:gent}?"),
    "born_in": ("Где [родился|родилась|родилось] {s}?", "Откуда родом {s}?",
                "Какое место — родина {s:gent}?"),
    "born_year": ("Когда [родился|родилась|родилось] {s}?",
                  "В каком году [родился|родилась|родилось] {s}?", "Какой год рождения у {s:gent}?"),
    "moved_year": ("В каком году {s} [переехал|переехала|переехало] на новое место?",
                   "Когда {s} [сменил|сменила|сменило] место жительства?"),
    "height_cm": ("Каков рост {s:gent} в сантиметрах?", "Какого роста {s}, в сантиметрах?"),
    "weight_kg": ("Сколько весит {s}, в килограммах?", "Каков вес {s:gent} в килограммах?"),
    "speaks": ("Назовите язык, на котором говорит {s}.", "Какой язык знает {s}?"),
    "skilled_in": ("Назовите ремесло, которым владеет {s}.", "Какое ремесло знает {s}?"),
    "ancestor_of": ("Назовите потомка {s:gent}.", "Чей предок {s}?"),
    "descendant_of": ("Назовите предка {s:gent}.", "От кого происходит {s}?"),
    "older_than": ("Назовите того, кто младше {s:gent}.", "Кто родился позже {s:gent}?"),
    "younger_than": ("Назовите того, кто старше {s:gent}.", "Кто родился раньше {s:gent}?"),
    "neighbour_of": ("Кто живёт по соседству {с s:ablt}?", "С кем соседствует {s}?"),
    "mentor_of": ("Кого наставляет {s}?", "Кто учится у {s:gent}?"),
    "apprentice_of": ("У кого учится {s}?", "Кто наставляет {s:accs}?"),
    "friend_of": ("С кем дружит {s}?", "С кем водит дружбу {s}?"),
    "lies_in": ("В какой области лежит {s}?", "Частью какой области является {s}?"),
    "population": ("Сколько жителей насчитывает {s}?", "Каково население {s:gent}?"),
    "founded_year": ("Когда [был основан|была основана|было основано] {s}?",
                     "В каком году [возник|возникла|возникло] {s}?"),
    "elevation_m": ("На какой высоте над уровнем моря лежит {s}, в метрах?",
                    "Какова высота {s:gent} над уровнем моря?"),
}  # fmt: skip
ASK_MANY = {
    "speaks": ("Какие языки знает {s}?", "Назовите языки, на которых говорит {s}.",
               "На каких языках говорит {s}?", "Какими языками владеет {s}?"),
    "skilled_in": ("Какими ремёслами владеет {s}?", "Назовите ремёсла, которыми владеет {s}.",
                   "В каких ремёслах [сведущ|сведуща|сведуще] {s}?", "Какие ремёсла знает {s}?"),
}  # fmt: skip
UNITS = {"height_cm": "см", "weight_kg": "кг", "elevation_m": "м"}
# A being's traits asked at once (the answer states them).
ASK_TRAITS = ("Какими свойствами обладает {s}?", "Что можно сказать о природе {s:gent}?",
              "Опишите природу {s:gent}.", "[Каков|Какова|Каково] {s} по своей природе?",
              "Что известно о свойствах {s:gent}?", "Какие черты присущи {s:datv}, а какие нет?",
              "Опишите {s:accs}: каковы [его|её|его] свойства?",
              "Что за нрав и облик у {s:gent}?")  # fmt: skip
# Whether one property holds, asked (`{p}` agreeing with the being, `{p:ablt}`).
ASK_PROP = ("Верно ли, что {s} {p}?", "{P} ли {s}?", "Правда ли, что {s} {p}?",
            "Можно ли сказать, что {s} {p}?", "Является ли {s} {p:ablt}?",
            "Да или нет: {s} {p}?", "Скажите, {p} ли {s}?", "Так ли, что {s} {p}?")  # fmt: skip
# Said before a question (its first letter then lower case); never before "Назовите".
ASK_LEAD = ("", "", "", "", "Скажите, ", "А знаете ли вы, ", "Ещё вопрос: ", "Интересно, ",
            "Помните ли вы, ", "Попробуйте ответить: ")  # fmt: skip


def _first_person(pred: str) -> str:
    """A predicate said by its subject: "живёт во Вролморе" → "живу во Вролморе"."""
    words = pred.removeprefix("— ").split(" ")
    return " ".join(FIRST_PERSON.get(w, w) for w in words)


def _short_answer(self: RussianSay, r: str, values: list[str]) -> str:
    """What answers a question about these values, in the nominative: "ардский и
    сутский языки", "ткачество и резьба", "172 см"."""
    if r == "speaks":
        adjs = [self.ru(v) for v in values]
        return f"{join_ru(adjs)} {'языки' if len(values) > 1 else 'язык'}"
    if r in UNITS:
        return f"{number_ru(values[0])} {UNITS[r]}"
    return join_ru([self.ru(v) for v in values])


def _ask(self: RussianSay, fact: Triple) -> tuple[str, str]:
    """(a question whose answer is the fact's object, that answer); a property is asked
    as yes or no."""
    s, r, o = (str(x) for x in fact)
    if r in ("is", "not:is"):
        adj = grammar.pred(o, s, self.names, short=True).removeprefix("— ")
        text, role = grammar.lookup(o, self.names)
        if o in grammar.STATES_RU or (role != "adj" and not morph.is_adjective(text)):
            q = self.pick(f"Верно ли, что {self.name(s)} {adj}?", f"{cap(adj)} ли {self.name(s)}?")
        else:
            ablt = grammar.adj(o, s, self.names, "ablt")
            q = self.pick(ASK_PROP).replace("{p:ablt}", ablt).replace("{P}", cap(adj))
            q = q.replace("{p}", adj).replace("{s}", self.name(s))
        return q, "Да" if r == "is" else "Нет"
    bank = ASK.get(r)
    if bank is None:
        q = forms.ru_ask_relation(self, (s, r, o))
        if q is not None:
            return q, self.ru(o)
        return f"Каков признак «{self._label(r)}» у {self.ru(s, 'gent')}?", self.ru(o)
    q = self._fill(self.pick(bank), s, s=s)
    lead = self.pick(ASK_LEAD) if not q.startswith("Назовите") else ""
    if lead:
        q = lead + q[:1].lower() + q[1:]
    return q, _short_answer(self, r, [o])


def _blank(self: RussianSay, fact: Triple, gap: str = "____") -> tuple[str, str]:
    """(the fact as a sentence with its object left out, the object in the form the gap
    needs)."""
    s, r, o = (str(x) for x in fact)
    text = self.clause((s, r, o))
    m = self._last_form(text, o)
    if m is None:
        return cap(text) + ".", self.ru(o)
    return cap(text[: m.start()] + gap + text[m.end() :]) + ".", m.group(0)


def _last_form(self: RussianSay, text: str, ident: str) -> re.Match | None:
    """The last place `text` writes the id, in any of its forms."""
    if _NUMBER_WORDS.match(ident):
        pattern = _forms_re(ident, ident, "ru")
    else:
        name, role = grammar.lookup(ident, self.names)
        pattern = _forms_re(ident, name, grammar.morph_role(ident, role, self.names))
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


@lru_cache(maxsize=65536)
def _forms_re(ident: str, name: str, mrole: str) -> re.Pattern:
    """Every written form of an id (its cases and numbers; an adjective's genders and
    short forms; a number's spellings), longest first, as one pattern."""
    if _NUMBER_WORDS.match(ident):
        out = {number_ru(ident), ident}
    else:
        out = {morph.inflect(name, c, n, mrole) for c in morph.CASES for n in morph.NUMBERS}
        if role_of(ident) == "adj" or morph.is_adjective(name):
            for g in morph.GENDERS:
                out |= {morph.adjective(name, g, "sing", c) for c in morph.CASES}
                out.add(morph.adjective(name, g, "sing", short=True))
            out.add(morph.adjective(name, "masc", "plur", short=True))
    alts = "|".join(re.escape(f) for f in sorted(out, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alts})(?![\w-])")


def _said_by(self: RussianSay, subject: str, facts: list) -> list[str]:
    """The facts as the subject says them, one to three to a sentence: "Я живу во
    Вролморе и работаю мельником." """
    out = []
    groups = self.groups(subject, facts)
    self.rng.shuffle(groups)
    said = _by_gender("говорил|говорила|говорило", self.gender(subject))
    i = 0
    while i < len(groups):
        n = min(len(groups) - i, self._pack_size(3))
        preds = [self.predicate(g) for g in groups[i : i + n]]
        nouns = [forms.ru_mine(self, _first_person(p)) for p in preds if p.startswith("— ")]
        preds = [forms.ru_mine(self, _first_person(p)) for p in preds if not p.startswith("— ")]
        i += n
        lead = (
            self.once("Что ж, ", "Скажу так: ", "Если коротко, ", "Конечно, ")
            if self.rng.random() < 0.3
            else ""
        )
        body = _body(nouns, preds, {_first_person(p) for p in self._verbless})
        body = body.removeprefix("— ")  # "я трилбел", no dash after a pronoun
        text = f"{lead}{'я' if lead else 'Я'} {body}."
        if self._fresh(text):
            out.append(text)
        else:
            out.append(f"Я {body}, как я уже {said}.")
    return out


def _questions(self: RussianSay, facts: list) -> list[tuple[str, str, list]]:
    """(question, short answer, the facts it asks about) for every fact, the values of
    a multi-valued relation asked together; no question twice."""
    out = []
    seen: set[tuple[str, str]] = set()
    for f in facts:
        s, r = str(f[0]), str(f[1])
        group = [f]
        if r in ("is", "not:is"):  # a being's traits: one question, the answer states them
            if (s, "is") in seen:
                continue
            seen.add((s, "is"))
            group = [g for g in facts if str(g[0]) == s and str(g[1]) in ("is", "not:is")]
            if len(group) > 1:
                q = self._fill(self.pick(ASK_TRAITS), s, s=s)
                self._fresh(q)
                out.append((q, self.paragraph(s, group), [list(g) for g in group]))
                continue
        if r in ASK_MANY:
            if (s, r) in seen:
                continue
            seen.add((s, r))
            group = [g for g in facts if str(g[0]) == s and str(g[1]) == r]
        if len(group) > 1:
            q = self._fill(self.pick(ASK_MANY[r]), s, s=s)
            a = _short_answer(self, r, [str(g[2]) for g in group])
        else:
            for _ in range(8):  # a question not asked before, whatever its lead-in
                q, a = self.ask(f)
                lead = next((x for x in ASK_LEAD if x and q.startswith(x)), "")
                if self._fresh(cap(q[len(lead) :])):
                    break
            else:  # a second mentor, a third friend: asked as yes or no, with its object
                q, a = f"Верно ли, что {self.clause(tuple(str(x) for x in f))}?", "Да"
                self._fresh(q)
        out.append((q, a, [list(g) for g in group]))
    return out


def _blanks(self: RussianSay, facts: list, gap: str = "____") -> list[tuple[str, str]]:
    """(a sentence with a gap, what fills it) for every fact: a subject's properties
    share one sentence with a gap each, its kind is asked as the kind's name."""
    out = []
    props: dict[tuple[str, str], list[str]] = {}
    for f in facts:
        s, r, o = (str(x) for x in f)
        gapped = forms.ru_gap(self, o, r == "is") if r in ("is", "not:is") else None
        if gapped is not None:  # a verb: a gap of its own ("Пингу не ____." — летает)
            out.append((" ".join(x for x in (self.name(s), gapped[0], gap) if x) + ".", gapped[1]))
        elif r in ("is", "not:is"):
            props.setdefault((s, r), []).append(o)
        elif r == "is_a":
            lead = self.pick(f"По виду {self.name(s)} — {gap}.", f"{self.name(s)} — {gap} по виду.")
            out.append((lead, self.ru(o)))
        else:
            for _ in range(6):  # a second language or craft: another wording of its gap
                sentence, answer = self.blank((s, r, o), gap)
                if sentence not in [x[0] for x in out]:
                    break
            out.append((sentence, answer))
    for (s, r), values in props.items():
        for i in range(0, len(values), 3):
            chunk = values[i : i + 3]
            words = self._adjs(s, chunk)[0]
            lead = ("", "также ", "к тому же ")[min(i // 3, 2)]
            if r == "is":
                sentence = f"{self.name(s)} {lead}{join_ru([gap] * len(chunk))}."
                answer = join_ru(words)
            elif len(chunk) == 1:
                sentence = f"{self.name(s)} {lead}не {gap}."
                answer = words[0]
            else:
                sentence = f"{self.name(s)} {lead}ни {', ни '.join([gap] * len(chunk))}."
                answer = ", ".join(words)
            out.append((sentence, answer))
    fresh = []
    for sentence, answer in out:  # no gap sentence twice: mark a repeated wording
        if not self._fresh(sentence):
            sentence = sentence[:-1] + f" ({self.pick('ещё раз', 'снова', 'ещё один факт')})."
        fresh.append((sentence, answer))
    self.rng.shuffle(fresh)
    return fresh


def _property_pred(
    self: RussianSay, prop: str, holds: bool = True, many: bool = False, subject: str | None = None
) -> str:
    """A property said of `subject` (a kind, or a being) without it, agreeing with it:
    "ядовиты", "плавает", "не летают" (`many`: of several)."""
    number = "plur" if many else "sing"
    said = grammar.pred(prop, subject or "X", self.names, not holds, number, short=True)
    return said.replace("— ", "")


def _ask_property(self: RussianSay, subject: str, prop: str) -> str:
    """Whether a property holds of a being, asked: "Плавает ли Пингу?"."""
    n, p = self.name(subject), _property_pred(self, prop, subject=subject)
    return self.pick(f"{cap(p)} ли {n}?", f"Да, нет или неизвестно: {n} {p}.",
                     f"Исходя из известного, {p} ли {n}?", f"Следует ли из известного, что {n} {p}?",
                     f"Верно ли, что {n} {p}?", f"Можно ли сказать, что {n} {p}?",
                     f"Вытекает ли из известных фактов, что {n} {p}?", f"Судя по фактам, {p} ли {n}?",
                     f"Определите, {p} ли {n}.", f"Можно ли вывести, что {n} {p}?",
                     f"{cap(p)} ли {n}? Ответьте «да», «нет» или «неизвестно».",
                     f"Правда ли, что {n} {p}, или это неизвестно?")  # fmt: skip


def _inherited(self: RussianSay, kind: str, via: str, prop: str, holds: bool) -> str:
    """A property a kind takes from a wider kind, as a sentence."""
    every = _by_gender("всякий|всякая|всякое", self.gender(via))
    one = _property_pred(self, prop, holds, subject=kind)
    many = _property_pred(self, prop, holds, True, subject=kind)
    ks, vs = self.ru(kind, "nomn", "plur"), self.ru(via, "nomn", "plur")
    return self.pick(f"Как и {every} {self.ru(via)}, {self.ru(kind)} {one}.",
                     f"Будучи {self.ru(via, 'ablt', 'plur')}, {ks} тоже {many}.",
                     f"Как и все {vs}, {ks} {many}.", f"{cap(ks)} {many}, как и все {vs}.",
                     f"{cap(self._every(kind))} {one}, поскольку относится к {self.ru(via, 'datv', 'plur')}.")  # fmt: skip


# What a kind takes from a wider one, several properties at once: a subject (one member,
# every member, the kind), what they are (`{p}`) and the reason, before or after it
# (`{v}`, `{vs}`: the wider kind, in the case the slot names).
INHERIT_WHO = {"one": ("{каждый k}", "{всякий k}", "{любой k}", "{k}"),
               "many": ("{ks}", "все {ks}", "{ks} все до одного")}  # fmt: skip
NOT_INHERIT_WHO = {"one": ("{k}", "ни один {k}"), "many": ("{ks}", "{ks} все до одного")}
INHERIT_WHY = {
    ("one", "front"): ("Как и {всякий v}", "Как и {любой v}", "Будучи {v:ablt}",
                       "Подобно {всякий v:datv}", "Как {v}"),
    ("many", "front"): ("Как и все {vs}", "Как и прочие {vs}", "Будучи {vs:ablt}",
                        "Подобно всем {vs:datv}", "Как и остальные {vs}"),
    ("one", "back"): ("как и {всякий v}", "поскольку [он|она|оно] — {v}", "ведь [он|она|оно] — {v}",
                      "так как относится к {vs:datv}", "будучи {v:ablt}", "как и положено {v:datv}"),
    ("many", "back"): ("как и все {vs}", "поскольку они — {vs}", "ведь они {vs}",
                       "так как относятся к {vs:datv}", "будучи {vs:ablt}",
                       "как и положено {vs:datv}"),
}  # fmt: skip
INHERIT_WHOLE = (
    "Что верно для {vs:gent}, верно и для {ks:gent}: они {p}.",
    "Раз {vs} {p}, то и {ks} {p}.",
    "{Ks} унаследовали от {vs:gent} то, что они {p}.",
    "{Ks} — это {vs}, а значит, они {p}.",
)


def _inherit_sentence(self: RussianSay, kind: str, via: str, props: list[str], holds: bool) -> str:
    """One sentence for `_inherited_all`: the properties `via` gives `kind` (or denies it)."""
    g = self.gender(kind)
    short = all(p in SHORT_OK for p in props) and self.rng.random() < 0.6

    def said(number: str, case: str = "nomn") -> str:
        words = [grammar.adj(p, kind, self.names, case, number, short and case == "nomn")
                 for p in props]  # fmt: skip
        if holds:
            return join_ru(words)
        if len(words) == 1:
            return "не " + words[0]
        return self.pick("ни " + ", ни ".join(words),
                         "не " + ", не ".join(words[:-1]) + " и не " + words[-1])  # fmt: skip

    def said_ne(number: str) -> str:
        words = [grammar.adj(p, kind, self.names, "nomn", number, short) for p in props]
        if len(words) == 1:
            return "не " + words[0]
        return "не " + ", не ".join(words[:-1]) + " и не " + words[-1]

    def pred(number: str) -> str:
        if not holds and self.rng.random() < 0.3:
            verb = "бывает" if number == "sing" else "бывают"
            ablt = [grammar.adj(p, kind, self.names, "ablt", number) for p in props]
            ni = ablt[0] if len(ablt) == 1 else "ни " + ", ни ".join(ablt)
            return f"никогда не {verb} {ni}"
        return said(number)

    slots = {
        "ни один {k}": self._every(kind, "ни один"),
        "{всякий v:datv}": _by_gender("всякому|всякой|всякому", self.gender(via)) + " "
        + self.ru(via, "datv"),
        "{каждый k}": self._every(kind), "{всякий k}": self._every(kind, "всякий"),
        "{любой k}": self._every(kind, "любой"), "{всякий v}": self._every(via, "всякий"),
        "{любой v}": self._every(via, "любой"), "{Ks}": cap(self.ru(kind, "nomn", "plur")),
        "{ks:gent}": self.ru(kind, "gent", "plur"), "{ks}": self.ru(kind, "nomn", "plur"),
        "{k}": self.ru(kind), "{vs:gent}": self.ru(via, "gent", "plur"),
        "{vs:datv}": self.ru(via, "datv", "plur"), "{vs:ablt}": self.ru(via, "ablt", "plur"),
        "{vs}": self.ru(via, "nomn", "plur"), "{v:ablt}": self.ru(via, "ablt"),
        "{v:datv}": self.ru(via, "datv"), "{v}": self.ru(via),
    }  # fmt: skip
    if self.rng.random() < 0.15:
        pattern = self.pick(INHERIT_WHOLE).replace("{p}", pred("plur"))
    else:
        n, where = self.pick("one", "many"), self.pick("front", "back")
        who = self.pick(INHERIT_WHO[n] if holds else NOT_INHERIT_WHO[n])
        why = self.pick(INHERIT_WHY[(n, where)])
        also = self.pick("", "", "тоже ", "также ") if where == "front" else ""
        if who.startswith("ни один"):  # "ни один лермус не ...": a "не" after it
            body = said_ne("sing") if self.rng.random() < 0.6 else pred("sing")
            body = body.replace("никогда не", "не", 1) if body.startswith("ни ") else body
        else:
            body = also + pred("sing" if n == "one" else "plur")
        pattern = f"{why}, {who} {body}." if where == "front" else f"{who} {body}, {why}."
        pattern = re.sub(r"\[([^\]]*)\]", lambda m: _by_gender(m.group(1), g), pattern)
    for key, value in slots.items():
        pattern = pattern.replace(key, value)
    return cap(pattern)


def _inherited_all(self: RussianSay, kind: str, props: list[dict[str, Any]]) -> list[str]:
    """What a kind takes from wider kinds, as sentences: the properties one wider kind
    gives (or denies) said together, one sentence to each such set (a property said by
    a verb or a noun, on its own)."""
    sets: dict[tuple[str, bool], list[str]] = {}
    out = []
    for p in props:
        name = p["name"]
        text, role = grammar.lookup(name, self.names)
        adjective = (role == "adj" or morph.is_adjective(text)) and not forms.ru_property(
            self.world, self.names, name
        )
        if not adjective or name in grammar.STATES_RU:
            out.append(self.inherited(kind, p["via"], name, p["holds"]))
        else:
            sets.setdefault((p["via"], bool(p["holds"])), []).append(name)
    for (via, holds), names in sets.items():
        out.append(
            self.fresh(lambda v=via, h=holds, ns=names: _inherit_sentence(self, kind, v, ns, h))
        )
    return out


RussianSay.ask = _ask
RussianSay.inherited_all = _inherited_all
RussianSay.property_pred = _property_pred
RussianSay.ask_property = _ask_property
RussianSay.inherited = _inherited
RussianSay.blank = _blank
RussianSay.said_by = _said_by
RussianSay.questions = _questions
RussianSay.blanks = _blanks
RussianSay._last_form = _last_form
