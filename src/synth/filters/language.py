"""The text is in the row's declared language, judged by script.

'en': of all letters, at least `min_share['en']` are Latin. 'ru': of the letters left
after taking out code (fenced blocks, `inline`), URLs and identifier-like Latin words
(snake_case, camelCase, dotted.names, words with digits, one- or two-letter names),
at least `min_share['ru']` are Cyrillic — so a Russian explanation of Python code
passes, an English text labelled 'ru' does not. Texts with fewer than `min_letters`
letters ("42", a formula) are not judged. Other languages are not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from synth.filters.base import content_of
from synth.row import Row

LETTERS_RE = re.compile(r"[^\W\d_]+")
LATIN_RE = re.compile(r"[A-Za-z\u00C0-\u024F]+")
CYRILLIC_RE = re.compile(r"[\u0400-\u04FF]+")
CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|https?://\S+", re.S)
IDENT_RE = re.compile(r"\b(?:[A-Za-z]{1,2}|\w*[_\d]\w*|[a-z]+[A-Z]\w*|\w+(?:\.\w+)+)\b", re.ASCII)
SCRIPT = {"en": LATIN_RE, "ru": CYRILLIC_RE}


def _default_share() -> dict[str, float]:
    return {"en": 0.9, "ru": 0.75}


def _count(regex: re.Pattern[str], text: str) -> int:
    return len(text) - len(regex.sub("", text))  # chars matched, without a list of matches


_ASCII = frozenset(map(chr, range(128)))


def _ascii_letters_only(text: str) -> bool:
    """No letter (as LETTERS_RE counts them: \\w but not a digit or "_") outside ASCII: the
    usual English text with a dash or curly quotes."""
    return not any(c.isalnum() and not c.isdecimal() for c in set(text).difference(_ASCII))


def script_share(text: str, lang: str) -> tuple[float, int]:
    """(share of letters in `lang`'s script, letters counted)."""
    if lang != "en":  # Latin identifiers and code are fine in non-Latin text
        text = IDENT_RE.sub(" ", CODE_RE.sub(" ", text))
    total = _count(LETTERS_RE, text)
    return (_count(SCRIPT[lang], text) / total if total else 1.0), total


@dataclass
class LanguageFilter:
    name: ClassVar[str] = "language"
    # A number sets every language; a mapping sets some.
    min_share: dict | float = field(
        default_factory=_default_share, metadata={"types": (dict, int, float)}
    )
    min_letters: int = 20

    def __post_init__(self) -> None:
        share = self.min_share
        if isinstance(share, (int, float)) and not isinstance(share, bool):
            share = dict.fromkeys(SCRIPT, float(share))
        if not isinstance(share, dict) or set(share) - set(SCRIPT):
            raise ValueError(f"min_share: a number or a mapping with keys {sorted(SCRIPT)}")
        merged = {**_default_share(), **{k: float(v) for k, v in share.items()}}
        if any(not 0 <= v <= 1 for v in merged.values()):
            raise ValueError("min_share values must be in [0, 1]")
        self.min_share = merged

    def reason(self, row: Row) -> str | None:
        if row.lang not in SCRIPT:
            return None
        text = content_of(row)
        if row.lang == "en" and (text.isascii() or _ascii_letters_only(text)):
            return None  # every ASCII letter is Latin: the share is 1, never below min_share
        share, letters = script_share(text, row.lang)
        if letters >= self.min_letters and share < self.min_share[row.lang]:
            return "language_mismatch"
        return None
