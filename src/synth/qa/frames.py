"""Sentence frames, list markers and repeated sentences: how many ways a corpus says things.

A *frame* is a sentence with the world's own words masked. Two sentences with the same
frame say different facts the same way ("Stoan is tiny." and "Bien is teal." are both
"<> is <>."), so the number of distinct frames and the share of the most common ones
measure phrasing variety apart from content. A knowledge corpus read for billions of
tokens teaches its frames as well as its facts.

Sentences. The documents of a row are its text, or for a chat each user and assistant
message (never the chat template's markup, and no system turn: a system prompt is setup
drawn from a small pool, as for dedup). A Markdown heading, a list item (its marker
dropped) and a table row are sentences of their own; a table's rule line and fenced code
are skipped; a line goes on in the next only when it ends without punctuation and the
next starts in lower case (hard-wrapped prose, a list item's lazy continuation). A line
is split after ".", "!", "?", "…" (and closing quotes) followed by a space and a capital,
digit or opening quote, in English or Russian; not after an abbreviation ("e.g.",
"Mr.", "No.", "т. е.", "им.", "г.") or an initial ("J. R. Tolkien", "А. С."), never inside
a number ("3.5"). Regular expressions and str.replace do the work (C speed).

Masking. For a row with a logic `formal` (synth's, or anyone's in that format), the
world's words are the terms it names: subject and object of every fact, state, query and
rule atom, and the answer when it is a value (relation names are not: they are the
frame's verb; "true"/"false"/"unknown" are labels). Terms are remembered from row to row
in a lexicon (at most LEXICON word forms; when full it starts again from the current
batch, whose rows' own terms are therefore always in it), and every lexicon word is
masked: a template that names a world word its `formal` does not carry (a kind in
passing: "Puren, a skervex, lives in Glimora") would otherwise count each such word as
wording and look varied for it. Those words are reported apart, on 1 row in LEAK_RATE
(`unformalised`): a fact stated that nothing re-derives. Words match case-insensitively,
each word of a multi-word name on its own ("Bien" alone is still the name), with English
plurals (synth.english.plural, -s, -es; "Bien's" is "Bien" + "'s"). A Russian row names
the Latin ids by their Cyrillic surface (synth.russian.names.surface_ru): a real word
(property, colour, trade, object, state) masks in every form of every reading
pymorphy3's dictionary gives it (яркий, ярок, яркую; водяной as adjective and noun); a
nonce name (kind, person, place) masks a word whose stem is its stem (a word less one
case ending such as -а, -ом, -ами, -ой, -ых, 3 letters left), so "Глиморе", "Биена
Бангунустина" and "себелами" mask like their nominatives; a 3-letter stem ("Кира")
matches capitalised words only, or "Ним" would mask "ними". A row without a logic
`formal` (data synth did not make, or an instruction) masks capitalised words not at
sentence start, and a capitalised word at sentence start that the row also has
mid-sentence (a name). Every number is masked (digits inside a word are not a number).
A name's words, and lists of three or more masks ("<>, <> and <>"), are one mask; two
masks a comma or "and" apart stay two ("As a <>, <> is <>": structure); "an <>" is "a
<>" (the article follows the hidden word). Not normalised: Russian words agreeing in
gender with a hidden name ("родился"/"родилась") make two frames of one sentence.

Counting, in bounded memory. Every sentence is counted per group (template, or the
corpus's group column) and overall, but frames are counted exactly on a uniform sample
only: per group the SAMPLE sentences with the smallest priority, a 32-bit hash of the
sentence's position in the corpus (bottom-k: deterministic, no sentence count needed in
advance). The overall sample is the SAMPLE smallest of the groups' samples together
(each of those is among its own group's SAMPLE smallest, so none is missing). A kept
sentence costs 8 bytes (priority and a 32-bit CRC of its frame): at most 0.8 MB per
group. Fingerprint collisions merge two frames with probability D²/2³³ for D distinct
frames: about one pair at D = 100k, an undercount of 0.001%. Only sentences below their
group's threshold are masked at all (after a group's first SAMPLE, a falling share).
The text of the most common frames comes from a Misra-Gries summary (HEAVY counters per
group: it keeps every frame above 1/HEAVY of the masked sentences); their counts are the
sample's, exact there. `bench/frames.py` streams sentences of nearly all distinct frames
over 12 groups: peak RSS 196 MiB at 300k sentences, 211 MiB at 1M, 214 MiB at 10M (of
which 4.0M were masked), 21 us of CPU per sentence in that worst case.

Figures: distinct frames in the sample, per 100k sentences when the group has 100k or
more, else over all of its sentences and said so (distinct counts grow slower than
linearly: a scaled figure would mislead); distinct frames at 1k and 10k sentences (the
sample's first ones: a prefix of a bottom-k sample is itself uniform) to compare groups
of different sizes; the share of the sample in its 10 and 100 most common frames. A
share p on 100k sentences has a standard error of at most 0.16 points. Evidence, on a
3M-token English ontology corpus (seed 5, 190,940 sentences): the sample's 985 distinct
frames against 983.9 (sd 5.7) expected of a uniform 100k-sample, computed exactly from
the counts of all frames; top-100 share 76.28% in the sample, 76.35% over all.

Cost (CPU, `bench/qa.py` side by side on a busy 2-core machine): qa of a 3M-token
ontology corpus, where every sentence is in the exact sample (no template has 100k),
10.2 s without the frames and 13.0-13.5 s with them; of a 30M-token one, 65.6 s and
89.7 s (1.16M of 1.88M sentences masked). It is Python per sentence: about 2 us to split
and check every document, 3-4 us per masked sentence (words looked up one by one) and
8 us per masked row to read its formal's terms.

List markers and repeats, on each document a model answers with (a row's text, each
assistant message). A list block is a run of non-blank lines holding items ("1.", "1)",
"-", "*", "+", "•"). It mixes markers when its items at the top indentation use more
than one style, counting as a style a line without a marker between two marked ones (a
nested, indented list may use another marker); its numbering is broken when numbers do
not go up by one (1, 2, 4 or 1, 2, 2), or a later numbered list of the document starts
at neither 1 nor where the previous one stopped. Across the blocks of a document, two
bullet characters, or "1." and "1)", are mixed too (a numbered list beside a bulleted
one is not). A sentence of three words or more that occurs twice in one document, after
white space is normalised, is repeated.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from synth.english import plural
from synth.filters.near_dedup import splitmix64
from synth.qa.metrics import FORMAL_PARSED, MAX_GROUPS, OTHER_GROUP
from synth.row import Row

SAMPLE = 100_000  # sentences whose frames are counted, per group and overall
PREFIXES = (1_000, 10_000)  # distinct frames at these sample sizes as well
TOP_K = 100  # the top-k share
TOP_SHOWN = 20  # frames listed per group (30 overall)
HEAVY = 512  # Misra-Gries counters per group: the text of the most common frames
BUFFER = 16_384  # candidates collected before the sample is cut back to SAMPLE
EXAMPLES = 8  # example rows per check (counts stay exact)
REPEAT_MIN_WORDS = 3
# The verdict: a template's frames are few when its 100 most common frames cover more than
# half of what it says, judged from FEW_MIN_SENTENCES on (below, 100 frames of a few
# hundred sentences say little). Half is the point at which, read for billions of tokens,
# every other sentence is one of a hundred patterns; a varied knowledge corpus aims at
# 10% or less.
FEW_TOP_SHARE = 0.5
FEW_MIN_SENTENCES = 2_000
# List and repeat defects: a template is flagged when more than this share of its rows
# (and at least 2) have one; "major" from MAJOR_SHARE on: most rows a reader opens.
DEFECT_SHARE = 0.01
DEFECT_MAJOR_SHARE = 0.25

W, N = "\ue000", "\ue001"  # masks inside frames: a world word, a number
C = "\ue002"  # the next word of a name (joins the mask before it)
CAP = "^"  # before a key that matches capitalised words only (a name, a 3-letter stem)
LEXICON = 200_000  # world word forms and stems remembered from formal (about 40 MB)
# Rows checked for world words not in their formal: those whose first sentence's priority
# is in the lowest 1/LEAK_RATE of what its group's sample takes at the time (a uniform
# share of the rows, bounded as the sample is).
LEAK_RATE = 8
SHOW = {W: "<>", N: "<#>"}
LABELS = {"true", "false", "unknown"}

# --- sentences ------------------------------------------------------------------------

_ABBREV = (
    "Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr", "vs", "etc", "e.g", "i.e", "cf", "No",
    "no", "Nos", "Fig", "fig", "Inc", "Ltd", "Co", "Mt", "approx", "al", "Vol", "vol", "p",
    "pp", "т", "е", "г", "гг", "см", "ср", "стр", "им", "ул", "др", "пр", "тыс", "млн",
    "млрд", "руб", "проф", "акад", "св", "д", "рис", "т.е", "т.д", "т.п",
)  # fmt: skip
# A break is a space after sentence-final punctuation (and closing quotes) before a capital,
# digit or opening quote. Every ". " (or "! ", "? ", "… ") becomes a provisional break
# (str.replace, fast), then the ones not before a sentence start or after an abbreviation
# or initial are undone: the pattern starts with the break mark, so the engine jumps from
# one to the next.
_MARK = "\x02"
_START = r"[\"'«“„(\[]?[A-ZА-ЯЁ0-9]"
_ABBREVS = sorted({x for a in _ABBREV for x in (a, a[:1].upper() + a[1:])})
# One lookbehind per length (its branches must be as long as each other); a single
# capital is an initial.
_NOT_AFTER = "|".join(
    f"(?<=\\b(?:{'|'.join(re.escape(a) for a in _ABBREVS if len(a) == n)})\\.{_MARK})"
    for n in sorted({len(a) for a in _ABBREVS})
)
_UNBREAK = re.compile(f"{_MARK}(?:(?!{_START})|{_NOT_AFTER}|(?<=\\b[A-ZА-ЯЁ]\\.{_MARK}))")
_CLOSERS = ('"', "'", "»", "”", "’", ")", "]")
_QUOTED_END = re.compile(f"([.!?…][\"'»”’)\\]]) (?={_START})")
_SPACES = re.compile(r"[^\S\n]+")  # runs of white space within a line
_FENCED = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.M | re.S)
_TABLE_RULE = re.compile(
    r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$", re.M
)
# A line that ends without punctuation goes on in the next when that starts in lower case
# (hard-wrapped prose; a list item's next line starts with a marker, never a letter).
_WRAPPED = re.compile(r"\n(?<=[^\s.!?…:;»\"')”|]\n)(?=[ \t]*[a-zа-яё])")
# At a line start (after the newline): quote marks, a list marker or heading hashes.
_LINE_START = re.compile(r"\n[ \t]*(?:>[ \t]?)*(?:\d{1,3}[.)]|[-*+•]|#{1,6})[ \t]+|\n[ \t]*>[ \t]?")
_HAS_LIST = re.compile(r"^[ \t]*(?:\d{1,3}[.)]|[-*+•])[ \t]+\S", re.M)
_MARKER = re.compile(r"([ \t]*)(?:(\d{1,3})([.)])|([-*+•]))[ \t]+(?=\S)")
_ENDS_SENTENCE = tuple(".!?…:;»\"')”|")
_DOC_MARK = "\x00"  # a line of its own between the documents of one row
_DOC_BREAK = f"\n\n{_DOC_MARK}\n\n"


@dataclass
class Doc:
    """One document read: its sentences and what its lists and sentences look like."""

    sentences: list[str]
    blocks: list[list[tuple[int, str, int]]] = field(default_factory=list)  # see list_blocks

    def list_problem(self) -> str | None:
        """Why the document's lists are malformed (None: they are not)."""
        return list_problem(self.blocks)

    def repeated(self) -> list[str]:
        """Sentences (3 words or more) that occur more than once."""
        if len(set(self.sentences)) == len(self.sentences):
            return []
        seen: set[str] = set()
        out = []
        for s in self.sentences:
            if s in seen and s not in out and s.count(" ") >= REPEAT_MIN_WORDS - 1:
                out.append(s)
            seen.add(s)
        return out


def read_doc(text: str, lists: bool = True) -> Doc:
    """Sentences of a document (whitespace normalised, markers dropped) and, with `lists`,
    its list blocks: per block the marked or unmarked lines as (indent, style, number)."""
    blocks = list_blocks(text) if lists and _HAS_LIST.search(text) else []
    return Doc(split_sentences(text), blocks)


def split_sentences(text: str) -> list[str]:
    """The sentences of a text (see the module docstring). Regular expressions do the work
    (they run in C): a corpus has millions of lines."""
    if "```" in text or "~~~" in text:
        text = _FENCED.sub("", text)
    if "|" in text:
        text = _TABLE_RULE.sub("", text)
    text = _LINE_START.sub("\n", "\n" + _WRAPPED.sub(" ", text))
    if "  " in text or "\t" in text or "\r" in text or "\xa0" in text:
        text = _SPACES.sub(" ", text)
    for end in (". ", "! ", "? ", "… "):
        if end in text:
            text = text.replace(end, end[0] + _MARK)
    if any(q in text for q in _CLOSERS):
        text = _QUOTED_END.sub("\\1" + _MARK, text)
    if _MARK in text:
        text = _UNBREAK.sub(" ", text).replace(_MARK, "\n")
    return [x.strip() for x in text.split("\n") if x and not x.isspace()]


def read_row(row: Row) -> tuple[list[str], str | None, list[str]]:
    """(sentences of every document, the first list problem of a checked document, the
    sentences a checked document repeats), with one pass of `split_sentences` per row."""
    docs = frame_docs(row)
    if len(docs) == 1:
        text, checked = docs[0]
        doc = read_doc(text, checked)
        if not checked:
            return doc.sentences, None, []
        return doc.sentences, doc.list_problem(), doc.repeated()
    parts = split_sentences(_DOC_BREAK.join(t for t, _ in docs))
    sentences: list[str] = []
    problem = None
    repeated: list[str] = []
    start = 0
    for text, checked in docs:
        try:
            end = parts.index(_DOC_MARK, start)
        except ValueError:
            end = len(parts)
        mine = parts[start:end]
        start = end + 1
        sentences += mine
        if checked:
            if problem is None and _HAS_LIST.search(text):
                problem = list_problem(list_blocks(text))
            repeated += Doc(mine).repeated()
    return sentences, problem, repeated


def list_blocks(text: str) -> list[list[tuple[int, str, int]]]:
    """Per run of non-blank lines holding list items, its lines from the first item on:
    (indent, style, number) with style "1.", "1)", "-", "*", "+", "•" or "unmarked"."""
    blocks: list[list[tuple[int, str, int]]] = []
    block: list[tuple[int, str, int]] = []
    prev = ""
    fence = False
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith(("```", "~~~")):
            fence = not fence
        if fence or not s or s[0] in "#|`~":  # code, a heading or a table ends a list
            if block:
                blocks.append(block)
                block = []
            prev = ""
            continue
        m = _MARKER.match(line) if (s[0].isdigit() or s[0] in "-*+•") else None
        if m is not None:
            indent = len(m.group(1).expandtabs(4))
            if m.group(2) is not None:
                block.append((indent, "1" + m.group(3), int(m.group(2))))
            else:
                block.append((indent, m.group(4), -1))
        elif block and not (prev and not prev.endswith(_ENDS_SENTENCE) and s[0].islower()):
            block.append((len(line.expandtabs(4)) - len(line.lstrip()), "unmarked", -1))
        prev = s
    if block:
        blocks.append(block)
    return blocks


def list_problem(blocks: list[list[tuple[int, str, int]]]) -> str | None:
    """What is wrong with a document's list blocks (see the module docstring)."""
    bullets: set[str] = set()
    numbered: set[str] = set()
    last_number: int | None = None
    for block in blocks:
        marked = [i for i, e in enumerate(block) if e[1] != "unmarked"]
        if not marked:
            continue
        top = min(block[i][0] for i in marked)
        items = [e for e in block[marked[0] : marked[-1] + 1] if e[0] <= top]
        styles = list(dict.fromkeys(e[1] for e in items))
        if len(styles) > 1:
            return "mixes " + ", ".join(_style_name(s) for s in styles) + " in one list"
        numbers = [e[2] for e in items if e[2] >= 0]
        for a, b in zip(numbers, numbers[1:]):
            if b != a + 1:
                seq = ", ".join(str(n) for n in numbers[:8])
                return f"numbering {'repeats' if b <= a else 'skips'}: {seq}"
        if numbers:
            first = numbers[0]
            if last_number is not None and first not in (1, last_number + 1):
                return f"a numbered list starts at {first} after one that ended at {last_number}"
            last_number = numbers[-1]
        for s in styles:
            (numbered if s.startswith("1") else bullets).add(s)
    if len(bullets) > 1:
        return "mixes " + ", ".join(_style_name(s) for s in sorted(bullets)) + " across lists"
    if len(numbered) > 1:
        return "mixes " + ", ".join(_style_name(s) for s in sorted(numbered)) + " across lists"
    return None


def _style_name(s: str) -> str:
    return "lines without a marker" if s == "unmarked" else f'"{s}"'


def frame_docs(row: Row) -> list[tuple[str, bool]]:
    """(text, checked) per document: checked ones are what a model answers with."""
    if row.messages:
        return [
            (m.get("content") or "", m.get("role") == "assistant")
            for m in row.messages
            if m.get("role") != "system"
        ]
    return [(row.text, True)]


# --- masking ----------------------------------------------------------------------------

_WORD_SPLIT = re.compile(r"(\w+)")  # "Bien's" is "Bien", "'", "s": the name masks alone
# A number: digits not inside a word ("A1", "w2" are words), an ordinal ending allowed.
_NUMBER = re.compile(r"[0-9](?<!\w[0-9])[0-9]*(?:[.,:/][0-9]+)*(?:st|nd|rd|th|s)?(?!\w)")
# Sentences are joined by newlines while masked: runs never cross one. A multi-word name
# is one mask; so is a list of three or more ("<>, <> and <>"), but not two masks a
# comma or "and" apart ("As a <>, <> is <>", "<> is <> and <> is <>": structure).
_NAME_RUNS = re.compile(f"{W}(?: {C})+")
# "an <>" is "a <>" (the article follows the hidden word): the "n" of a lone "a"/"A".
_AN = re.compile(f"n(?= {W})(?<=[Aa]n)(?<![^\\W\\d_][Aa]n)")
_LISTS = re.compile(f"{W}(?:, {W})+,? (?:and|or|и|или) {W}|{W}(?:, {W}){{2,}}")
_NUM_RUNS = re.compile(f"{N}(?:(?:,? (?:and|or|и|или) |, ?| | ?[-–—] ?){N})+")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_RU_ENDINGS = tuple(
    sorted(
        "ами ями ого его ому ему ыми ими ой ей ом ем ам ям ах ях ов ев ую юю ая яя ое ее ые "
        "ие ый ий ых их ым им а я о е у ю ы и ь й".split(),
        key=len,
        reverse=True,
    )
)


def ru_stem(word: str) -> str:
    """A lower-case Russian word less one case ending, at least 3 letters left."""
    for e in _RU_ENDINGS:
        if word.endswith(e) and len(word) - len(e) >= 3:
            return word[: -len(e)]
    return word


def formal_terms(f: Any) -> set[str]:
    """The world's words a logic `formal` names (see the module docstring)."""
    if not isinstance(f, dict) or "task" in f:
        return set()
    vals: set[Any] = set()
    add = vals.add
    try:  # the well-formed case, fast (a formal can carry dozens of rules)
        for key in ("facts", "states"):
            for t in f.get(key) or ():
                add(t[0])
                add(t[2])
        q = f.get("query")
        if q:
            add(q[0])
            add(q[2])
        for r in f.get("rules") or ():
            for t in r["if"]:
                add(t[0])
                add(t[2])
            t = r["then"]
            add(t[0])
            add(t[2])
    except (TypeError, KeyError, IndexError):
        vals = _terms_slowly(f)
    a = f.get("answer")
    if isinstance(a, str) and a.lower() not in LABELS:
        vals.add(a)
    return {x for x in vals if isinstance(x, str) and x and x[0] != "?"}


def _terms_slowly(f: dict) -> set[Any]:
    """Terms of a formal whose parts are not all where they should be."""
    out: set[Any] = set()

    def atom(t: Any) -> None:
        if isinstance(t, (list, tuple)) and len(t) == 3:
            out.update((t[0], t[2]))

    for key in ("facts", "states"):
        for t in f.get(key) or ():
            atom(t)
    atom(f.get("query"))
    for r in f.get("rules") or ():
        if isinstance(r, dict):
            for t in r.get("if") or ():
                atom(t)
            atom(r.get("then"))
    return out


@lru_cache(maxsize=65536)
def en_keys(term: str) -> tuple[tuple[str, str], ...]:
    """(key, mask) pairs that mask as `term`: each word and its plurals, lower case; the
    first word masks as W, the next ones as C (a name goes on). A name's keys start with
    CAP: they match capitalised words only (a person called "Mean" is not "means")."""
    bare = term[4:] if term.startswith("the ") else term
    cap = CAP if is_name(bare) else ""
    out: dict[str, str] = {}
    for i, w in enumerate(x for x in _WORD_SPLIT.findall(bare.lower()) if not x.isdigit()):
        for form in (w, plural(w), w + "s", w + "es"):
            out.setdefault(cap + form, C if i else W)
    return tuple(out.items())


def is_name(term: str) -> bool:
    """A person's or place's name (capitalised), not a kind or a real word."""
    return term[:1].isupper()


@lru_cache(maxsize=65536)
def is_real(term: str) -> bool:
    """A real word (property, colour, trade, object, state), not a nonce one."""
    from synth.russian.names import REAL_RU, STATES_RU, role_of

    bare = term[4:] if term.startswith("the ") else term
    return bare in REAL_RU or term in STATES_RU or role_of(term) in ("adj", "noun", "state")


@lru_cache(maxsize=65536)
def ru_keys(term: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """((form, mask) pairs, (stem, mask) pairs) that mask as `term` in Russian text; a
    name's keys, and a stem of 3 letters, start with CAP ("Кира": "кир" matches
    capitalised words only, or a name "Ним" would mask "ними")."""
    from synth.russian.names import STATES_RU, surface_ru

    forms: dict[str, str] = {}
    stems: dict[str, str] = {}
    if term in STATES_RU:
        for form in STATES_RU[term][1:]:
            for i, w in enumerate(form.lower().split()):
                for f in _lexeme(w):
                    forms.setdefault(f, C if i else W)
        return tuple(forms.items()), ()
    bare = term[4:] if term.startswith("the ") else term
    cap = CAP if is_name(bare) else ""
    for i, w in enumerate(surface_ru(term).lower().split()):
        mask = C if i else W
        if is_real(term):
            for f in _lexeme(w):
                forms.setdefault(f, mask)
        else:
            stems.setdefault(cap + w, mask)
            st = ru_stem(w)
            stems.setdefault(st if len(st) >= 4 and not cap else CAP + st, mask)
    return tuple(forms.items()), tuple(stems.items())


@lru_cache(maxsize=4096)
def _lexeme(word: str) -> frozenset[str]:
    """Every form of a real Russian word, from pymorphy3's dictionary: the lexemes of all
    its readings ("водяной" the adjective and the noun; "горький" and the surname)."""
    from synth.russian import morph

    forms = {word}
    for p in morph.analyzer().parse(word)[:6]:
        for f in p.lexeme:
            forms.add(f.word)
            forms.add(f.word.replace("ё", "е"))
    return frozenset(forms)


class Masker:
    """Frames of rows' sentences, a batch of rows at a time.

    The world's words are those any logic `formal` read so far names (this row's and every
    earlier row's), kept in a lexicon of at most LEXICON word forms: one dictionary lookup
    per word, for a whole batch of rows in one pass. A row whose own terms no longer fit
    is masked by them alone. Masking by the lexicon also catches a world word a row states
    without its `formal` naming it (a kind named in passing), which would otherwise count
    as wording and make the template look varied; `leaks` finds those words, on the rows
    it is asked about."""

    def __init__(self) -> None:
        self._stems: dict[str, str] = {}
        self.lex: dict[str, str] = {}  # lower-case form -> W / C
        self.lex_stems: dict[str, str] = {}  # Russian stem -> W / C
        self.real: set[str] = set()  # lexicon keys of real words (not counted as leaks)
        self._seen: set[str] = set()  # terms in the lexicon
        self._seen_ru: set[str] = set()
        self.methods: Counter = Counter()  # rows per masking method
        self.resets = 0  # times the lexicon was full and started again

    def frames(self, items: list[tuple[Row, Any, list[str]]]) -> list[list[str]]:
        """Frames of each (row, parsed formal, sentences)."""
        out: list[list[str]] = [[] for _ in items]
        english: list[int] = []
        russian: list[int] = []
        learn: list[tuple[set[str], bool]] = []
        for i, (row, formal, sentences) in enumerate(items):
            terms = formal_terms(formal) if formal is not None else set()
            if not sentences:
                continue
            if not terms:
                self.methods["capitalised"] += 1
                out[i] = _finish(self._by_capitals(_NUMBER.sub(N, "\n".join(sentences))))
                continue
            self.methods["formal"] += 1
            ru = _is_russian(row, sentences)
            (russian if ru else english).append(i)
            learn.append((terms, ru))
        self._learn(learn)
        for idx, ru in ((english, False), (russian, True)):
            if not idx:
                continue
            text = _NUMBER.sub(N, "\n".join(x for i in idx for x in items[i][2]))
            masked = _finish(self._mask(text, ru))
            at = 0
            for i in idx:
                n = len(items[i][2])
                out[i] = masked[at : at + n]
                at += n
        return out

    def leaks(self, formal: Any, sentences: list[str], lang: str) -> list[str]:
        """Nonce world words in the sentences (lexicon kinds, names, places) that `formal`
        does not name. Real words (properties, colours, ...) are left out: "open" in
        "open-world" is not the state."""
        terms = formal_terms(formal) if formal is not None else set()
        if not terms or not sentences:
            return []
        ru = _is_russian(lang, sentences)
        own: tuple[dict[str, str], dict[str, str]] | None = None
        found = []
        for w in dict.fromkeys(_WORD_SPLIT.findall("\n".join(sentences))):  # each word once
            key = _match(w, self.lex, self.lex_stems, ru)
            if key is None or key in self.real:
                continue
            if own is None:
                own = row_keys(terms, ru)
            if _match(w, own[0], own[1], ru) is None:
                found.append(w)
        return found

    def _learn(self, batch: list[tuple[set[str], bool]]) -> None:
        """Add a batch's terms to the lexicon. Past LEXICON forms it starts again (from
        this batch's terms: a row's own words are always there when it is masked)."""
        new = [(t - (self._seen_ru if ru else self._seen), ru) for t, ru in batch]
        if not any(t for t, _ in new):
            return
        if len(self.lex) + len(self.lex_stems) >= LEXICON:
            self.lex.clear()
            self.lex_stems.clear()
            self.real.clear()
            self._seen.clear()
            self._seen_ru.clear()
            self.resets += 1
            new = batch
        for terms, ru in new:
            (self._seen_ru if ru else self._seen).update(terms)
            for t in terms:
                keys = en_keys(t)
                self.lex.update(keys)
                if ru:
                    forms, stems = ru_keys(t)
                    self.lex.update(forms)
                    self.lex_stems.update(stems)
                    keys += forms
                if is_real(t):
                    self.real.update(k for k, _ in keys)

    def _mask(self, text: str, russian: bool) -> str:
        """The text with world words as W (C: the next word of a name)."""
        lg = self.lex.get
        parts = _WORD_SPLIT.split(text)
        words = parts[1::2]
        if not russian:
            parts[1::2] = [
                lg(lw := w.lower()) or (w[:1].isupper() and lg(CAP + lw)) or w for w in words
            ]
            return "".join(parts)
        lsg = self.lex_stems.get
        cache = self._stems
        if len(cache) > 500_000:
            cache.clear()
        masked = []
        for w in words:
            lw = w.lower()
            m = lg(lw) or lsg(lw)
            if m is None:
                st = cache.get(lw)
                if st is None:
                    st = cache[lw] = ru_stem(lw)
                m = lsg(st)
                if m is None and w[:1].isupper():
                    m = lg(CAP + lw) or lsg(CAP + lw) or lsg(CAP + st)
            masked.append(m or w)
        parts[1::2] = masked
        return "".join(parts)

    @staticmethod
    def _by_capitals(text: str) -> str:
        parts = _WORD_SPLIT.split(text)
        starts = [i == 1 or "\n" in parts[i - 1] for i in range(1, len(parts), 2)]
        words = parts[1::2]
        names = {w for w, start in zip(words, starts) if not start and w[:1].isupper() and w != "I"}
        masked = [
            W if w in names or (not start and w[:1].isupper() and w != "I") else w
            for w, start in zip(words, starts)
        ]
        for i in range(1, len(masked)):  # "Bien Bangunust": the name goes on
            if masked[i] is W and masked[i - 1] is W and parts[2 * i] == " ":
                masked[i] = C
        parts[1::2] = masked
        return "".join(parts)


def row_keys(terms: set[str], russian: bool) -> tuple[dict[str, str], dict[str, str]]:
    """(forms, stems) of a row's own terms."""
    forms: dict[str, str] = {}
    stems: dict[str, str] = {}
    for t in terms:
        forms.update(en_keys(t))
        if russian:
            f, st = ru_keys(t)
            forms.update(f)
            stems.update(st)
    return forms, stems


def _match(w: str, forms: dict[str, str], stems: dict[str, str], russian: bool) -> str | None:
    """The key through which a text word masks (see Masker._mask), or None."""
    lw = w.lower()
    cap = w[:1].isupper()
    keys = [lw, CAP + lw] if cap else [lw]
    if russian:
        st = ru_stem(lw)
        keys += [st, CAP + st] if cap else [st]
    for k in keys:
        if k in forms or k in stems:
            return k
    return None


def _is_russian(row_or_lang: Row | str, sentences: list[str]) -> bool:
    lang = row_or_lang if isinstance(row_or_lang, str) else row_or_lang.lang
    if lang:
        return lang.startswith("ru")
    return any(_CYRILLIC.search(x) for x in sentences[:3])


def _finish(masked: str) -> list[str]:
    """Masked text to frames: a name's words, lists of three or more and number runs
    become one mask, "an <>" becomes "a <>"; one frame per line."""
    masked = _NAME_RUNS.sub(W, masked)
    if C in masked:
        masked = masked.replace(C, W)  # a surname alone
    masked = _NUM_RUNS.sub(N, _LISTS.sub(W, masked))
    if "n " + W in masked:
        masked = _AN.sub("", masked)
    return masked.split("\n")


def show(frame: str) -> str:
    """A frame as the report prints it."""
    return frame.replace(W, SHOW[W]).replace(N, SHOW[N])


def fingerprint(frame: str) -> int:
    return zlib.crc32(frame.encode("utf-8", "surrogatepass"))


# --- counting -------------------------------------------------------------------------


class FrameSample:
    """The SAMPLE sentences of smallest priority seen (bottom-k), as (priority, frame
    fingerprint) uint32 pairs, plus a count of every sentence and a Misra-Gries summary
    of frame texts."""

    def __init__(self, k: int = SAMPLE) -> None:
        self.k = k
        self.sentences = 0
        self.prio = np.empty(0, dtype=np.uint32)
        self.fp = np.empty(0, dtype=np.uint32)
        self._bp: list[int] = []
        self._bf: list[int] = []
        self.threshold = 1 << 32  # priorities at or above it can no longer enter
        self.heavy: dict[str, int] = {}

    def offer(self, prios: list[int], frames: list[str]) -> None:
        """Sentences of priority below the threshold, with their frames."""
        self._bp += prios
        self._bf += [fingerprint(f) for f in frames]
        h = self.heavy
        for f in frames:
            h[f] = h.get(f, 0) + 1
        if len(h) > 2 * HEAVY:
            self._prune_heavy()
        if len(self._bp) >= BUFFER:
            self._cut()

    def _prune_heavy(self) -> None:
        """Misra-Gries: subtract the (HEAVY+1)-th largest count from all, drop the rest."""
        counts = sorted(self.heavy.values(), reverse=True)
        d = counts[HEAVY]
        self.heavy = {f: c - d for f, c in self.heavy.items() if c > d}

    def _cut(self) -> None:
        if not self._bp:
            return
        prio = np.concatenate([self.prio, np.array(self._bp, dtype=np.uint32)])
        fp = np.concatenate([self.fp, np.array(self._bf, dtype=np.uint32)])
        self._bp, self._bf = [], []
        if prio.size > self.k:
            # Stable on ties: a lexsort by (priority, fingerprint) picks the same rows
            # whatever the order sentences came in.
            keep = np.lexsort((fp, prio))[: self.k]
            prio, fp = prio[keep], fp[keep]
            self.threshold = int(prio.max())
        self.prio, self.fp = prio, fp

    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """The sample, smallest priority first."""
        self._cut()
        order = np.lexsort((self.fp, self.prio))
        return self.prio[order], self.fp[order]


def summarise(
    sentences: int, prio: np.ndarray, fp: np.ndarray, texts: dict[int, str], shown: int
) -> dict[str, Any]:
    """The figures of one group (or the corpus) from its sorted sample."""
    n = int(fp.size)
    out: dict[str, Any] = {"sentences": sentences, "sampled": n}
    if not n:
        return {**out, "distinct": 0, "distinct_per_100k": None, "top_100_share": None, "top": []}
    values, counts = np.unique(fp, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    values, counts = values[order], counts[order]
    out["distinct"] = int(values.size)
    out["distinct_per_100k"] = int(values.size) if n >= SAMPLE else None
    for size in PREFIXES:
        key = f"distinct_per_{size // 1000}k"
        out[key] = int(np.unique(fp[:size]).size) if n >= size else None
    out["top_100_share"] = round(float(counts[:TOP_K].sum()) / n, 4)
    out["top_10_share"] = round(float(counts[:10].sum()) / n, 4)
    out["top"] = [
        {
            "frame": show(texts[int(v)]) if int(v) in texts else None,
            "count": int(c),
            "share": round(int(c) / n, 4),
        }
        for v, c in zip(values[:shown].tolist(), counts[:shown].tolist())
    ]
    return out


@dataclass
class Defects:
    """Rows with a defect, per group, with a few examples."""

    rows: int = 0
    by_group: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    shown: Counter = field(default_factory=Counter)

    def add(self, row: Row, group: str, detail: str, excerpt: str | Callable[[], str]) -> None:
        """Count a row; keep it as an example while there are few (EXAMPLES, then up to 2
        per group). `excerpt` may be a function: called only for a kept example."""
        self.rows += 1
        self.by_group[group] += 1
        n = len(self.examples)
        if n < EXAMPLES or (self.shown[group] < 2 and n < 4 * EXAMPLES):
            self.shown[group] += 1
            text = excerpt() if callable(excerpt) else excerpt
            self.examples.append(
                {"id": row.id, "template": group, "detail": detail, "excerpt": text[:700]}
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "by_template": dict(self.by_group.most_common()),
            "examples": self.examples,
        }


class FrameMeter:
    """The frame counts and the list / repeat checks, fed batch by batch in corpus order.
    Groups are templates, lumped past MAX_GROUPS as the rest of qa lumps them."""

    def __init__(self, k: int = SAMPLE) -> None:
        self.k = k
        self.masker = Masker()
        self.groups: dict[str, FrameSample] = {}
        self.rows: Counter = Counter()  # rows per group
        self.sentences = 0
        self.masked = 0
        self.seconds = 0.0
        self.mixed_lists = Defects()
        self.repeats = Defects()
        self.leaks = Defects()  # rows stating world words their formal does not name
        self.leak_words: Counter = Counter()
        self.masked_rows: Counter = Counter()

    def _group(self, name: str) -> str:
        return name if name in self.rows or len(self.rows) < MAX_GROUPS else OTHER_GROUP

    def add(self, rows: Iterable[Row]) -> None:
        """Count a batch of rows. A row's parsed `formal` is taken from
        row.meta[FORMAL_PARSED] when qa's correctness check left it there (and removed)."""
        started = time.perf_counter()
        self._add(rows)
        self.seconds += time.perf_counter() - started

    def _add(self, rows: Iterable[Row]) -> None:
        per_row: list[tuple[Row, str, Any, list[str]]] = []
        for row in rows:
            formal = row.meta.pop(FORMAL_PARSED, None)
            if formal is None and row.formal:
                try:
                    formal = json.loads(row.formal)
                except json.JSONDecodeError:
                    formal = None
            group = self._group(row.template)
            self.rows[group] += 1
            sentences, problem, repeated = read_row(row)
            if problem:
                self.mixed_lists.add(row, group, problem, lambda row=row: _list_excerpt(row))
            if repeated:
                self.repeats.add(row, group, f"{len(repeated)} sentence(s) twice", repeated[0])
            per_row.append((row, group, formal, sentences))
        total = sum(len(s) for _, _, _, s in per_row)
        if not total:
            return
        pos = np.arange(self.sentences, self.sentences + total, dtype=np.uint64)
        prios = (splitmix64(pos ^ np.uint64(0xF4A3E5)) >> np.uint64(32)).tolist()
        self.sentences += total
        at = 0
        todo: list[tuple[Row, Any, list[str]]] = []
        where: list[tuple[FrameSample, list[int], str]] = []
        for row, group, formal, sentences in per_row:
            mine = prios[at : at + len(sentences)]
            at += len(sentences)
            sample = self.groups.get(group)
            if sample is None:
                sample = self.groups[group] = FrameSample(self.k)
            sample.sentences += len(sentences)
            t = sample.threshold
            if not sentences or min(mine) >= t:
                continue
            # 1 row in LEAK_RATE among those that may enter the sample (by its first
            # sentence's priority) is checked for world words its formal does not name.
            check = formal is not None and mine[0] < t // LEAK_RATE
            if max(mine) < t or formal is None:  # the capitalised rule reads the whole row
                todo.append((row, formal, sentences))
                where.append((sample, mine, group, sentences, check))
            else:  # only the sentences that may enter the sample: a frame is per sentence
                keep = [i for i, p in enumerate(mine) if p < t]
                todo.append((row, formal, [sentences[i] for i in keep]))
                where.append((sample, [mine[i] for i in keep], group, sentences, check))
        if not todo:
            return
        for (row, formal, masked), (sample, mine, group, sentences, check), frames in zip(
            todo, where, self.masker.frames(todo)
        ):
            self.masked += len(masked)
            t = sample.threshold
            if max(mine) < t:
                sample.offer(mine, frames)
            else:
                keep = [i for i, p in enumerate(mine) if p < t]
                sample.offer([mine[i] for i in keep], [frames[i] for i in keep])
            if check:
                self.masked_rows[group] += 1
                leaked = self.masker.leaks(formal, sentences, row.lang)
                if leaked:
                    self.leak_words[group] += len(leaked)
                    words = ", ".join(dict.fromkeys(leaked))
                    self.leaks.add(row, group, f"{len(leaked)} world word(s) not in formal", words)

    def to_json(self) -> dict[str, Any]:
        groups: dict[str, Any] = {}
        all_prio, all_fp = [], []
        texts: dict[int, str] = {}
        for name, s in self.groups.items():
            prio, fp = s.sorted()
            mine = {fingerprint(f): f for f in s.heavy}
            texts.update(mine)
            groups[name] = summarise(s.sentences, prio, fp, mine, TOP_SHOWN)
            groups[name]["rows"] = self.rows[name]
            all_prio.append(prio)
            all_fp.append(fp)
        prio = np.concatenate(all_prio) if all_prio else np.empty(0, dtype=np.uint32)
        fp = np.concatenate(all_fp) if all_fp else np.empty(0, dtype=np.uint32)
        keep = np.lexsort((fp, prio))[: self.k]
        overall = summarise(self.sentences, prio[keep], fp[keep], texts, 30)
        ordered = dict(sorted(groups.items(), key=lambda kv: -kv[1]["sentences"]))
        return {
            "overall": overall,
            "templates": ordered,
            "unformalised": self.leaks_json(),
            "method": {
                "sample": self.k,
                "sampling": f"per template the {self.k:,} sentences of smallest priority (a "
                "hash of the sentence's position in the corpus): a uniform sample, all "
                f"sentences when fewer; overall the {self.k:,} smallest of those",
                "masking": dict(self.masker.methods.most_common()),
                "sentences_masked": self.masked,
                "fingerprint_bits": 32,
            },
        }

    def formatting_json(self) -> dict[str, Any]:
        per = {
            g: {
                "rows": self.rows[g],
                "mixed_lists": self.mixed_lists.by_group.get(g, 0),
                "repeated_sentences": self.repeats.by_group.get(g, 0),
            }
            for g in sorted(self.rows, key=lambda g: -self.rows[g])
        }
        return {
            "mixed_lists": self.mixed_lists.to_json(),
            "repeated_sentences": self.repeats.to_json(),
            "templates": per,
        }

    def leaks_json(self) -> dict[str, Any]:
        """Rows whose text names world words (known from other rows' formal) that their own
        formal does not: counted on the rows whose frames were counted."""
        return {
            **self.leaks.to_json(),
            "words_by_template": dict(self.leak_words.most_common()),
            "rows_checked": dict(self.masked_rows.most_common()),
            "checked": f"rows whose first sentence's priority is in the lowest 1/{LEAK_RATE} of "
            "what their template's sample takes at the time: a uniform share of the rows",
            "lexicon_forms": len(self.masker.lex) + len(self.masker.lex_stems),
        }


def _list_excerpt(row: Row) -> str:
    """The lines of the first checked document that carry list markers, and their
    neighbours, to show what the reader sees."""
    for text, checked in frame_docs(row):
        if not checked:
            continue
        lines = text.split("\n")
        marked = [
            i for i, ln in enumerate(lines) if ln.strip()[:1].isdigit() or ln.strip()[:1] in "-*+•"
        ]
        if marked:
            lo, hi = max(0, marked[0] - 1), min(len(lines), marked[-1] + 2)
            return "\n".join(lines[lo:hi])
    return ""


# --- verdict --------------------------------------------------------------------------


def few_frames(t: dict[str, Any]) -> bool:
    """A group's frames are few (see FEW_TOP_SHARE)."""
    share = t.get("top_100_share")
    return (
        share is not None and t.get("sentences", 0) >= FEW_MIN_SENTENCES and (share > FEW_TOP_SHARE)
    )


def frame_problems(q: dict[str, Any]) -> list[dict[str, Any]]:
    """(severity, title, evidence, ids, weight) dicts for the verdict."""
    out: list[dict[str, Any]] = []
    fr = q.get("frames")
    if not fr:
        return out
    templates = fr["templates"]
    for name, t in templates.items():
        if not few_frames(t):
            continue
        top = t["top"][0] if t["top"] else {}
        per = (
            f"{t['distinct_per_100k']:,} distinct per 100k sentences"
            if t.get("distinct_per_100k") is not None
            else f"{t['distinct']:,} distinct in its {t['sampled']:,} sentences"
        )
        out.append({
            "severity": "minor", "section": "frames",
            "title": f"template {name}: few sentence frames, the top 100 are "
                     f"{t['top_100_share']:.0%} of its sentences",
            "evidence": f"{per}; most common: {top.get('frame')!r} ({top.get('share', 0):.1%}). "
                        f"Flagged above {FEW_TOP_SHARE:.0%} on {FEW_MIN_SENTENCES:,}+ sentences.",
            "ids": [], "weight": t["sentences"] * t["top_100_share"],
        })  # fmt: skip
    o = fr["overall"]
    if len(templates) > 1 and few_frames(o):
        out.append({
            "severity": "minor", "section": "frames",
            "title": f"the corpus's 100 most common sentence frames are {o['top_100_share']:.0%} "
                     "of its sentences",
            "evidence": f"{o['sentences']:,} sentences; "
                        + (f"{o['distinct_per_100k']:,} distinct frames per 100k sentences"
                           if o.get("distinct_per_100k") is not None
                           else f"{o['distinct']:,} distinct frames in all of them"),
            "ids": [], "weight": o["sentences"],
        })  # fmt: skip
    u = fr.get("unformalised") or {}
    checked = u.get("rows_checked") or {}
    for name, n in (u.get("by_template") or {}).items():
        share = n / max(checked.get(name) or 0, 1)
        if n < 2 or share <= DEFECT_SHARE:
            continue
        ex = [e for e in u.get("examples", []) if e["template"] == name]
        words = "; ".join(f"{e['id']}: {e['excerpt']}" for e in ex[:2])
        out.append({
            "severity": "minor", "section": "frames",
            "title": f"template {name}: {n:,} of {checked.get(name, 0):,} checked rows ({share:.0%}) "
                     "state world words their formal does not name",
            "evidence": f"facts nothing re-derives; {words}",
            "ids": [e["id"] for e in ex[:10]], "weight": n * LEAK_RATE,
        })  # fmt: skip
    fm = q.get("formatting") or {}
    for key, what in (
        ("mixed_lists", "mix list markers or break their numbering"),
        ("repeated_sentences", "state the same sentence twice"),
    ):
        d = fm.get(key) or {}
        for name, n in (d.get("by_template") or {}).items():
            rows = (fm.get("templates") or {}).get(name, {}).get("rows") or 0
            share = n / max(rows, 1)
            if n < 2 or share <= DEFECT_SHARE:
                continue
            ex = [e for e in d.get("examples", []) if e["template"] == name]
            out.append({
                "severity": "major" if share >= DEFECT_MAJOR_SHARE else "minor",
                "section": "formatting",
                "title": f"template {name}: {n:,} of {rows:,} rows ({share:.0%}) {what}",
                "evidence": "; ".join(f"{e['id']}: {e['detail']}" for e in ex[:2]),
                "ids": [e["id"] for e in ex[:10]], "weight": n,
            })  # fmt: skip
    return out
