"""Wording: how the world's facts become sentences, shared by every ontology template.

Templates say *what* a document states (the facts a family drew, in `formal`); `say`,
a per-document object made from the item's own random generator, says *how*: several
phrasings per fact type, facts about one subject aggregated into one sentence ("Ilsa
Vonglerova, a krovex from Vrolmora, works as a miller and speaks Ardic"), pronouns only
where the referent is the sentence's own subject (or, with `fullnames: false`, after the
first mention), varied connectives, no filler that says nothing, no sentence twice in a
document, and one list style per document.

Why in Python rather than Jinja macros: a document is decided as a whole (which facts
share a sentence, which list marker, which sentences were already said), which a macro
cannot remember; and the phrase banks of both languages sit side by side with their
grammar (`en.py`, `ru.py` on `synth.russian`), where a test can walk every phrasing.

    say = wording_for("en", rng, world, fullnames=True)
    say.paragraph(e.name, facts)   # aggregated sentences about one subject
"""

from __future__ import annotations

import random
from typing import Any

from synth.wording.base import Say
from synth.wording.forms import check as check_forms


def wording_for(lang: str, rng: random.Random, world: Any = None, **options: Any) -> Say:
    """The wording of `lang` for one document (English for a language without its own)."""
    if lang == "ru":
        from synth.wording.ru import RussianSay

        return RussianSay(rng, world, **options)
    from synth.wording.en import EnglishSay

    return EnglishSay(rng, world, **options)


__all__ = ["Say", "check_forms", "wording_for"]
