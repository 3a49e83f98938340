"""Yes/no questions about relations between entities: as stated, reversed (the inverse
or symmetric reading), through a chain (transitivity), or not holding at all."""

from __future__ import annotations

from dataclasses import dataclass

from synth.errors import UserError
from synth.families.base import Draw, ItemContext, family, words
from synth.families.ontology.common import step_view


@dataclass(frozen=True)
class Params:
    relations: tuple[str, ...] = words(())  # relations the template phrases well (default: all)


@family("relation_question", kind="ontology", params=Params, applies=lambda w: bool(w.links))
def relation_question(ctx: ItemContext) -> Draw:
    w = ctx.world
    c = w.closure
    # A template names the relations it phrases well; a user world may have others.
    rels = [r for r in ctx.params.relations if r in w.relations] or sorted(w.relations)
    if not rels:
        raise UserError(
            "this world declares no relations; drop ontology.qa_relation and ontology.qa_compare from the tier"
        )
    known = max(2, ctx.scope.known_entities)
    ids = [e.id for e in w.entities[:known]]
    held = {e.id for i, e in enumerate(w.entities[:known]) if ctx.scope.held_out(i)}
    want_held = ctx.split == "eval"

    def ok(s: str, o: str) -> bool:
        return (s in held) == want_held and o in idset

    idset = set(ids)
    pool = [f for r in rels for f in c.facts(r) if ok(f[0], f[2])]
    modes = ["stated", "reversed", "chain", "negative"]
    mode = modes[ctx.rng.randrange(len(modes))]
    query = None
    if pool and mode != "negative":
        by_mode = {
            "stated": [f for f in pool if c.why[f] is None],
            "reversed": [
                f
                for f in pool
                if c.why[f] is not None and c.why[f][0].endswith((":inverse", ":symmetric"))
            ],
            "chain": [
                f for f in pool if c.why[f] is not None and c.why[f][0].endswith(":transitive")
            ],
        }
        if not by_mode[mode] and by_mode["stated"]:
            mode = "stated"  # e.g. a world without chains: ask a stated fact, labelled as one
        cands = by_mode[mode] or pool
        query = sorted(cands)[ctx.rng.randrange(len(cands))]
    if query is None:
        mode = "negative"
        subjects = [i for i in ids if (i in held) == want_held] or ids
        for _ in range(100):
            s, o = subjects[ctx.rng.randrange(len(subjects))], ids[ctx.rng.randrange(len(ids))]
            r = rels[ctx.rng.randrange(len(rels))]
            if s != o and (s, r, o) not in c:
                query = (s, r, o)
                break
    if query is None and pool:  # no pair left unrelated (a small world): ask a true one
        mode, query = "stated", sorted(pool)[ctx.rng.randrange(len(pool))]
    if query is None:
        raise UserError(
            f"relation questions need two entities in play, related or not; this world has"
            f" {len(ids)} in play: raise --tokens, or leave the relation questions out of the tier"
        )
    formal = w.support_formal(query)
    answer = formal["answer"]
    depth = c.depth(query) if answer == "true" else 0
    kind = {
        "stated": "stated",
        "reversed": "reversed",
        "chain": f"derived-depth-{depth}",
        "negative": "negative",
    }[mode]
    if (
        mode == "chain"
        and answer == "true"
        and c.why[query] is not None
        and c.why[query][0].endswith(":inverse")
    ):
        kind = "reversed"
    return Draw(
        vars={
            "query": list(query),
            "answer": answer,
            "steps": [step_view(s) for s in formal["proof"]],
            "mode": mode,
        },
        answer=answer,
        formal=formal,
        difficulty=max(1, depth),
        probe_kind=kind,
    )
