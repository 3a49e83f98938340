"""The response states the gold answer.

For rows with `answer`: the final answer is the last line of the response that reads
`Answer: X` (en) or `Ответ: X` (ru; `Answer:` is accepted too), case-insensitive, with
markdown around the label allowed (`**Answer:** X`); if X is empty the next non-empty
line is X. Both sides are normalized (casefold, whitespace, trailing punctuation,
surrounding quotes/backticks, `**`). Boolean golds (true / false / unknown) also accept
Yes/No and the Russian words, and a stated answer that starts with one ("True, since
...").

Without such a line the gold must appear verbatim in the response (instruction samples
whose output is a code block or a transformed string). A response that lacks both is
"answer_missing" (typically truncated); a different stated answer is "answer_wrong".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from synth.filters.base import response_of
from synth.row import Row

_LABEL = {
    "en": r"(?:final\s+)?answer",
    "ru": r"(?:(?:итоговый|окончательный)\s+)?ответ|(?:final\s+)?answer",
}
ANSWER_LINE = {
    lang: re.compile(rf"^[ \t>*_#-]*(?:{label})[ \t*_]*[:：](?P<x>.*)$", re.I | re.M)
    for lang, label in _LABEL.items()
}
_BOOL = {
    **dict.fromkeys(["true", "yes", "да", "верно", "истина"], "true"),
    **dict.fromkeys(["false", "no", "нет", "неверно", "ложь"], "false"),
    **dict.fromkeys(["unknown", "неизвестно"], "unknown"),
}
_QUOTES = {'"': '"', "'": "'", "`": "`", "«": "»", "“": "”", "„": "“", "‘": "’"}
_FIRST_WORD = re.compile(r"[^\W_]+")


def normalize_answer(s: str) -> str:
    """casefold; no `**`, surrounding quotes/backticks, trailing punctuation, extra space."""
    s = s.replace("**", "")
    prev = None
    while s != prev:
        prev = s
        s = s.strip().rstrip(".,;:!?。").strip()
        if len(s) >= 2 and _QUOTES.get(s[0]) == s[-1]:
            s = s[1:-1]
    return " ".join(s.casefold().split())


def stated_answer(response: str, lang: str) -> str | None:
    """The answer on the last `Answer:` line; "" if that line is empty; None if no line."""
    matches = list(ANSWER_LINE.get(lang, ANSWER_LINE["en"]).finditer(response))
    if not matches:
        return None
    last = matches[-1]
    x = last.group("x").strip()
    if x:
        return x
    rest = response[last.end() :].strip()
    return rest.splitlines()[0] if rest else ""


def same_answer(stated: str, gold: str) -> bool:
    s, g = normalize_answer(stated), normalize_answer(gold)
    if s == g:
        return True
    want = _BOOL.get(g)
    if want is None:
        return False
    got = _BOOL.get(s)
    if got is None:
        first = _FIRST_WORD.match(s)
        got = _BOOL.get(first.group()) if first else None
    return got == want


def reply_correct(reply: str, gold: str, lang: str = "en") -> tuple[str | None, bool]:
    """(what a reply states on its last `Answer:` line, whether that is the gold): how
    `synth eval`, `synth efficacy` and the families' scores judge a model's reply. A
    reply with no such line, or an empty one, is not correct."""
    stated = stated_answer(reply or "", lang)
    ok = stated is not None and bool(normalize_answer(stated)) and same_answer(stated, gold)
    return stated, ok


@dataclass
class AnswerFilter:
    name: ClassVar[str] = "answer"

    def reason(self, row: Row) -> str | None:
        if row.answer is None:
            return None
        # The text states the answer in its own language; the column keeps the symbol.
        gold = row.meta.get("answer_text", row.answer)
        response = response_of(row)
        stated = stated_answer(response, row.lang)
        if stated is None:
            return None if gold.strip() in response else "answer_missing"
        if not normalize_answer(stated):
            return "answer_missing"
        return None if same_answer(stated, gold) else "answer_wrong"
