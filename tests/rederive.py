"""An independent re-derivation of a row's `formal`, written from the contract the
README states for `formal` alone (naive fixpoint, no code shared with synth.world.solver),
and of its worked steps from the task's input (no code shared with synth.families)."""

from __future__ import annotations

import json
import re


def _unify(pattern, fact, env):
    env = dict(env)
    for p, f in zip(pattern, fact):
        if p.startswith("?"):
            if env.setdefault(p, f) != f:
                return None
        elif p != f:
            return None
    return env


def closure(facts, rules):
    known = {tuple(f) for f in facts}
    changed = True
    while changed:
        changed = False
        for rule in rules:
            envs = [{}]
            for prem in rule["if"]:
                envs = [e2 for e in envs for f in known if (e2 := _unify(prem, f, e)) is not None]
            for e in envs:
                new = tuple(e.get(t, t) for t in rule["then"])
                if new not in known:
                    known.add(new)
                    changed = True
    return known


def negation(t):
    s, r, o = t
    return (s, r[4:], o) if r.startswith("not:") else (s, "not:" + r, o)


def rederive(formal: dict | str):
    """The answer `formal` implies (or, for a document, whether all it states follows);
    raises when its worked steps do not re-derive (`check_steps`)."""
    f = json.loads(formal) if isinstance(formal, str) else formal
    check_steps(f)
    if "task" in f:  # instruction samples carry their expected output (re-derived with steps)
        got = instruction_steps(f)
        return f["expected"] if got is None else got[1]
    if f.get("query") is None:
        known = closure(f["facts"], f["rules"])
        return all(tuple(s) in known for s in f.get("states", []))
    return answer_of(f["facts"], f["rules"], f["query"], f["assumption"])


def answer_of(facts, rules, query, assumption):
    """The answer to `query` under `facts` and `rules`."""
    known = closure(facts, rules)
    q = tuple(query)
    for fact in known:  # a derived fact and its negation together would be a broken world
        assert negation(fact) not in known, f"contradiction on {fact}"
    var = [t for t in q if t.startswith("?")]
    if var:
        values = {fact[q.index(var[0])] for fact in known if _unify(q, fact, {}) is not None}
        assert len(values) == 1, f"value query with answers {values}"
        return values.pop()
    if q in known:
        return "true"
    if assumption == "open":
        return "false" if negation(q) in known else "unknown"
    return "false"


# --- worked steps -------------------------------------------------------------------------
#
# What a row's text may write before its answer is in `formal` too, and is re-derived here
# from the task's input alone: the state after each step of an instruction (written from
# the prompts' own wording of each operation), and for logic each derivation step, which
# must follow from facts already known by its rule.


class StepsMismatch(AssertionError):
    pass


def _fmt_list(xs, fmt):
    if fmt == "comma":
        return ", ".join(map(str, xs))
    if fmt == "space":
        return " ".join(map(str, xs))
    if fmt == "pipe":
        return " | ".join(map(str, xs))
    if all(isinstance(x, int) for x in xs):
        return "[" + ", ".join(map(str, xs)) + "]"
    q = "'" if fmt == "brackets" else '"'
    return "[" + ", ".join(q + x + q for x in xs) + "]"


def _first_by(xs, better):
    best = xs[0]
    for x in xs[1:]:
        if better(x, best):
            best = x
    return best


def _list_op(xs, st):
    op = st["op"]
    simple = {
        "sort_asc": lambda: sorted(xs),
        "sort_desc": lambda: sorted(xs, reverse=True),
        "dedupe": lambda: [x for i, x in enumerate(xs) if x not in xs[:i]],
        "reverse": lambda: xs[::-1],
        "keep_gt": lambda: [x for x in xs if x > st["t"]],
        "keep_lt": lambda: [x for x in xs if x < st["t"]],
        "keep_even": lambda: [x for x in xs if x % 2 == 0],
        "keep_odd": lambda: [x for x in xs if x % 2 == 1],
        "keep_mult": lambda: [x for x in xs if x % st["k"] == 0],
        "top_k": lambda: sorted(xs, reverse=True)[: st["k"]],
        "bottom_k": lambda: sorted(xs)[: st["k"]],
        "first_n": lambda: xs[: st["k"]],
        "last_n": lambda: xs[len(xs) - st["k"] :],
        "add": lambda: [x + st["k"] for x in xs],
        "mul": lambda: [x * st["k"] for x in xs],
        "abs": lambda: [-x if x < 0 else x for x in xs],
        "sort_len": lambda: sorted(xs, key=len),
        "keep_prefix": lambda: [x for x in xs if x[:1] == st["c"]],
        "keep_longer": lambda: [x for x in xs if len(x) > st["n"]],
        "upper": lambda: [x.upper() for x in xs],
        "sum": lambda: sum(xs),
        "max": lambda: _first_by(xs, lambda a, b: a > b),
        "min": lambda: _first_by(xs, lambda a, b: a < b),
        "count": lambda: len(xs),
        "count_distinct": lambda: len(set(xs)),
        "longest": lambda: _first_by(xs, lambda a, b: len(a) > len(b)),
        "shortest": lambda: _first_by(xs, lambda a, b: len(a) < len(b)),
        "join": lambda: st["sep"].join(xs),
    }
    return simple[op]()


def _words_of(text):
    """The lowercase words a text spells in any case style (spaces, _ and -, humps)."""
    out = []
    for part in re.split(r"[ _-]+", text):
        out += re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", part)
    return [w.lower() for w in out]


_STYLES = {
    "snake": lambda ws: "_".join(ws),
    "kebab": lambda ws: "-".join(ws),
    "camel": lambda ws: ws[0] + "".join(w[:1].upper() + w[1:] for w in ws[1:]),
    "pascal": lambda ws: "".join(w[:1].upper() + w[1:] for w in ws),
    "constant": lambda ws: "_".join(w.upper() for w in ws),
    "spaced": lambda ws: " ".join(ws),
}


def _shift(s, k):
    out = ""
    for ch in s:
        for base in ("a", "A"):
            if ord(base) <= ord(ch) <= ord(base) + 25:
                ch = chr((ord(ch) - ord(base) + k) % 26 + ord(base))
                break
        out += ch
    return out


def _string_op(s, st):
    op = st["op"]
    vowels = "aeiouAEIOU"
    table = {
        "reverse": lambda: s[::-1],
        "reverse_words": lambda: " ".join(s.split(" ")[::-1]),
        "upper": lambda: s.upper(),
        "lower": lambda: s.lower(),
        "title": lambda: " ".join(w[:1].upper() + w[1:] for w in s.split(" ")),
        "style": lambda: _STYLES[st["style"]](_words_of(s)),
        "caesar": lambda: _shift(s, -st["k"] if st["back"] else st["k"]),
        "remove_vowels": lambda: "".join(c for c in s if c not in vowels),
        "replace": lambda: s.replace(st["a"], st["b"]),
        "sort_letters": lambda: "".join(sorted(s)),
        "double": lambda: "".join(c * 2 for c in s),
        "initials": lambda: "".join(w[0] for w in s.split(" ")),
        "swapcase": lambda: s.swapcase(),
        "count_char": lambda: str(s.count(st["c"])),
        "count_vowels": lambda: str(sum(c in vowels for c in s)),
        "length": lambda: str(len(s)),
    }
    return table[op]()


_WRAPS = {"brackets": "[]", "parens": "()", "quotes": '""', "angles": "<>", "stars": "**"}


def _edit(s, st):
    op = st["op"]
    if op == "append":
        return s + st["sep"] + st["text"]
    if op == "prepend":
        return st["text"] + st["sep"] + s
    if op == "wrap":
        left, right = _WRAPS[st["kind"]]
        return left + s + right
    if op == "append_length":
        return s + st["sep"] + str(len(s))
    if op == "capitalize":
        return s[:1].upper() + s[1:]
    if op == "repeat":
        return st["sep"].join([s] * st["n"])
    if op == "drop_last":
        return s[: len(s) - st["n"]]
    if op == "drop_first":
        return s[st["n"] :]
    return {"upper": s.upper, "lower": s.lower, "reverse": lambda: s[::-1]}.get(
        op, lambda: s.replace(st["a"], st["b"])
    )()


def _run_program(inp):
    names, regs = inp["opcodes"], inp["registers"]
    vals = {r: 0 for r in regs}
    stack, states, out = [], [], []
    for line in inp["program"]:
        name, *args = line.split()
        op = names[name]
        if inp["machine"] == "registers":

            def val(a):
                return vals[a] if a in vals else int(a)

            if op == "set":
                vals[args[0]] = int(args[1])
            elif op in ("add", "sub"):
                vals[args[0]] += val(args[1]) * (1 if op == "add" else -1)
            elif op == "mul":
                vals[args[0]] *= int(args[1])
            elif op == "swap":
                vals[args[0]], vals[args[1]] = vals[args[1]], vals[args[0]]
            elif op == "copy":
                vals[args[0]] = vals[args[1]]
            elif op in ("inc", "dec"):
                vals[args[0]] += 1 if op == "inc" else -1
            else:
                out.append(vals[args[0]])
            states.append(" ".join(f"{r}={vals[r]}" for r in regs))
        else:
            if op == "push":
                stack.append(int(args[0]))
            elif op == "pop":
                stack.pop()
            elif op == "dup":
                stack.append(stack[-1])
            elif op == "swap":
                stack[-2], stack[-1] = stack[-1], stack[-2]
            elif op in ("add", "sub", "mul"):
                b, a = stack.pop(), stack.pop()
                stack.append(a + b if op == "add" else a - b if op == "sub" else a * b)
            else:
                out.append(stack[-1])
            states.append("[" + ", ".join(map(str, stack)) + "]")
    return states, " ".join(map(str, out))


def instruction_steps(f):
    """(the states a worked reply writes, the expected output), re-derived from the task's
    input; None for a task with no worked steps."""
    task, inp = f["task"], f["input"]
    if task == "command.steps":
        ops = inp["steps"]
        states = [ops[0]["text"]]
        for st in ops[1:]:
            states.append(_edit(states[-1], st))
        return states, states[-1]
    if task.startswith("command.program."):
        return _run_program(inp)
    if task.startswith("list.") and len(inp["steps"]) > 1:
        xs, states = list(inp["items"]), []
        for st in inp["steps"]:
            xs = _list_op(xs, st)
            states.append(_fmt_list(xs, inp["format"]) if isinstance(xs, list) else str(xs))
        return states, states[-1]
    if task.startswith("string.") and len(inp["steps"]) > 1:
        s, states = inp["text"], []
        for st in inp["steps"]:
            s = _string_op(s, st)
            states.append(s)
        return states, s
    if task == "mapping.lexicon":
        to_en = inp["direction"] == "to_english"
        table = {x: e for x, e in inp["lexicon"]} if to_en else {e: x for x, e in inp["lexicon"]}
        source = inp["source"].split(" ")
        states = [table[w] for w in dict.fromkeys(source)]
        words = [table[w] for w in source]
        if inp["reversed_order"]:
            words = words[::-1]
        return states, " ".join(words)
    return None


def _applies(rule, uses, derives):
    """Whether `rule` applied to `uses` (its premises, in order) gives `derives`."""
    if len(rule["if"]) != len(uses):
        return False
    env = {}
    for prem, fact in zip(rule["if"], uses):
        env = _unify(prem, fact, env)
        if env is None:
            return False
    return tuple(env.get(t, t) for t in rule["then"]) == tuple(derives)


def first_invalid_step(facts, rules, steps):
    """The first step (1-based) whose `derives` does not follow by its rule from facts
    given or derived by earlier steps; 0 when every step does."""
    known = {tuple(x) for x in facts}
    by_id = {r["id"]: r for r in rules}
    for i, st in enumerate(steps, 1):
        rule = by_id.get(st["rule"])
        used = [tuple(u) for u in st["uses"]]
        if rule is None or not all(u in known for u in used):
            return i
        if not _applies(rule, used, st["derives"]):
            return i
        known.add(tuple(st["derives"]))
    return 0


def check_steps(f):
    """Raise StepsMismatch when `formal`'s worked steps do not re-derive."""
    if "task" in f:
        got = instruction_steps(f)
        if got is None:
            return
        states, expected = got
        if f.get("steps") != states:
            raise StepsMismatch(f"steps {f.get('steps')!r}, re-derived {states!r}")
        if expected != f["expected"]:
            raise StepsMismatch(f"expected {f['expected']!r}, re-derived {expected!r}")
        return
    proof = f.get("proof") or []
    bad = first_invalid_step(f["facts"], f["rules"], proof)
    if bad:
        raise StepsMismatch(f"proof step {bad} does not follow")
    if proof and f.get("query") is not None:
        last, q = tuple(proof[-1]["derives"]), tuple(f["query"])
        want = "true" if last == q else "false" if last == negation(q) else None
        if want is None or f.get("answer") not in (None, want):
            raise StepsMismatch(f"the proof ends in {list(last)}, the answer is {f.get('answer')}")
    if "original_answer" in f:  # a counterfactual: the answer without the supposition
        rules = [r for r in f["rules"] if r["id"] != f["supposed"]]
        rules += [f["replaces"]] if f.get("replaces") else []
        got = answer_of(f["facts"], rules, f["query"], f["assumption"])
        if got != f["original_answer"]:
            raise StepsMismatch(f"original answer {f['original_answer']!r}, re-derived {got!r}")
    if "steps" in f:
        bad = first_invalid_step(f["facts"], f["rules"], f["steps"])
        if bad != (f.get("first_invalid") or 0):
            raise StepsMismatch(
                f"first invalid step {bad}, formal says {f.get('first_invalid') or 0}"
            )
