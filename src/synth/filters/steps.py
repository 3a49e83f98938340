"""The worked steps a text writes are the steps its `formal` computed.

The answer filter reads a reply's final answer; this one reads the lines that lead to it,
so that a trace showing a register before it is set, or a proof that skips a step, is
caught even when the answer is right. Rows without `formal`, or whose `formal` has no
steps, have nothing to check.

Instruction rows: `formal["steps"]` is the state after each step, as text (the buffer,
the list, the registers "a=3 b=0", the stack "[3, 4]", a word's translation). A reply's
worked trace is
- the lines of its first fenced block tagged `text`, else
- its numbered lines, `1.` to `n.` in order, else
- its bullet lines that hold an arrow (`- wug → dog`).
Each line shows one state: what follows its last arrow (` → `, ` => `, ` ; `), else, after
its number or an `after step N:` label, a backquoted value that ends a labelled line
("1. Reverse it: `olleh`"), else the rest of the line; a value in one pair of quotes or
backquotes is also read without them. The trace must have one line per step, each showing
that step's state ("steps_wrong" otherwise). A reply that writes no trace (a bare answer)
has nothing to check, as the answer filter accepts an answer without a trace.

Logic rows (`kind` logic): the steps are derivations `{rule, uses, derives}`:
`formal["steps"]` when what the text writes is not the proof (what forward chaining
derives when the question stays open, or a derivation being checked, read up to
`first_invalid`), else `formal["proof"]`. Their text is prose in any of many phrasings,
so it is read for names: every derived fact's subject and object must be named, step
after step, in order (a Russian row names them in Russian, with any case ending: the
names are derived from the ids alone, as the templates derive them). A text that names
none of them writes no proof, and has nothing to check. Ontology rows name their world's
entities by the world's own surface names, which a row does not carry: `synth qa` and
the oracle check their proofs on `formal` alone.

Evidence: in 2,000 rows of `command.mini_lang` drawn before the trace was computed step by
step, 757 of the 828 English register traces (680 of 762 Russian) showed a register
before the line that sets it; read against the states computed line by line, each of them
is rejected, and every one of 2,000 rows of every command and structural template,
English and Russian, as drawn now is kept (tests/filters/test_steps.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from synth.filters.base import response_of
from synth.row import Row

_FENCE = re.compile(r"^```text[ \t]*\n(.*?)^```", re.M | re.S)
_NUMBERED = re.compile(r"^[ \t]*(\d+)[.)][ \t]+(.*?)[ \t]*$")
_BULLET = re.compile(r"^[ \t]*[-*•][ \t]+(.*?)[ \t]*$")
_ARROW = re.compile(r"[ \t](?:→|=>|;)[ \t]+")
_STEP_LABEL = re.compile(r"^(?:after step|после шага|step|шаг)[ \t]+\d+[ \t]*:[ \t]*", re.I)
_LABELLED = re.compile(r"^.*:[ \t]+(`[^`\n]*`)$")
_QUOTES = {'"': '"', "'": "'", "`": "`", "«": "»", "“": "”"}


def trace_lines(response: str) -> list[str]:
    """The lines of a reply's worked trace (see the module doc); [] when it has none."""
    m = _FENCE.search(response)
    if m:
        return [ln for ln in m.group(1).split("\n") if ln.strip()]
    numbered: list[str] = []
    for ln in response.split("\n"):
        n = _NUMBERED.match(ln)
        if n and int(n.group(1)) == len(numbered) + 1:
            numbered.append(ln)
        elif n and numbered:
            break  # a second list: the trace is the first one
    if numbered:
        return numbered
    return [ln for ln in response.split("\n") if _BULLET.match(ln) and _ARROW.search(ln)]


def shown_state(line: str) -> str:
    """The state one trace line shows (see the module doc)."""
    rest = line.strip()
    n = _NUMBERED.match(rest) or _BULLET.match(rest)
    labelled = n is not None
    if n is not None:
        rest = n.group(n.lastindex or 1)
    rest, k = _STEP_LABEL.subn("", rest, count=1)
    labelled = labelled or k > 0
    parts = _ARROW.split(rest)
    if len(parts) > 1:
        return parts[-1]
    m = _LABELLED.match(rest) if labelled else None
    return m.group(1) if m else rest


def shows(written: str, state: str) -> bool:
    """Whether a trace line's value is `state`, as is or in one pair of quotes."""
    if written == state:
        return True
    return len(written) >= 2 and _QUOTES.get(written[0]) == written[-1] and written[1:-1] == state


def trace_problem(response: str, states: list[str]) -> str | None:
    """Why a reply's trace does not show `states` (None: it does, or it has no trace)."""
    lines = trace_lines(response)
    if not lines:
        return None
    if len(lines) != len(states):
        return f"the trace has {len(lines)} lines for {len(states)} steps"
    for i, (ln, want) in enumerate(zip(lines, states, strict=True), 1):
        got = shown_state(ln)
        if not shows(got, want):
            return f"step {i} shows {got!r}, computed {want!r}"
    return None


# --- logic: the derived facts, named in order ---------------------------------------------


def written_steps(formal: dict[str, Any]) -> list[dict[str, Any]]:
    """The derivation steps a logic text writes, as `formal` records them."""
    steps = formal.get("steps")
    if steps is None:
        steps = formal.get("proof") or []
    bad = formal.get("first_invalid") or 0
    return list(steps[:bad] if bad else steps)


_RU_ENDINGS = "ый ий ой ая яя ое ее ые ие а я о е ы и ь й".split()  # longest first
_RU_VOWELS = set("аеёиоуыэюя")


def _ru_word(w: str) -> str:
    """A Russian word as a pattern for all its forms: without its case ending, and with
    the vowel a short form puts between two final consonants (кроткий: кроток; полный:
    полон; горький: горек)."""
    if w.endswith("ся") and len(w) > 5:  # светящийся: светящаяся, светящиеся
        w = w[:-2]
    for end in _RU_ENDINGS:
        if w.endswith(end) and len(w) - len(end) >= 2:
            w = w[: -len(end)]
            break
    if len(w) >= 3 and w[-1] not in _RU_VOWELS and w[-2] == "ь":  # горький: горек
        return re.escape(w[:-2]) + "(?:ь|[её])" + re.escape(w[-1])
    if len(w) >= 3 and w[-1] not in _RU_VOWELS and w[-2] not in _RU_VOWELS:
        return re.escape(w[:-1]) + "[оеё]?" + re.escape(w[-1])
    if len(w) >= 3 and w[-1] not in _RU_VOWELS and w[-2] in "оеё" and w[-3] not in _RU_VOWELS:
        return re.escape(w[:-2]) + "[оеё]?" + re.escape(w[-1])
    return re.escape(w)


@lru_cache(maxsize=65536)
def _name_pattern(term: str, lang: str) -> re.Pattern[str] | None:
    """How a text names a term: its words as word starts (English: the id; Russian: the
    id's Russian name, each word in any of its forms)."""
    if lang == "ru":
        from synth.russian.names import surface_ru

        words = [_ru_word(w) for w in surface_ru(term).split()]
    else:
        words = [re.escape(w) for w in term.replace("_", " ").split()]
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"\w*\s+".join(words), re.I)


def proof_problem(text: str, steps: list[dict[str, Any]], lang: str) -> str | None:
    """Why a logic text does not name the derived facts of `steps` in order (None: it
    does, or it names none of them: it writes no proof)."""
    if not _names_any(text, steps, lang):
        return None
    cursor = 0
    for i, st in enumerate(steps, 1):
        fact = st.get("derives") or []
        at = cursor
        for term in (fact[0], fact[2]) if len(fact) == 3 else ():
            pat = _name_pattern(term, lang) if isinstance(term, str) else None
            if pat is None or term.startswith("?"):
                continue
            m = pat.search(text, cursor)
            if m is None:
                where = "out of order" if pat.search(text) else "not written"
                return f"step {i} ({' '.join(map(str, fact))}) is {where}"
            at = max(at, m.start())
        cursor = at
    return None


def _names_any(text: str, steps: list[dict[str, Any]], lang: str) -> bool:
    for st in steps:
        fact = st.get("derives") or []
        if len(fact) == 3 and isinstance(fact[2], str):
            pat = _name_pattern(fact[2], lang)
            if pat is not None and pat.search(text):
                return True
    return False


def steps_problem(row: Row, formal: dict[str, Any]) -> str | None:
    """Why the row's text does not write `formal`'s steps (None: it does, or there is
    nothing to check)."""
    steps = formal.get("steps")
    if "task" in formal:
        if not isinstance(steps, list) or not steps:
            return None
        return trace_problem(response_of(row), [str(s) for s in steps])
    if row.kind != "logic":
        return None
    written = written_steps(formal)
    if not written:
        return None
    return proof_problem(response_of(row), written, row.lang)


@dataclass
class StepsFilter:
    name: ClassVar[str] = "steps"

    def reason(self, row: Row) -> str | None:
        text = row.formal
        if not text or ('"steps"' not in text and '"proof"' not in text):
            return None
        try:
            formal = json.loads(text)
        except json.JSONDecodeError:
            return None  # synth qa reports a malformed formal; nothing here to read against
        if not isinstance(formal, dict):
            return None
        return None if steps_problem(row, formal) is None else "steps_wrong"
