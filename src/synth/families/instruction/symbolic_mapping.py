"""Symbolic mappings given in the prompt: a made-up lexicon ("in Zorbish, 'kel' means
red") or a made-up cipher (a letter key, a digit code, letter positions, a mirror
alphabet), applied exactly.

params: `mode` — "lexicon" or "cipher".
Lexicon vars: `language`, `lexicon` (pairs [word, english], shuffled, with unused
entries), `direction` ("to_english" / "from_english"), `source` (the text to
translate), `reversed_order` (the language writes words in the opposite order),
`pairs` (each source word with its translation, in source order; `formal` carries the
translations as `steps`, the word-by-word lookup a reply may write).
Cipher vars: `cipher` (substitution / digits / positions / mirror), `direction`
("encode" / "decode"), `key` (pairs [from, to] where the cipher has a key), `offset`
(positions), `source`, `expected`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, choices, family
from synth.families.instruction.common import (
    LANG_SUFFIXES,
    NONCE,
    NONCE_SHORT,
    SHORT_WORDS,
    level,
    make_draw,
    retry,
    scorer,
)

FAMILY = "symbolic_mapping"
LOWER = "abcdefghijklmnopqrstuvwxyz"

ADJ = "red blue green big small new young quick slow happy sad cold warm dark bright tall loud soft round heavy".split()
NOUN = "cat dog bird tree river house child boat stone moon sun fish horse king queen road hill door book pear wolf ship".split()
VERB = "sees eats finds likes carries follows hears builds paints holds wants keeps".split()
OTHER = "the a near under with behind and".split()
PATTERNS = [
    ["NOUN", "VERB"],
    ["ADJ", "NOUN"],
    ["the", "NOUN", "VERB"],
    ["the", "ADJ", "NOUN", "VERB"],
    ["the", "NOUN", "VERB", "the", "NOUN"],
    ["a", "ADJ", "NOUN", "VERB", "the", "NOUN"],
    ["the", "ADJ", "NOUN", "VERB", "a", "ADJ", "NOUN"],
    ["the", "NOUN", "near", "the", "NOUN", "VERB", "a", "NOUN"],
    ["the", "ADJ", "NOUN", "and", "the", "NOUN", "VERB", "the", "ADJ", "NOUN"],
]
LEX_WORDS = NONCE[:1500]
POSITION_WORDS = {d: [w for w in SHORT_WORDS + NONCE_SHORT if len(w) <= 3 + d] for d in range(1, 6)}
CODE_SYLLABLES = [w for w in NONCE if 2 <= len(w) <= 4][:400]


def language_name(r: random.Random) -> str:
    w = r.choice(NONCE[1500:2500])
    suf = r.choice(LANG_SUFFIXES)
    if w[-1] in "aeiou" and suf[0] in "aeiou":
        w = w[:-1]
    return (w + suf).capitalize()


def _sentence(r: random.Random, d: int) -> list[str]:
    pat = PATTERNS[min(len(PATTERNS) - 1, r.randint(max(0, d - 3), min(len(PATTERNS) - 1, d)))]
    pools = {"ADJ": ADJ, "NOUN": NOUN, "VERB": VERB}
    return [r.choice(pools[p]) if p in pools else p for p in pat]


def _lexicon(ctx: ItemContext, r: random.Random, d: int) -> Draw | None:
    words = _sentence(r, d)
    vocab = list(dict.fromkeys(words))
    extra_pool = [w for w in ADJ + NOUN + VERB + OTHER if w not in vocab]
    vocab_all = vocab + r.sample(extra_pool, min(len(extra_pool), 1 + d // 2 + r.randint(0, 2)))
    nonce = r.sample(LEX_WORDS, len(vocab_all))
    en2x = dict(zip(vocab_all, nonce, strict=True))
    x2en = {x: e for e, x in en2x.items()}
    reversed_order = d >= 4 and r.random() < 0.5
    direction = r.choice(["to_english", "from_english"])
    x_words = [en2x[w] for w in words]
    if reversed_order:
        x_words = x_words[::-1]
    if direction == "to_english":
        source, target = x_words, (x_words[::-1] if reversed_order else x_words)
        expected_words = [x2en[w] for w in target]
        pairs = [[w, x2en[w]] for w in source]
    else:
        source = words
        expected_words = x_words
        pairs = [[w, en2x[w]] for w in source]
    pairs = list({a: [a, b] for a, b in pairs}.values())  # each word once, in order
    lexicon = [[en2x[w], w] for w in vocab_all]
    r.shuffle(lexicon)
    language = language_name(r)
    expected = " ".join(expected_words)
    return make_draw(
        ctx,
        "mapping.lexicon",
        {
            "language": language,
            "lexicon": lexicon,
            "direction": direction,
            "reversed_order": reversed_order,
            "source": " ".join(source),
        },
        expected,
        probe_kind="mapping.lexicon" + ("-reversed" if reversed_order else ""),
        formal_steps=[b for _, b in pairs],
        language=language,
        lexicon=lexicon,
        direction=direction,
        source=" ".join(source),
        reversed_order=reversed_order,
        pairs=pairs,
    )


def _message(r: random.Random, d: int) -> str:
    n = 1 + (d >= 3) + (d >= 5) + (d >= 7)
    return " ".join(
        r.choice(SHORT_WORDS) if r.random() < 0.6 else r.choice(NONCE_SHORT) for _ in range(n)
    )


def _cipher(ctx: ItemContext, r: random.Random, d: int) -> Draw | None:
    kind = r.choice(["substitution", "substitution", "digits", "positions", "mirror"])
    direction = r.choice(["encode", "decode"])
    key: list[list[str]] = []
    offset = 0
    if kind == "substitution":
        plain = _message(r, d)
        letters = sorted(set(plain) - {" "})
        chosen = r.sample(letters, min(len(letters), 2 + d))
        extra = r.sample([c for c in LOWER if c not in chosen], min(2 + d // 2, 26 - len(chosen)))
        order = chosen + extra
        r.shuffle(order)
        mapping = {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}
        key = sorted([a, b] for a, b in mapping.items())
        coded = "".join(mapping.get(c, c) for c in plain)
    elif kind == "mirror":
        plain = _message(r, d)
        coded = "".join(LOWER[25 - LOWER.index(c)] if c in LOWER else c for c in plain)
    elif kind == "digits":
        syl = r.sample(CODE_SYLLABLES, 10)
        key = [[str(i), syl[i]] for i in range(10)]
        n = r.randint(10 ** (1 + d // 2), 10 ** (2 + d // 2) - 1)
        plain = str(n)
        coded = "-".join(syl[int(c)] for c in plain)
    else:  # positions
        plain = r.choice(POSITION_WORDS[min(d, 5)])
        offset = 0 if d <= 2 or r.random() < 0.4 else r.randint(1, 5)
        coded = "-".join(str(LOWER.index(c) + 1 + offset) for c in plain)
    source, expected = (plain, coded) if direction == "encode" else (coded, plain)
    if coded == plain:
        return None
    return make_draw(
        ctx,
        f"mapping.{kind}",
        {"cipher": kind, "direction": direction, "key": key, "offset": offset, "source": source},
        expected,
        probe_kind=f"mapping.{kind}-{direction}",
        cipher=kind,
        direction=direction,
        key=key,
        offset=offset,
        source=source,
    )


@dataclass(frozen=True)
class Params:
    mode: str = choices("lexicon", "cipher")


def _norm(s: str) -> str:
    return " ".join(s.strip().strip(".").split())


score = scorer(_norm)


@family(FAMILY, "instruction", params=Params, score=score)
def symbolic_mapping(ctx: ItemContext) -> Draw:
    """Apply a made-up lexicon or cipher given in the prompt."""
    d = level(ctx)
    mode = ctx.params.mode
    make = _lexicon if mode == "lexicon" else _cipher
    return retry(ctx, lambda r: make(ctx, r, d))
