"""The filter chain: each filter rejects what it exists for and keeps good text."""

from __future__ import annotations

import json
import pickle
import random
import re
import string

import numpy as np
import pytest

from synth.errors import UserError
from synth.filters import (
    FilterChain,
    MinHasher,
    U64Set,
    build_chain,
    build_corpus_chain,
    build_sample_chain,
    content_of,
    merge_stats,
    response_of,
)
from synth.filters.answer import AnswerFilter, normalize_answer
from synth.filters.balance import BalanceFilter
from synth.filters.compression import CompressionFilter
from synth.filters.contamination import ContaminationFilter, Probe, task_key
from synth.filters.diversity import DiversityFilter
from synth.filters.entropy import EntropyFilter, char_entropy
from synth.filters.exact_dedup import ExactDedupFilter, normalize
from synth.filters.language import LanguageFilter, script_share
from synth.filters.length import LengthFilter
from synth.filters.near_dedup import EMPTY, NearDedupFilter
from synth.filters.repetition import GOPHER_DUP, GOPHER_TOP, RepetitionFilter
from synth.row import Row

EN_PROSE = (
    "The town stood on a high bank above the river, and every morning a thick fog rose "
    "from the water. The fishermen went down to their boats before dawn, talking quietly "
    "and watching the sky grow pale over the distant forest. By noon the fog had lifted, "
    "the market opened on the square, and until evening it was full of traders, buyers "
    "and wandering musicians.\n\n"
    "To solve the problem, we first write down every known fact. Every cat is a mammal, "
    "and every mammal breathes air. Tom is a cat who lives in Kazan. From the first two "
    "statements it follows that every cat breathes air; since Tom is a cat, he breathes "
    "air as well, so the statement about Tom is true.\n\n"
    "Photosynthesis is the process by which green plants, algae and some bacteria turn "
    "the energy of sunlight into chemical energy. Glucose and oxygen are made from carbon "
    "dioxide and water, in the chloroplasts, where the pigment chlorophyll absorbs mostly "
    "red and blue light."
)
RU_PROSE = (
    "Город стоял на высоком берегу реки, и по утрам над водой поднимался густой туман. "
    "Рыбаки выходили к лодкам ещё затемно, переговаривались вполголоса и курили, глядя, "
    "как медленно светлеет небо над дальним лесом. К полудню туман рассеивался, на "
    "площади открывался рынок, и до самого вечера там шумели торговцы, покупатели и "
    "бродячие музыканты.\n\n"
    "Чтобы решить задачу, сначала выпишем все известные факты. Каждый кот является "
    "млекопитающим. Каждое млекопитающее дышит воздухом. Мурзик — кот, который живёт в "
    "Казани. Из первых двух утверждений следует, что каждый кот дышит воздухом. Поскольку "
    "Мурзик — кот, он тоже дышит воздухом. Следовательно, утверждение истинно.\n\n"
    "Фотосинтез — это процесс, при котором зелёные растения, водоросли и некоторые "
    "бактерии превращают энергию солнечного света в химическую энергию."
)

_ids = iter(range(10**9))


def row(
    text: str = EN_PROSE,
    *,
    lang: str = "en",
    template: str = "t",
    answer: str | None = None,
    messages: list[dict[str, str]] | None = None,
    stage: int = 0,
    n_tokens: int = 200,
    id: str | None = None,
) -> Row:
    return Row(
        id=id or f"r{next(_ids)}",
        text=text,
        messages=messages,
        n_tokens=n_tokens,
        tier="test",
        kind="logic",
        template=template,
        lang=lang,
        stage=stage,
        concepts=[],
        difficulty=1,
        answer=answer,
        formal=None,
        seed=0,
    )


def chat(user: str, assistant: str, **kw) -> Row:
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return row(text, messages=messages, **kw)


def random_chars(n: int, seed: int = 0, alphabet: str = string.printable[:94] + " ") -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def token_soup(n_tokens: int, seed: int = 0) -> str:
    """Shuffled tokens: what decoding random token ids of a multilingual BPE looks like."""
    vocab = ["ing", " the", "▁of", "ab", "xq", "42", "::", "»", "при", "ция", "{", "}", "=>",
             "_id", "0x", "ö", " tion", "!", "http", "##", "·", " ку", "ся", "};"]  # fmt: skip
    rng = random.Random(seed)
    return "".join(rng.choice(vocab) for _ in range(n_tokens))


# --- content_of / response_of ---------------------------------------------------------


def test_content_and_response_look_inside_the_chat_template():
    r = chat("What is 2 + 2?", "Four.\nAnswer: 4")
    assert "<|im_start|>" in r.text
    assert content_of(r) == "What is 2 + 2?\n\nFour.\nAnswer: 4"
    assert response_of(r) == "Four.\nAnswer: 4"
    plain = row("Just text.\nAnswer: 4")
    assert content_of(plain) == response_of(plain) == plain.text
    assert response_of(row("x", messages=[{"role": "user", "content": "q"}])) == ""


# --- per-sample filters ---------------------------------------------------------------


def test_length_bounds():
    f = LengthFilter(min=50, max=4000)
    assert f.reason(row(n_tokens=10)) == "length_short"
    assert f.reason(row(n_tokens=5000)) == "length_long"
    assert f.reason(row(n_tokens=50)) is None and f.reason(row(n_tokens=4000)) is None


def test_entropy_rejects_noise_and_degenerate_text_keeps_prose():
    f = EntropyFilter()
    assert f.reason(row(EN_PROSE)) is None
    assert f.reason(row(RU_PROSE, lang="ru")) is None
    assert f.reason(row(random_chars(800))) == "entropy_high"
    assert f.reason(row("0 " * 300)) == "entropy_low"
    assert f.reason(row("!!")) is None  # too short to judge
    assert 4.0 < char_entropy(EN_PROSE) < 4.6


def test_compression_rejects_collapse_and_noise_keeps_prose():
    f = CompressionFilter()
    collapsed = "The quick brown fox jumps over the lazy dog near the river bank. " * 30
    assert f.reason(row(collapsed)) == "compression_low"
    noise = random_chars(1500, alphabet=string.ascii_letters + string.digits)
    assert f.reason(row(noise)) == "compression_high"
    for text, lang in ((EN_PROSE, "en"), (RU_PROSE, "ru")):
        for cut in (250, 500, 800, len(text)):
            assert f.reason(row(text[:cut], lang=lang)) is None, (lang, cut)
    assert f.reason(row(noise[:150])) is None  # short texts are not judged


def test_compression_ratio_equals_zlibs_with_its_default_window():
    import random
    import zlib

    from synth.filters.compression import compression_ratio

    rng = random.Random(3)
    texts = [EN_PROSE, RU_PROSE, EN_PROSE * 40, "ab" * 20_000]  # the last two pass 32 KiB
    texts += [random_chars(n) for n in (1, 7, 250, 251, 262, 263, 511, 774, 775, 5000)]
    texts += [EN_PROSE[: rng.randrange(1, len(EN_PROSE))] for _ in range(200)]
    for t in texts:
        data = t.encode("utf-8")
        assert compression_ratio(data) == len(zlib.compress(data, 6)) / len(data), len(data)


def test_compression_band_widens_for_short_texts():
    f = CompressionFilter(max=0.45, slack=6.0)
    assert f.upper(200) > f.upper(800) > f.upper(3200) > 0.45
    assert CompressionFilter(slack=0).upper(200) == pytest.approx(0.45)


def test_repetition_rejects_a_collapsed_sample():
    sentence = "The cat sat on the mat and looked at the door."
    assert RepetitionFilter().reason(row("\n".join([sentence] * 10))) == "loop"
    interleaved = "\n".join(f"{sentence}\nStep {i} is done." for i in range(6))
    assert RepetitionFilter().reason(row(interleaved)) == "dup_line_frac"
    assert build_sample_chain({}).reason(row(sentence * 30)) is not None


def test_repetition_rejects_looping_output():
    looping = chat(
        "How many legs do three cats have?",
        "Each cat has four legs, so three cats have twelve legs. "
        + "So the answer is twelve, as shown above. " * 5,
    )
    assert RepetitionFilter().reason(looping) == "loop"


def test_repetition_gopher_ngram_rules():
    f = RepetitionFilter()
    rng = random.Random(1)
    words = EN_PROSE.split()
    top = " ".join(f"the cat {rng.choice(words)}" for _ in range(40))
    assert f.check(top) == "top_2_gram"
    one_line = EN_PROSE.replace("\n\n", " ")
    repeated = " ".join([one_line] * 3)  # a text pasted thrice, on one line: not dup_line
    assert re.fullmatch(r"dup_\d+_gram", f.check(repeated) or "")
    gopher = RepetitionFilter(top_ngrams=GOPHER_TOP, dup_ngrams=GOPHER_DUP)
    para = EN_PROSE.split("\n\n")[1]
    assert f.check(" ".join([para, one_line])) is None  # one paragraph again: 0.25
    assert re.fullmatch(r"dup_\d+_gram", gopher.check(" ".join([para, one_line])) or "")


def test_repetition_keeps_prose_rules_and_code():
    f = RepetitionFilter()
    assert f.reason(row(EN_PROSE)) is None
    assert f.reason(row(RU_PROSE, lang="ru")) is None
    table = "| a | b |\n|---|---|\n" + "-" * 60 + "\n" + "0 " * 16 + "\n" + EN_PROSE
    assert f.reason(row(table)) is None  # rules and a row of zeros are not loops
    code = "Here is the fix:\n```c\nif (x) {\n  y();\n}\n}\n}\n}\n```\n" + EN_PROSE[:400]
    assert f.reason(row(code)) is None  # brace lines are not duplicate lines
    restated = chat(EN_PROSE[:600], "Rewritten:\n" + EN_PROSE[:600])
    assert f.reason(restated) is None  # each message is checked on its own


def test_noise_is_rejected_by_the_sample_chain():
    chain = build_sample_chain({})
    assert chain.reason(row(random_chars(800, seed=3))) == "entropy_high"
    soup = token_soup(400, seed=4)
    assert chain.reason(row(soup)) is not None
    assert chain.reason(row(EN_PROSE)) is None
    assert chain.reason(row(RU_PROSE, lang="ru")) is None


def test_language_by_script():
    f = LanguageFilter()
    assert f.reason(row(RU_PROSE, lang="ru")) is None
    assert f.reason(row(RU_PROSE, lang="en")) == "language_mismatch"
    assert f.reason(row(EN_PROSE, lang="ru")) == "language_mismatch"
    assert f.reason(row(EN_PROSE, lang="en")) is None
    code_ru = (
        "Рассмотрим функцию `sort_numbers`, которая принимает список чисел и возвращает "
        "новый список, отсортированный по возрастанию:\n```python\ndef sort_numbers(xs):\n"
        "    return sorted(xs, key=lambda value: value)\n```\nФункция использует sorted и "
        "работает за O(n log n); параметр xs не изменяется, см. docs.python.org."
    )
    assert f.reason(row(code_ru, lang="ru")) is None  # Latin identifiers and code allowed
    assert f.reason(row("42 + 17 = 59", lang="ru")) is None  # too few letters to judge
    strict = LanguageFilter(min_share={"ru": 1.0})  # "sorted", "log" are Latin words
    assert strict.reason(row(code_ru, lang="ru")) == "language_mismatch"
    assert f.reason(row(EN_PROSE, lang="de")) is None  # no script known: not checked


def test_english_with_non_ascii_punctuation_is_judged_as_by_counting():
    # English text whose only non-ASCII characters are not letters is Latin throughout;
    # that shortcut must agree with counting the letters.
    f = LanguageFilter(min_share={"en": 1.0}, min_letters=1)
    rng = random.Random(3)
    alphabet = "ab Z9_—“”…²½٣éßжΩ\u00a0"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        share, letters = script_share(text, "en")
        expected = "language_mismatch" if letters and share < 1.0 else None
        assert f.reason(row(text, lang="en")) == expected, text
    assert f.reason(row("Rex — the “best” potter…", lang="en")) is None
    assert f.reason(row("Rex — the best гончар", lang="en")) == "language_mismatch"


def test_answer_checks_the_final_answer():
    f = AnswerFilter()
    ok = [
        ("Reasoning.\nAnswer: true", "true"),
        ("Reasoning.\n**Answer:** True.", "true"),
        ("Reasoning.\nanswer: Yes", "true"),
        ("Reasoning.\nAnswer: `42`", "42"),
        ('Answer: 41\nOn second thought...\nAnswer: "42"', "42"),  # the last line counts
        ("Reasoning.\nAnswer:\nunknown", "unknown"),
        ("Here is the code:\n```python\nprint(1)\n```", "print(1)"),  # verbatim, no line
        ("Answer: True, because every cat is a mammal.", "true"),
    ]
    for response, gold in ok:
        assert f.reason(chat("q?", response, answer=gold)) is None, (response, gold)
    for word, gold in (("да", "true"), ("Неверно", "false"), ("неизвестно", "unknown")):
        r = chat("вопрос?", f"Рассуждение.\nОтвет: {word}", answer=gold, lang="ru")
        assert f.reason(r) is None, word
    assert f.reason(chat("q?", "Reasoning.\nAnswer: false", answer="true")) == "answer_wrong"
    assert f.reason(chat("q?", "Reasoning.\nAnswer: 41", answer="42")) == "answer_wrong"
    assert f.reason(chat("q?", "Let me think. First, the", answer="42")) == "answer_missing"
    assert f.reason(chat("q?", "Reasoning.\nAnswer:", answer="42")) == "answer_missing"
    assert f.reason(chat("q?", "anything", answer=None)) is None
    assert normalize_answer(' **"Paris".** ') == "paris"


# --- dedup ------------------------------------------------------------------------------


def test_u64set_matches_a_python_set():
    rng = np.random.default_rng(0)
    s, ref = U64Set(16), set()
    for step in range(200):
        keys = rng.integers(0, 2**64 - 1, int(rng.integers(1, 80)), dtype=np.uint64)
        if step % 5 == 0:
            keys = np.concatenate([keys, np.zeros(1, dtype=np.uint64)])  # 0 is a key too
        if step % 2:
            s.add(keys)
        else:
            for k in keys.tolist():
                s.add_one(k)
        ref.update(keys.tolist())
        probe = np.concatenate([keys, rng.integers(0, 2**64 - 1, 40, dtype=np.uint64)])
        assert s.contains(probe).tolist() == [k in ref for k in probe.tolist()]
    assert len(s) == len(ref)
    assert 8 / 0.7 <= s.nbytes / len(s) <= 8 / 0.7 * 2 + 1e-9
    t = pickle.loads(pickle.dumps(s))
    t.add_one(12345)
    assert t.has_one(12345) and t.contains(np.array([12345], dtype=np.uint64))[0]


def test_exact_dedup_on_normalized_content():
    chain = FilterChain([ExactDedupFilter()])
    assert chain.reason(row("Hello, World!  Is it 2-3?")) is None
    assert chain.reason(row("hello world is it 2 3")) == "exact_dup"
    assert chain.reason(row("hello world is it 23")) is None  # punctuation is a space
    assert chain.reason(chat("Hello", "World")) is None  # content, not the chat wrapper
    assert normalize("«Привет», — сказал он.") == "привет сказал он"
    details = chain.stats()["filters"]["exact_dedup"]["details"]
    assert details["keys"] == 3


def test_minhash_is_deterministic_and_batched():
    texts = [EN_PROSE, EN_PROSE[:300], "", "one two", RU_PROSE] + [
        f"sample {i} of a template with slot {i * 7}" for i in range(50)
    ]
    mh = MinHasher()
    batch = mh.signatures(texts)
    assert batch.shape == (len(texts), 112) and batch.dtype == np.uint32
    assert (batch == mh.signatures_of_sets([mh.shingles(t) for t in texts])).all()
    sets = mh.shingle_sets(texts)  # one sort for all texts: each text's own sorted set
    assert all(np.array_equal(got, mh.shingles(t)) for got, t in zip(sets, texts, strict=True))
    assert (batch == MinHasher().signatures(texts)).all()
    assert (batch[2] == EMPTY).all() and not (batch[3] == EMPTY).all()
    assert not (batch == MinHasher(seed=2).signatures(texts)).all()


def test_minhash_estimates_jaccard():
    mh = MinHasher()
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 400, dtype=np.uint64)
    for shared in (60, 120, 180):  # two sets of 200 with `shared` in common
        a, b = base[:200], base[200 - shared : 400 - shared]
        true = shared / (400 - shared)
        est = (mh.signatures_of_sets([a])[0] == mh.signatures_of_sets([b])[0]).mean()
        assert abs(est - true) < 0.15, (shared, true, est)


def test_minhash_does_not_depend_on_python_hash_seed():
    import os
    import subprocess
    import sys

    code = (
        "from synth.filters import MinHasher;"
        "print(MinHasher().signatures(['the same words in the same order'])[0][:4].tolist())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


# A wordy template: much fixed wording, a few slots. On plain shingles its samples look
# alike; only the filled-in part tells them apart.
WORDY = (
    "Read the facts below carefully and decide whether the statement that follows them is "
    "true, false or unknown. Explain your reasoning in two or three sentences, and give the "
    "final answer on its own line at the end. Facts: {a} is a {j} who lives in {c}. {b} "
    "owns {k} {o}s and a {adj} {n}. Every {n} in {c} is {adj2}. Statement: {a} owns a "
    "{adj2} {n}. Think about which facts matter and which do not, and do not assume "
    "anything that the facts do not say."
)


def nonce_names(n: int, seed: int) -> list[str]:
    """Invented names, as a synth world has them ("Glaor Tranane", "Faaro")."""
    rng = random.Random(seed)
    syllables = [a + b for a in ("b", "dr", "f", "gl", "k", "m", "pl", "s", "tr", "v", "z")
                 for b in ("a", "e", "i", "o", "u", "ao", "ei")]  # fmt: skip
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.sample(syllables, rng.randint(2, 3))).capitalize())
    return sorted(names)


NAMES, SURNAMES, CITIES = nonce_names(300, 1), nonce_names(300, 2), nonce_names(100, 3)
JOBS = "baker teacher pilot farmer nurse judge miner sailor tailor potter".split()
THINGS = "lamp book chair clock key map coin ring bell cup".split()
ANIMALS = "cat dog fox owl bear wolf lynx hawk crow mole frog toad".split()
ADJS = "red blue green small large quick slow bright dark heavy".split()


def wordy_sample(rng: random.Random) -> str:
    def person() -> str:
        return f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}"

    return WORDY.format(
        a=person(), b=person(), j=rng.choice(JOBS), c=rng.choice(CITIES), k=rng.randint(2, 999),
        o=rng.choice(THINGS), adj=rng.choice(ADJS), adj2=rng.choice(ADJS), n=rng.choice(ANIMALS),
    )  # fmt: skip


def change_words(text: str, k: int, rng: random.Random) -> str:
    """A near duplicate: k words replaced by other words."""
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    out, last = [], 0
    for a, b in sorted(rng.sample(spans, k)):
        out += [text[last:a], rng.choice(ANIMALS + THINGS + ADJS)]
        last = b
    return "".join(out) + text[last:]


def test_near_dedup_keeps_distinct_samples_of_a_wordy_template():
    rng = random.Random(7)
    rows = [row(wordy_sample(rng), template="wordy") for _ in range(600)]
    plain = FilterChain([NearDedupFilter(calibration=0)])  # MinHash LSH on all shingles
    calibrated = FilterChain([NearDedupFilter()])
    plain_kept = sum(plain.keep(r) for r in rows)
    calibrated_kept = sum(calibrated.keep(r) for r in rows)
    assert plain_kept < 0.95 * len(rows)  # the shared skeleton makes siblings look alike
    assert calibrated_kept == len(rows)
    assert calibrated.stats()["filters"]["near_dedup"]["details"]["calibrated"] == 1


def test_near_dedup_catches_a_few_words_changed():
    rng = random.Random(8)
    facts = [wordy_sample(rng).split("Facts: ")[1].split(" Statement")[0] for _ in range(4000)]
    rows, planted = [], []
    for i in range(400):  # paragraphs of filled-in facts: the content a near copy repeats
        text = WORDY.split("Facts:")[0] + " ".join(rng.sample(facts, 8))
        rows.append(row(text, template="facts", id=f"o{i}"))
    chain = FilterChain([NearDedupFilter()])
    assert all(chain.keep(r) for r in rows)
    for i, original in enumerate(rng.sample(rows[100:], 30)):
        copy = row(change_words(original.text, 1 + i % 2, rng), template="facts", id=f"p{i}")
        planted.append(chain.reason(copy))
    assert planted.count("near_dup") >= 29
    fresh = [row(WORDY.split("Facts:")[0] + " ".join(rng.sample(facts, 8)), template="facts")]
    assert chain.reason(fresh[0]) is None


def test_near_dedup_is_per_template():
    rng = random.Random(9)
    text = EN_PROSE + " " + wordy_sample(rng)
    chain = FilterChain([NearDedupFilter(calibration=0)])
    assert chain.reason(row(text, template="a")) is None
    assert chain.reason(row(change_words(text, 1, rng), template="a")) == "near_dup"
    assert chain.reason(row(text + " Extra.", template="b")) is None


# --- contamination ------------------------------------------------------------------------


def test_contamination_rejects_planted_probes():
    rng = random.Random(10)
    probe_q = wordy_sample(rng)
    probes = [
        f"<|im_start|>user\n{probe_q}<|im_end|>\n<|im_start|>assistant\nAnswer: true<|im_end|>\n"
    ]
    probes += [wordy_sample(rng) for _ in range(20)]  # prompts only, as the pipeline passes
    chain = build_corpus_chain({"near_dedup": {"warmup": 10}}, probes=probes)
    for _ in range(30):  # the template's own samples: distinct, kept, and they calibrate it
        assert chain.reason(chat(wordy_sample(rng), "Answer: true", template="wordy")) is None
    assert chain.reason(chat(probe_q, "Answer: true", template="wordy")) == "contamination_exact"
    inside = chat("Here is a puzzle.\n\n" + probe_q, "Answer: false", template="other")
    assert chain.reason(inside) == "contamination_question"
    near = chat(change_words(probes[5], 1, rng), "Answer: unknown", template="wordy")
    assert chain.reason(near) == "contamination_near"
    assert chain.reason(chat(wordy_sample(rng), "Answer: true", template="wordy")) is None
    counts = chain.stats()["filters"]["contamination"]["rejected"]
    assert counts == {
        "contamination_exact": 1,
        "contamination_near": 1,
        "contamination_question": 1,
    }


def test_contamination_near_needs_the_whole_question_near_too():
    """A name asked about often becomes part of its template's skeleton (frequent in the
    first rows). Removed from the row's side only, it made "… ancestor of Skiso
    Lirbreick?" look like a probe's "… ancestor of Toen Kolpaow?": two questions that
    differ in a name are different questions."""
    rng = random.Random(11)
    probe = "Can we say that Bralen Shaell is an ancestor of Toen Kolpaow?"
    chain = build_corpus_chain({"near_dedup": {"warmup": 10}}, probes=[probe])
    for _ in range(30):  # calibration: Skiso Lirbreick is asked about in every row
        q = f"Can we say that {rng.choice(NAMES)} {rng.choice(SURNAMES)} is an ancestor of Skiso Lirbreick?"
        assert chain.reason(chat(q, "Answer: True", template="rel")) is None
    other = "Can we say that Bralen Shaell is an ancestor of Skiso Lirbreick?"
    assert chain.reason(chat(other, "Answer: True", template="rel")) is None
    copy = "Can we say that Bralen Shaell is an ancestor of Toen Kolpaowe?"  # a typo
    assert chain.reason(chat(copy, "Answer: True", template="rel")) == "contamination_near"


def test_contamination_is_the_same_task_and_input_never_the_same_instruction():
    """A probe encodes "drir"; a train row of the same cipher encodes "nos": the same
    instruction, another item. They share all but a few shingles of their question, so
    the near check took them for a leak (5 rows of the quick-start command corpus, 94
    rejected at 100M); with `formal` on both sides the task decides. The same task and
    input asked in other words is a leak, and is caught."""
    rng = random.Random(12)
    rules = (
        "Letter code: each letter is replaced by its position in the alphabet"
        " (a = 1, b = 2, ..., z = 26).\nThe numbers are joined with hyphens.\n"
    )

    def formal(word: str) -> str:
        codes = "-".join(str(ord(c) - 96) for c in word)
        inp = {"cipher": "positions", "direction": "encode", "key": [], "source": word}
        return json.dumps({"task": "mapping.positions", "input": inp, "expected": codes})

    def cipher(word: str, *, lead: str = "Encode", with_formal: bool = True) -> Row:
        r = chat(f'{rules}{lead} "{word}".', "Answer: x", template="cipher")
        r.formal = formal(word) if with_formal else None
        return r

    probes = [Probe(f'{rules}Encode "drir".', formal("drir"))]
    probes += [Probe(wordy_sample(rng), None) for _ in range(20)]
    for with_formal in (True, False):
        chain = build_corpus_chain({"near_dedup": {"warmup": 10}}, probes=probes)
        for _ in range(30):  # the template's own samples calibrate it
            assert chain.reason(chat(wordy_sample(rng), "Answer: true", template="cipher")) is None
        sibling = chain.reason(cipher("nos", with_formal=with_formal))
        # without formal, only the text can tell: the near check stays as it was
        assert sibling == (None if with_formal else "contamination_near"), with_formal
    chain = build_corpus_chain({"near_dedup": {"warmup": 10}}, probes=probes)
    reworded = cipher("drir", lead="Please write in this code the word")
    assert chain.reason(reworded) == "contamination_task"
    assert chain.reason(cipher("drir", lead="Encode", with_formal=False)) == "contamination_exact"
    # a probe without formal is still compared with a formal row by its text
    near_text = chat(change_words(probes[3].text, 1, rng), "Answer: unknown", template="wordy")
    near_text.formal = formal("zzz")
    for _ in range(30):
        chain.reason(chat(wordy_sample(rng), "Answer: true", template="wordy"))
    assert chain.reason(near_text) == "contamination_near"
    assert task_key(formal("drir")) == task_key(json.loads(formal("drir")) | {"expected": "?"})
    assert task_key(formal("drir")) != task_key(formal("nos")) and task_key("{oops") is None


def test_contamination_ignores_short_questions_and_no_probes():
    f = ContaminationFilter(probes=["Is it true?"])
    assert f.reason(row("Is it true? Yes, it is true, and here is a long explanation.")) is None
    assert ContaminationFilter().reason(row(EN_PROSE)) is None


# --- balance and diversity ----------------------------------------------------------------


def test_balance_caps_a_template_share_within_a_stage():
    chain = FilterChain([BalanceFilter(max_share=0.5, min_rows=10)])
    decisions = [chain.reason(row(template="a", stage=0)) for _ in range(30)]
    assert decisions.count(None) == 30  # one template alone is never capped
    others = [chain.reason(row(template="b", stage=0)) for _ in range(10)]
    assert others.count(None) == 10
    assert chain.reason(row(template="a", stage=0)) == "template_share"
    assert chain.reason(row(template="a", stage=1)) is None  # stages are separate
    stats = chain.stats()["filters"]["balance"]["details"]["stages"]
    assert stats["0"]["rows"] == 40 and stats["0"]["capped"] == {"a": 1}


def test_diversity_measures_and_never_rejects():
    chain = FilterChain([DiversityFilter(reservoir=50)])
    rng = random.Random(11)
    for _ in range(80):
        assert chain.reason(row(wordy_sample(rng), template="varied", stage=0)) is None
        assert chain.reason(row("The same sentence again.", template="same", stage=1)) is None
    d = chain.stats()["filters"]["diversity"]["details"]
    varied, same = d["templates"]["varied"], d["templates"]["same"]
    assert varied["rows"] == 80 and varied["reservoir"] == 50
    assert varied["distinct_2"] > 5 * same["distinct_2"]
    assert varied["compression"] > 2 * same["compression"]
    assert set(d["stages"]) == {"0", "1"}
    json.dumps(d)


def test_diversity_between_checkpoints_follows_the_rows_kept_since():
    # stats() is asked at every checkpoint; what it reports must be that of all rows so far.
    rng = random.Random(5)
    rows = [row("The same sentence again.", template="t") for _ in range(30)]
    rows += [row(wordy_sample(rng), template="t") for _ in range(30)]
    growing, fresh = DiversityFilter(reservoir=20), DiversityFilter(reservoir=20)
    for r in rows[:30]:
        growing.accept(r)
    before = growing.stats()["templates"]["t"]
    assert growing.stats()["templates"]["t"] == before  # asked again, nothing new
    for r in rows[30:]:
        growing.accept(r)
    for r in rows:
        fresh.accept(r)
    after = growing.stats()["templates"]["t"]
    assert after == fresh.stats()["templates"]["t"]
    assert after["distinct_2"] > before["distinct_2"] and after["rows"] == 60


# --- the chain ------------------------------------------------------------------------------


def test_chain_stats_count_each_filter():
    chain = build_sample_chain({})
    rows = [
        row(n_tokens=2),
        row(random_chars(800)),
        row(RU_PROSE, lang="en"),
        chat("q?", "Reasoning.\nAnswer: no", answer="true"),
        row(EN_PROSE),
        row(RU_PROSE, lang="ru"),
    ]
    assert [chain.reason(r) for r in rows] == [
        "length_short", "entropy_high", "language_mismatch", "answer_wrong", None, None
    ]  # fmt: skip
    s = chain.stats()
    json.dumps(s)
    assert (s["seen"], s["kept"]) == (6, 2)
    f = s["filters"]
    assert (f["length"]["seen"], f["length"]["kept"]) == (6, 5)
    assert f["language"]["rejected"] == {"language_mismatch": 1}
    assert (f["entropy"]["seen"], f["entropy"]["kept"]) == (4, 3)
    assert (f["answer"]["seen"], f["answer"]["kept"]) == (3, 2)
    ex = f["entropy"]["examples"]["entropy_high"][0]
    assert ex["id"] == rows[1].id and ex["reason"] == "entropy_high" and len(ex["content"]) == 500
    assert s["rejected"] == {
        "answer_wrong": 1, "entropy_high": 1, "language_mismatch": 1, "length_short": 1
    }  # fmt: skip


def test_examples_are_capped_and_merge_equals_one_chain():
    rows = [row(n_tokens=1) for _ in range(40)] + [row() for _ in range(10)]
    one = build_sample_chain({})
    for r in rows:
        one.reason(r)
    workers = [build_sample_chain({}) for _ in range(3)]
    for i, r in enumerate(rows):
        workers[i % 3].reason(r)
    merged = FilterChain.merge(w.stats() for w in workers)
    assert merged == one.stats() == merge_stats([one.stats()])
    assert len(merged["filters"]["length"]["examples"]["length_short"]) == 5


def test_chain_decisions_are_deterministic():
    rng = random.Random(12)
    texts = [wordy_sample(rng) for _ in range(300)]
    texts += [change_words(t, 1, rng) for t in texts[250:]] + texts[:20]
    rows = [row(t, template="wordy", id=f"x{i}") for i, t in enumerate(texts)]

    def run() -> list[str | None]:
        chain = build_chain({"near_dedup": {"warmup": 10, "calibration": 100}}, probes=texts[:3])
        return [chain.reason(r) for r in rows]

    first = run()
    assert first == run()
    assert first.count("exact_dup") >= 17 and first.count("near_dup") >= 1


def test_batched_filtering_matches_row_by_row():
    rng = random.Random(13)
    texts = [EN_PROSE[:400] + " " + wordy_sample(rng) for _ in range(900)]
    texts += [change_words(t, 1, rng) for t in texts[600:700]]
    rows = [row(t, template=f"t{i % 3}", id=f"b{i}") for i, t in enumerate(texts)]
    rows[900:] = [row(t, template=f"t{i % 3}", id=f"c{i}") for i, t in enumerate(texts[900:])]
    one = build_corpus_chain({})
    by_row = [r.id for r in rows if one.keep(r)]
    batched = [r.id for r in build_corpus_chain({}).filter(rows, batch_size=64)]
    assert by_row == batched and len(by_row) < len(rows)


def test_corpus_chain_survives_pickling():
    rng = random.Random(14)
    texts = [wordy_sample(rng) for _ in range(260)]
    chain = build_corpus_chain({"near_dedup": {"warmup": 10, "calibration": 100}})
    for t in texts[:200]:
        chain.reason(row(t, template="w"))
    copy = pickle.loads(pickle.dumps(chain))
    later = [row(t, template="w") for t in texts[200:] + texts[:10]]
    assert [chain.reason(r) for r in later] == [copy.reason(r) for r in later]


# --- configuration ------------------------------------------------------------------------------


def test_build_chain_defaults_and_split():
    assert build_sample_chain({}).names == [
        "length", "language", "entropy", "compression", "repetition", "answer", "steps"
    ]  # fmt: skip
    assert build_corpus_chain({}).names == ["exact_dedup", "near_dedup", "balance", "diversity"]
    assert build_corpus_chain({}, probes=["a probe"]).names[1] == "contamination"
    assert build_chain(None).names == build_sample_chain().names + build_corpus_chain().names


def test_build_chain_config():
    cfg = {
        "length": {"min": 50, "max": 4000},
        "entropy": {"min": 3, "max": 6.0},
        "compression": {"min": 0.2, "max": 0.9, "min_chars": 200},
        "repetition": {"top_ngrams": {2: 0.25}, "loop_repeats": 5},
        "language": {"min_share": 0.9},
        "answer": {"enabled": True},
        "exact_dedup": {},
        "near_dedup": {
            "bands": 14,
            "rows": 8,
            "ngram": 5,
            "skeleton_share": 0.3,
            "calibration": 200,
        },
        "balance": {"max_share": 0.5},
        "disabled": ["diversity"],
    }
    chain = build_chain(cfg)
    f = {x.name: x for x in chain.filters}
    assert "diversity" not in f
    assert (f["length"].min, f["length"].max) == (50, 4000)
    assert f["entropy"].min == 3.0 and f["compression"].max == 0.9
    assert f["repetition"].top_ngrams == {2: 0.25} and f["repetition"].loop_repeats == 5
    assert f["language"].min_share == {"en": 0.9, "ru": 0.9}
    assert build_chain({"answer": {"enabled": False}}).names.count("answer") == 0


@pytest.mark.parametrize(
    ("cfg", "named"),
    [
        ({"entropie": {}}, "entropie"),
        ({"entropy": {"minimum": 3}}, "minimum"),
        ({"near_dedup": {"skeletons": None}}, "skeletons"),
        ({"disabled": ["nope"]}, "nope"),
        ({"length": {"min": "ten"}}, "filters.length.min"),
        ({"length": {"min": 10, "max": 5}}, "filters.length"),
        ({"entropy": {"enabled": "no"}}, "enabled"),
        ({"language": {"min_share": {"fr": 0.9}}}, "filters.language"),
        ({"balance": []}, "filters.balance"),
    ],
)
def test_bad_config_is_a_user_error_naming_the_key(cfg, named):
    with pytest.raises(UserError, match=re.escape(named)):
        build_chain(cfg)


# --- 100k templated samples -------------------------------------------------------------------


def templated_corpus(n: int, dup_rate: float = 0.05, seed: int = 0, facts_per: tuple = (12, 20)):
    """n samples of 6 templates: boilerplate around 8-14 facts (sentences) from one world.

    5% are planted near duplicates of an earlier original: 1-3 words replaced.
    Returns [(id, template, text, source id or None)].
    """
    rng = np.random.default_rng(seed)
    py = random.Random(seed)
    facts = [
        sentence + "."
        for _ in range(12_000)
        for sentence in wordy_sample(py).split("Facts: ")[1].split(" Statement")[0].split(". ")
    ]
    intros = [
        WORDY.split("Facts:")[0],
        "Here is a short description of a small world with people, animals and places. Some "
        "facts are irrelevant to the question. Read all of them carefully before you answer.",
        "The records below describe purchases, owners and places in one town. Summarise them "
        "in your own words and compute the total asked for, showing each step of the sum.",
        "Below is a fragment of a small ontology in plain English. Each sentence states a fact "
        "about classes, individuals or properties. Say which individuals belong to the class.",
        "Rewrite each sentence below in formal logic, with one predicate per property and one "
        "constant per individual, and then state the formula for the last sentence in full.",
        "Answer the quiz question about the world described below. Several facts look alike "
        "and only one of them answers the question, so read every one of them carefully.",
    ]
    outro = "Only the facts that mention this person matter, which leaves one answer."
    n_facts = rng.integers(facts_per[0], facts_per[1] + 1, size=n)
    picks = rng.integers(0, len(facts), size=(n, facts_per[1]))
    docs: list[tuple[str, str, str, str | None]] = []
    originals: list[int] = []
    for i in range(n):
        if originals and rng.random() < dup_rate:
            j = originals[int(rng.integers(len(originals)))]
            text = change_words(docs[j][2], int(rng.integers(1, 4)), py)
            docs.append((f"s{i}", docs[j][1], text, docs[j][0]))
            continue
        originals.append(i)
        t = i % len(intros)
        body = " ".join(facts[k] for k in picks[i, : n_facts[i]])
        text = f"{intros[t]}\n\n{body}\n\n{outro}\nAnswer: {('true', 'false', 'unknown')[i % 3]}"
        docs.append((f"s{i}", f"t{t}", text, None))
    return docs


@pytest.mark.slow
def test_near_dedup_on_100k_templated_samples():
    docs = templated_corpus(100_000)
    rows = [row(text, template=t, id=i) for i, t, text, _ in docs]
    chain = FilterChain([NearDedupFilter()])
    kept = {r.id for r in chain.filter(rows)}
    planted = [d for d in docs if d[3] is not None]
    distinct = [d for d in docs if d[3] is None]
    found = sum(d[0] not in kept for d in planted)
    false = sum(d[0] not in kept for d in distinct)
    assert len(planted) > 4500
    assert found >= 0.95 * len(planted), (found, len(planted))
    assert false < 0.01 * len(distinct), (false, len(distinct))
    details = chain.stats()["filters"]["near_dedup"]["details"]
    assert details["calibrated"] == 6 and details["table_bytes"] == 32 << 20
    assert details["band_keys_forgotten"] < 0.001 * details["band_keys"]


def test_bounded_key_set_keeps_memory_fixed_and_forgets_only_when_full():
    import pickle

    from synth.filters.near_dedup import BoundedKeySet

    rng = np.random.default_rng(7)
    s = BoundedKeySet(256 * 1024)  # 4096 buckets of 8
    first = rng.integers(0, 2**63, 3000, dtype=np.uint64)
    s.add(np.concatenate([first, first[:10], np.zeros(1, dtype=np.uint64)]))
    assert s.contains(first).all() and s.contains(np.zeros(1, dtype=np.uint64)).all()
    assert len(s) == 3001 and s.evicted == 0
    others = rng.integers(0, 2**63, 1000, dtype=np.uint64)
    assert not s.contains(others).any()
    assert s.has_any([int(first[5])]) and not s.has_any([int(k) for k in others[:50]])
    copy = pickle.loads(pickle.dumps(s))
    assert copy.contains(first).all() and len(copy) == 3001
    more = rng.integers(0, 2**63, 80000, dtype=np.uint64)
    for chunk in np.array_split(more, 20):
        s.add(chunk)
    assert s.nbytes == 256 * 1024 and len(s) <= 32768
    assert s.evicted == 3001 + 80000 - len(s)
    assert s.contains(more[-500:]).mean() > 0.5  # recent keys mostly stay
    assert s.contains(first).mean() < 0.2  # the oldest mostly gave way
