"""The word stock of synth's made-up material: the properties, colours and trades of a
fictional world's beings, and the relations logic theories chain (with their English
forms). Worlds, families and the Russian tables all read these lists, so one word is
spelled one way everywhere; nothing here imports any other part of synth.
"""

from __future__ import annotations

PROPERTIES = [
    "luminous", "opaque", "brittle", "fragrant", "venomous", "nocturnal", "aquatic", "metallic",
    "hollow", "striped", "winged", "sour", "bitter", "feathered", "translucent", "magnetic",
    "slow", "swift", "heavy", "fierce", "shy", "loud", "spotted", "wooden", "sticky", "cold",
    "warm", "bright", "dull", "spiny", "smooth", "hairy", "tiny", "huge", "gentle", "rare",
]  # fmt: skip
COLOURS = [
    "amber",
    "teal",
    "crimson",
    "ochre",
    "violet",
    "silver",
    "indigo",
    "olive",
    "scarlet",
    "ivory",
    "cobalt",
    "saffron",
]
JOBS = [
    "weaver",
    "miller",
    "potter",
    "scribe",
    "herbalist",
    "smith",
    "baker",
    "cartographer",
    "glassblower",
    "beekeeper",
    "tanner",
    "astronomer",
]


def forms(pos: str, neg: str | None = None, q: str | None = None) -> tuple[str, str, str]:
    """(statement, negation, question) with {s}/{o} slots; "is" sentences derive the rest."""
    if neg is None:
        assert pos.startswith("{s} is ")
        rest = pos[len("{s} is ") :]
        neg, q = "{s} is not " + rest, "is {s} " + rest
    return pos, neg, q  # type: ignore[return-value]


# (step relation, derived relation, inverse relation): id and forms. Forks (two steps
# into one member) must make sense: two parents, two places just north of one town.
CHAINS = {
    "people": [
        (("parent_of", forms("{s} is a parent of {o}")),
         ("ancestor_of", forms("{s} is an ancestor of {o}")),
         ("descendant_of", forms("{s} is a descendant of {o}"))),
        (("year_older_than", forms("{s} is exactly one year older than {o}")),
         ("older_than", forms("{s} is older than {o}")),
         ("younger_than", forms("{s} is younger than {o}"))),
        (("bit_taller_than", forms("{s} is a little taller than {o}")),
         ("taller_than", forms("{s} is taller than {o}")),
         ("shorter_than", forms("{s} is shorter than {o}"))),
        (("direct_superior_of", forms("{s} is the direct superior of {o}")),
         ("outranks", forms("{s} outranks {o}", "{s} does not outrank {o}", "does {s} outrank {o}")),
         ("outranked_by", forms("{s} is outranked by {o}"))),
        (("mentor_of", forms("{s} is the mentor of {o}")),
         ("teaching_line_above", forms("{s} is above {o} in the teaching line")),
         ("teaching_line_below", forms("{s} is below {o} in the teaching line"))),
    ],
    "places": [
        (("directly_north_of", forms("{s} lies directly north of {o}", "{s} does not lie directly north of {o}", "does {s} lie directly north of {o}")),
         ("north_of", forms("{s} is north of {o}")),
         ("south_of", forms("{s} is south of {o}"))),
        (("directly_east_of", forms("{s} lies directly east of {o}", "{s} does not lie directly east of {o}", "does {s} lie directly east of {o}")),
         ("east_of", forms("{s} is east of {o}")),
         ("west_of", forms("{s} is west of {o}"))),
        (("next_upstream_of", forms("{s} is the next village upstream from {o}")),
         ("upstream_of", forms("{s} is upstream of {o}")),
         ("downstream_of", forms("{s} is downstream of {o}"))),
        (("one_terrace_above", forms("{s} sits one terrace above {o}", "{s} does not sit one terrace above {o}", "does {s} sit one terrace above {o}")),
         ("higher_than", forms("{s} lies higher than {o}", "{s} does not lie higher than {o}", "does {s} lie higher than {o}")),
         ("lower_than", forms("{s} lies lower than {o}", "{s} does not lie lower than {o}", "does {s} lie lower than {o}"))),
    ],
}  # fmt: skip
SYMMETRIC = {
    "people": [
        ("married_to", forms("{s} is married to {o}")),
        ("cousin_of", forms("{s} is a cousin of {o}")),
        ("neighbour_of", forms("{s} is a neighbour of {o}")),
    ],
    "places": [
        ("borders", forms("{s} shares a border with {o}", "{s} does not share a border with {o}", "does {s} share a border with {o}")),
        ("twinned_with", forms("{s} is twinned with {o}")),
    ],
}  # fmt: skip


# -- a fictional world's richer vocabulary --------------------------------------------
# Colours and trades of a large world: the first twelve of each are the lists above (the
# instruction families' words), so a small world reads as it always has.
WORLD_COLOURS = COLOURS + [
    "copper", "jade", "slate", "rust", "plum", "sable", "russet", "pearl", "umber", "azure",
    "moss", "coral",
]  # fmt: skip
WORLD_JOBS = JOBS + [
    "carpenter", "mason", "fisher", "shepherd", "brewer", "cooper", "chandler", "tailor",
    "cobbler", "jeweller", "locksmith", "ferryman", "lamplighter", "bookbinder", "dyer",
    "saddler", "falconer", "gardener", "healer", "midwife", "innkeeper", "merchant",
    "sailor", "surveyor", "clockmaker", "engraver", "painter", "musician", "teacher",
    "archivist", "courier", "miner", "forester", "vintner", "cheesemaker", "ropemaker",
]  # fmt: skip
# What a being is skilled in (several per being).
CRAFTS = [
    "weaving", "carving", "singing", "fishing", "hunting", "sailing", "brewing", "embroidery",
    "calligraphy", "herbalism", "navigation", "medicine", "cartography", "poetry", "music",
    "painting", "sculpture", "carpentry", "beekeeping", "glassmaking", "cooking", "gardening",
    "mathematics", "diplomacy", "fencing", "swimming", "climbing", "juggling", "astronomy",
    "pottery",
]  # fmt: skip
# The world's languages (made-up names; a being speaks one to three).
LANGUAGES = [
    "Ardic", "Velmish", "Orandi", "Sutic", "Kaveric", "Telmish", "Brondic", "Ulvic",
    "Marevic", "Dostic", "Gelric", "Pashic", "Noric", "Zelvic", "Irandic", "Hobric",
    "Salvic", "Tundic", "Rovic", "Fenric", "Alvish", "Dravic", "Lurish", "Kelmic",
]  # fmt: skip
