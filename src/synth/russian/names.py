"""Russian surface names for a world: Cyrillic nonce names and translated real words.

Ids stay language-neutral (Latin nonce ids for kinds, people and places; English words
for properties, colours, trades and states). A nonce id's Russian name is derived from
the id alone — a transliteration whose ending is replaced by one that declines
regularly — so the same id reads the same in every process, with or without a world
(the structural tier has none). Real words come from the tables below.

Endings are chosen so `synth.russian.morph` can decline them by rule:
  kinds    masculine, hard consonant: -пус, -мус, -ракс, -никс, -дор, -бел, -тум, ...
  people   first names masculine in a consonant (-он, -ен, -ис, -ан, -ор, soft -ель) or
           feminine in -а/-я/-ия; surnames in -ов/-ин (-ова/-ина for women), never an
           indeclinable ending (-енко, -о)
  places   -мора (feminine), or masculine in a hard consonant (-град, -дол, -хольм, ...)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from synth.russian import morph
from synth.vocab import COLOURS, JOBS, PROPERTIES

# -- real words ------------------------------------------------------------------------

PROPERTIES_RU = {
    "luminous": "светящийся", "opaque": "непрозрачный", "brittle": "хрупкий",
    "fragrant": "душистый", "venomous": "ядовитый", "nocturnal": "ночной",
    "aquatic": "водяной", "metallic": "металлический", "hollow": "полый",
    "striped": "полосатый", "winged": "крылатый", "sour": "кислый", "bitter": "горький",
    "feathered": "пернатый", "translucent": "полупрозрачный", "magnetic": "магнитный",
    "slow": "медлительный", "swift": "быстрый", "heavy": "тяжёлый", "fierce": "свирепый",
    "shy": "робкий", "loud": "громкий", "spotted": "пятнистый", "wooden": "деревянный",
    "sticky": "липкий", "cold": "холодный", "warm": "тёплый", "bright": "яркий",
    "dull": "тусклый", "spiny": "колючий", "smooth": "гладкий", "hairy": "мохнатый",
    "tiny": "крошечный", "huge": "огромный", "gentle": "кроткий", "rare": "редкий",
}  # fmt: skip
COLOURS_RU = {
    "amber": "янтарный", "teal": "бирюзовый", "crimson": "багровый", "ochre": "охристый",
    "violet": "фиолетовый", "silver": "серебристый", "indigo": "индиговый",
    "olive": "оливковый", "scarlet": "алый", "ivory": "кремовый", "cobalt": "кобальтовый",
    "saffron": "шафрановый",
}  # fmt: skip
JOBS_RU = {
    "weaver": "ткач", "miller": "мельник", "potter": "гончар", "scribe": "писец",
    "herbalist": "травник", "smith": "кузнец", "baker": "пекарь",
    "cartographer": "картограф", "glassblower": "стеклодув", "beekeeper": "пасечник",
    "tanner": "кожевник", "astronomer": "астроном",
}  # fmt: skip
WORLD_COLOURS_RU = {
    "copper": "медный", "jade": "нефритовый", "slate": "сланцевый", "rust": "ржавый",
    "plum": "сливовый", "sable": "соболиный", "russet": "рыжеватый", "pearl": "жемчужный",
    "umber": "умбристый", "azure": "лазурный", "moss": "моховой", "coral": "коралловый",
}  # fmt: skip
WORLD_JOBS_RU = {
    "carpenter": "плотник", "mason": "каменщик", "fisher": "рыбак", "shepherd": "пастух",
    "brewer": "пивовар", "cooper": "бондарь", "chandler": "свечник", "tailor": "портной",
    "cobbler": "сапожник", "jeweller": "ювелир", "locksmith": "слесарь", "ferryman": "паромщик",
    "lamplighter": "фонарщик", "bookbinder": "переплётчик", "dyer": "красильщик",
    "saddler": "шорник", "falconer": "сокольник", "gardener": "садовник", "healer": "лекарь",
    "midwife": "повитуха", "innkeeper": "трактирщик", "merchant": "купец", "sailor": "моряк",
    "surveyor": "землемер", "clockmaker": "часовщик", "engraver": "гравёр", "painter": "художник",
    "musician": "музыкант", "teacher": "учитель", "archivist": "архивариус", "courier": "гонец",
    "miner": "рудокоп", "forester": "лесничий", "vintner": "винодел", "cheesemaker": "сыровар",
    "ropemaker": "канатчик",
}  # fmt: skip
# Crafts as nouns (singular, declined by pymorphy3): "владеет ткачеством".
CRAFTS_RU = {
    "weaving": "ткачество", "carving": "резьба", "singing": "пение", "fishing": "рыболовство",
    "hunting": "охота", "sailing": "мореходство", "brewing": "пивоварение",
    "embroidery": "вышивка", "calligraphy": "каллиграфия", "herbalism": "травничество",
    "navigation": "навигация", "medicine": "медицина", "cartography": "картография",
    "poetry": "поэзия", "music": "музыка", "painting": "живопись", "sculpture": "скульптура",
    "carpentry": "плотничество", "beekeeping": "пчеловодство", "glassmaking": "стеклоделие",
    "cooking": "кулинария", "gardening": "садоводство", "mathematics": "математика",
    "diplomacy": "дипломатия", "fencing": "фехтование", "swimming": "плавание",
    "climbing": "скалолазание", "juggling": "жонглирование", "astronomy": "астрономия",
    "pottery": "гончарство",
}  # fmt: skip
# Languages as adjectives agreeing with "язык": "говорит на ардском языке".
LANGUAGES_RU = {
    "Ardic": "ардский", "Velmish": "вельмишский", "Orandi": "орандский", "Sutic": "сутский",
    "Kaveric": "каверский", "Telmish": "тельмишский", "Brondic": "брондский",
    "Ulvic": "ульвский", "Marevic": "маревский", "Dostic": "достский", "Gelric": "гельрский",
    "Pashic": "пашский", "Noric": "норский", "Zelvic": "зельвский", "Irandic": "ирандский",
    "Hobric": "хобрский", "Salvic": "сальвский", "Tundic": "тундский", "Rovic": "ровский",
    "Fenric": "фенрский", "Alvish": "альвишский", "Dravic": "дравский", "Lurish": "лурский",
    "Kelmic": "кельмский",
}  # fmt: skip
# Objects of the propositional puzzles ("the bell is ringing"); no plural-only nouns
# (часы, ворота), whose predicates would not agree in the singular.
THINGS_RU = {
    "bell": "колокол", "gate": "калитка", "lamp": "лампа", "kettle": "чайник",
    "drum": "барабан", "mill wheel": "мельничное колесо", "signal flag": "сигнальный флаг",
    "furnace": "печь", "fountain": "фонтан", "clock": "будильник", "shutter": "ставня",
    "horn": "горн", "valve": "клапан", "lantern": "фонарь", "loom": "ткацкий станок",
    "pump": "насос", "drawbridge": "подъёмный мост", "beacon": "маяк", "organ": "орган",
    "sluice": "шлюз", "weathervane": "флюгер", "chimney": "дымоход",
    "music box": "музыкальная шкатулка", "compass": "компас", "barrel": "бочка",
    "windmill": "ветряная мельница",
}  # fmt: skip
# States of those objects as predicates: a verb (the same for every gender), a short
# participle or adjective (masc, femn, neut, plur), or a full adjective (agreed by morph).
STATES_RU: dict[str, tuple[str, ...]] = {
    "lit": ("verb", "горит", "горят"),
    "open": ("short", "открыт", "открыта", "открыто", "открыты"),
    "humming": ("verb", "гудит", "гудят"),
    "frozen": ("short", "заморожен", "заморожена", "заморожено", "заморожены"),
    "awake": ("verb", "бодрствует", "бодрствуют"),
    "glowing": ("verb", "светится", "светятся"),
    "silent": ("verb", "молчит", "молчат"),
    "wet": ("adj", "мокрый"),
    "locked": ("short", "заперт", "заперта", "заперто", "заперты"),
    "spinning": ("verb", "вращается", "вращаются"),
    "tilted": ("short", "наклонён", "наклонена", "наклонено", "наклонены"),
    "hot": ("adj", "горячий"),
    "full": ("short", "полон", "полна", "полно", "полны"),
    "cracked": ("short", "расколот", "расколота", "расколото", "расколоты"),
    "raised": ("short", "поднят", "поднята", "поднято", "подняты"),
    "ringing": ("verb", "звенит", "звенят"),
    "sealed": ("short", "запечатан", "запечатана", "запечатано", "запечатаны"),
    "buzzing": ("verb", "жужжит", "жужжат"),
    "charged": ("short", "заряжен", "заряжена", "заряжено", "заряжены"),
    "sunken": ("short", "затоплен", "затоплена", "затоплено", "затоплены"),
    "polished": ("short", "начищен", "начищена", "начищено", "начищены"),
    "floating": ("verb", "держится на плаву", "держатся на плаву"),
    "blinking": ("verb", "мигает", "мигают"),
    "rattling": ("verb", "дребезжит", "дребезжат"),
    "dusty": ("adj", "пыльный"),
    "damp": ("adj", "сырой"),
    "steaming": ("verb", "дымится", "дымятся"),
    "tangled": ("short", "запутан", "запутана", "запутано", "запутаны"),
}
# The world's relations as nouns (what the relation "is called").
RELATION_NOUNS_RU = {
    "ancestor_of": "предок", "descendant_of": "потомок", "older_than": "старший",
    "younger_than": "младший", "neighbour_of": "сосед", "mentor_of": "наставник",
    "apprentice_of": "ученик", "friend_of": "друг",
}  # fmt: skip

# The world's attributes as nouns (what an attribute "is called": a card's field, a
# gazetteer's heading).
ATTRIBUTE_NOUNS_RU = {
    "colour": "цвет", "lives_in": "место жительства", "works_as": "ремесло",
    "born_in": "место рождения", "born_year": "год рождения", "moved_year": "год переезда",
    "height_cm": "рост", "weight_kg": "вес", "speaks": "языки", "skilled_in": "умения",
    "population": "население", "founded_year": "год основания", "lies_in": "область",
    "elevation_m": "высота",
}  # fmt: skip

# Relations as sentences: (statement, negation), `{s}` the subject in the nominative,
# `{o:case}` the object in a case, `[masc|femn]` words that follow the subject's gender.
# A negation of None is "неверно, что <statement>" (where "не" has no natural place).
RELATIONS_RU: dict[str, tuple[str, str | None]] = {
    # the fictional world
    "ancestor_of": ("{s} — предок {o:gent}", "{s} не предок {o:gent}"),
    "descendant_of": ("{s} — потомок {o:gent}", "{s} не потомок {o:gent}"),
    "older_than": ("{s} старше {o:gent}", "{s} не старше {o:gent}"),
    "younger_than": ("{s} младше {o:gent}", "{s} не младше {o:gent}"),
    "neighbour_of": ("{s} — [сосед|соседка] {o:gent}", "{s} не [сосед|соседка] {o:gent}"),
    "mentor_of": ("{s} — [наставник|наставница] {o:gent}", "{s} не [наставник|наставница] {o:gent}"),
    "apprentice_of": ("{s} — [ученик|ученица] {o:gent}", "{s} не [ученик|ученица] {o:gent}"),
    "friend_of": ("{s} — [друг|подруга] {o:gent}", "{s} не [друг|подруга] {o:gent}"),
    # relation_chain: people
    "parent_of": ("{s} — родитель {o:gent}", "{s} не родитель {o:gent}"),
    "year_older_than": ("{s} ровно на год старше {o:gent}", None),
    "bit_taller_than": ("{s} чуть выше {o:gent} ростом", None),
    "taller_than": ("{s} выше {o:gent} ростом", "{s} не выше {o:gent} ростом"),
    "shorter_than": ("{s} ниже {o:gent} ростом", "{s} не ниже {o:gent} ростом"),
    "direct_superior_of": ("{s} — непосредственный начальник {o:gent}", "{s} не является непосредственным начальником {o:gent}"),
    "outranks": ("{s} старше {o:gent} по должности", "{s} не старше {o:gent} по должности"),
    "outranked_by": ("{s} младше {o:gent} по должности", "{s} не младше {o:gent} по должности"),
    "teaching_line_above": ("{s} стоит выше {o:gent} в цепочке учителей", "{s} не стоит выше {o:gent} в цепочке учителей"),
    "teaching_line_below": ("{s} стоит ниже {o:gent} в цепочке учителей", "{s} не стоит ниже {o:gent} в цепочке учителей"),
    "married_to": ("{s} состоит в браке с {o:ablt}", "{s} не состоит в браке с {o:ablt}"),
    "cousin_of": ("{s} — [двоюродный брат|двоюродная сестра] {o:gent}", "{s} не [двоюродный брат|двоюродная сестра] {o:gent}"),
    # relation_chain: places
    "directly_north_of": ("{s} находится сразу севернее {o:gent}", "{s} не находится сразу севернее {o:gent}"),
    "north_of": ("{s} севернее {o:gent}", "{s} не севернее {o:gent}"),
    "south_of": ("{s} южнее {o:gent}", "{s} не южнее {o:gent}"),
    "directly_east_of": ("{s} находится сразу восточнее {o:gent}", "{s} не находится сразу восточнее {o:gent}"),
    "east_of": ("{s} восточнее {o:gent}", "{s} не восточнее {o:gent}"),
    "west_of": ("{s} западнее {o:gent}", "{s} не западнее {o:gent}"),
    "next_upstream_of": ("{s} стоит сразу выше {o:gent} по реке", "{s} не стоит сразу выше {o:gent} по реке"),
    "upstream_of": ("{s} выше {o:gent} по течению", "{s} не выше {o:gent} по течению"),
    "downstream_of": ("{s} ниже {o:gent} по течению", "{s} не ниже {o:gent} по течению"),
    "one_terrace_above": ("{s} на террасу выше {o:gent}", None),
    "higher_than": ("{s} лежит выше {o:gent}", "{s} не лежит выше {o:gent}"),
    "lower_than": ("{s} лежит ниже {o:gent}", "{s} не лежит ниже {o:gent}"),
    "borders": ("{s} граничит с {o:ablt}", "{s} не граничит с {o:ablt}"),
    "twinned_with": ("{s} — побратим {o:gent}", "{s} не побратим {o:gent}"),
}  # fmt: skip

# Properties whose short form reads naturally as a predicate ("ядовит", "робка"); the
# rest keep the full form ("тёплый", not the bookish "тёпел"; "ночной" has none).
SHORT_OK = {
    "opaque", "brittle", "fragrant", "venomous", "striped", "winged", "bitter", "feathered",
    "translucent", "slow", "swift", "heavy", "fierce", "shy", "loud", "spotted", "cold",
    "bright", "spiny", "smooth", "hairy", "huge", "gentle", "rare",
}  # fmt: skip

REAL_RU: dict[str, str] = {
    **PROPERTIES_RU, **COLOURS_RU, **WORLD_COLOURS_RU, **JOBS_RU, **WORLD_JOBS_RU,
    **THINGS_RU, **CRAFTS_RU, **LANGUAGES_RU,
}  # fmt: skip
ADJECTIVES = set(PROPERTIES_RU) | set(COLOURS_RU) | set(WORLD_COLOURS_RU) | set(LANGUAGES_RU)

# -- nonce names -----------------------------------------------------------------------

# Latin ending of a generated name -> a Russian ending that declines regularly.
KIND_ENDS = {
    "pus": "пус", "mus": "мус", "rax": "ракс", "nix": "никс", "dor": "дор", "bel": "бел",
    "tum": "тум", "vex": "векс", "lop": "лоп", "zor": "зор",
}  # fmt: skip
FIRST_ENDS = {
    "ia": "ия", "en": "ен", "is": "ис", "an": "ан", "el": "ель", "or": "ор", "o": "он", "a": "а",
}  # fmt: skip
LAST_ENDS = {
    "enko": "енков", "ovar": "оваров", "ane": "анин", "ick": "иков", "ard": "ардов",
    "ell": "елин", "ust": "устин", "ing": "ингов", "ow": "ов",
}  # fmt: skip
PLACE_ENDS = {
    "mora": "мора", "vale": "дол", "holm": "хольм", "grad": "град", "wick": "вик",
    "ford": "форд", "aro": "аров", "eth": "ет", "mark": "марк", "land": "ланд", "moor": "мур",
}  # fmt: skip
# Endings tried, in order, when two ids would read the same (the Latin ids differ).
_SPARE = {
    "kind": ["ус", "ар", "он", "ик", "ор", "ан"],
    "first": ["ен", "ан", "ор", "ис", "ина", "ара"],
    "last": ["ов", "ин", "ев", "анов", "елов"],
    "place": ["ск", "град", "дол", "мора", "ов"],
}
_LETTERS = [
    ("sh", "ш"), ("ch", "ч"), ("ck", "к"), ("ph", "ф"), ("th", "т"), ("ia", "ия"),
    ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"),
    ("h", "х"), ("i", "и"), ("j", "дж"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"),
    ("v", "в"), ("w", "в"), ("x", "кс"), ("y", "и"), ("z", "з"),
]  # fmt: skip
_CONSONANT_END = re.compile(r"[бвдзлмнпрстф]$")
_VAR = re.compile(r"^[A-Z]{1,2}\d*$")  # X, Y, Z, A1: variables stay as they are


def translit(latin: str) -> str:
    """Letter by letter into Cyrillic, keeping capitalisation: "Vongler" → "Вонглер"."""
    out, i, low = [], 0, latin.lower()
    while i < len(low):
        for lat, cyr in _LETTERS:
            if low.startswith(lat, i):
                out.append(cyr)
                i += len(lat)
                break
        else:
            out.append(low[i])
            i += 1
    text = "".join(out)
    return text[:1].upper() + text[1:] if latin[:1].isupper() else text


def _split(latin: str, ends: dict[str, str]) -> tuple[str, str]:
    """(transliterated stem, Russian ending) for the longest known Latin ending."""
    for lat in sorted(ends, key=len, reverse=True):
        if latin.lower().endswith(lat) and len(latin) > len(lat):
            return translit(latin[: -len(lat)]), ends[lat]
    return translit(latin), ""


def kind_ru(latin: str) -> str:
    """A kind: a masculine noun in a hard consonant ("wumpus" → "вумпус")."""
    stem, end = _split(latin, KIND_ENDS)
    word = stem + end
    return word if _CONSONANT_END.search(word) else word + "с"


def first_ru(latin: str) -> str:
    """A first name: masculine in a consonant or soft -ель, feminine in -а/-я/-ия."""
    stem, end = _split(latin, FIRST_ENDS)
    if end == "а" and stem[-1:].lower() in "аеиоу":
        end = "я"  # "Grea" → "Грея", declined like Гея, not "Греа"
    if not end:
        return stem if _CONSONANT_END.search(stem) else stem + "н"
    return stem + end


def last_ru(latin: str, gender: str = "masc") -> str:
    """A surname in -ов/-ин, feminine -ова/-ина when the first name is feminine."""
    stem, end = _split(latin, LAST_ENDS)
    word = stem + (end or "ов")
    return word + "а" if gender == "femn" else word


def person_ru(latin: str) -> str:
    first, _, last = latin.partition(" ")
    f = first_ru(first)
    return f"{f} {last_ru(last, morph.name_gender(f))}" if last else f


def place_ru(latin: str) -> str:
    stem, end = _split(latin, PLACE_ENDS)
    word = stem + end
    return word if (end or _CONSONANT_END.search(word)) else word + "ск"


def is_place(latin: str) -> bool:
    return any(latin.lower().endswith(e) for e in PLACE_ENDS)


@lru_cache(maxsize=65536)
def role_of(ident: str) -> str:
    """What an id names, which sets how its Russian surface declines:
    kind | thing | name | person | place | adj | state | noun (a real noun) | var | ru
    (already Russian, or a number: "1843" reads the same in both languages)."""
    if re.search(r"[А-Яа-яЁё]", ident) or ident.isdigit():
        return "ru"
    if _VAR.match(ident):
        return "var"
    if ident in ADJECTIVES:
        return "adj"
    if ident in RELATIONS_RU:
        return "noun"
    if ident in STATES_RU:
        return "state"
    if ident in JOBS_RU or ident in WORLD_JOBS_RU or ident in CRAFTS_RU:
        return "noun"
    if ident in THINGS_RU or ident.startswith("the "):
        return "noun" if _bare(ident) in REAL_RU else "thing"
    if " " in ident and ident[:1].isupper():
        return "person"
    if ident[:1].isupper():
        return "place" if is_place(ident) else "name"
    return "kind"


def _bare(ident: str) -> str:
    return ident[4:] if ident.startswith("the ") else ident


@lru_cache(maxsize=65536)
def surface_ru(ident: str) -> str:
    """The Russian nominative of an id, derived from the id alone."""
    role = role_of(ident)
    bare = _bare(ident)
    if role in ("ru", "var"):
        return ident
    if bare in REAL_RU:
        return REAL_RU[bare]
    if ident in RELATIONS_RU:
        return RELATION_NOUNS_RU.get(ident, ident)
    if role == "state":
        return STATES_RU[ident][1]
    if role == "person":
        return person_ru(ident)
    if role == "place":
        return place_ru(ident)
    if role == "name":
        return first_ru(ident)
    return kind_ru(bare)


MORPH_ROLE = {"kind": "kind", "name": "kind", "person": "person", "place": "place",
              "thing": "thing", "noun": "real", "ru": ""}  # fmt: skip


def russian_names(world: Any) -> dict[str, str]:
    """Every id of the world -> its Russian surface (nominative): kinds, entities,
    places, properties, colours, trades, relations. Two ids never read the same: a
    clash is resolved by a spare ending, in the world's own order (deterministic)."""

    out: dict[str, str] = {}
    out.update({p: PROPERTIES_RU[p] for p in PROPERTIES if p in PROPERTIES_RU})
    out.update({c: COLOURS_RU[c] for c in COLOURS if c in COLOURS_RU})
    out.update({j: JOBS_RU[j] for j in JOBS if j in JOBS_RU})
    out.update({r: RELATION_NOUNS_RU[r] for r in world.relations if r in RELATION_NOUNS_RU})
    taken = set(out.values())

    def put(ident: str, surface: str, cls: str) -> None:
        if surface in taken:
            surface = _respell(surface, cls, taken)
        out[ident] = surface
        taken.add(surface)

    for k in world.kinds:
        put(k, kind_ru(k), "kind")
    places = dict.fromkeys(
        e.attrs.get("lives_in") for e in world.entities if e.attrs.get("lives_in")
    )
    for p in places:
        put(p, place_ru(p), "place")
    for e in world.entities:
        put(e.id, person_ru(e.id), "person")
    return out


def _respell(surface: str, cls: str, taken: set[str]) -> str:
    if cls == "person" and " " in surface:
        first, last = surface.split(" ", 1)
        fem = morph.name_gender(first) == "femn"
        stem = re.sub(r"(?:ов|ин|ев|анов|елов)а?$", "", last)
        for end in _SPARE["last"]:
            cand = f"{first} {stem}{end}{'а' if fem else ''}"
            if cand not in taken:
                return cand
    else:
        stem = surface[:-2]
        for end in _SPARE["first" if cls == "person" else cls]:
            if stem + end not in taken:
                return stem + end
    n = 2
    while f"{surface}{n}" in taken:  # pragma: no cover - needs a pathological world
        n += 1
    return f"{surface}{n}"
