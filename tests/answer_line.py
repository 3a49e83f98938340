"""What a Russian answer line must read as, shared by the tests that read generated rows."""

from __future__ import annotations

import re

ANSWER_LABEL = re.compile(r"(?:\*\*)?(?:Итоговый ответ|Ответ):(?:\*\*)? ")


def answer_line_says(line: str, want: str) -> bool:
    """A label the filter reads, then the answer, alone or (a yes/no question's) followed
    by what it settles ("Ответ: Да — Тобин учит Мару.")."""
    label = ANSWER_LABEL.match(line)
    said = line[label.end() :] if label else ""
    return said == want or re.match(rf"{re.escape(want)}[ ,;.—]", said) is not None
