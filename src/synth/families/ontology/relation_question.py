"""Yes/no questions about relations between entities: as stated, reversed (the inverse
or symmetric reading), through a chain (transitivity), or not holding at all. A question
is about one being the curriculum has stated, and its relations come from that being's
own closure."""

from __future__ import annotations

from dataclasses import dataclass

from synth.errors import UserError
from synth.families.base import Draw, ItemContext, family, words
from synth.families.ontology.common import question_entity, step_view


@dataclass(frozen=True)
class Params:
    relations: tuple[str, ...] = words(())  # relations the template phrases well (default: all)


def _has_links(w) -> bool:
    if hasattr(w, "block_links"):
        return any(w.knobs[k] > 0 for k in ("chains", "neighbours", "mentors", "friends"))
    return bool(w.links)


@family("relation_question", kind="ontology", params=Params, applies=_has_links)
def relation_question(ctx: ItemContext) -> Draw:
    w = ctx.world
    rels = [r for r in ctx.params.relations if r in w.relations] or sorted(w.relations)
    if not rels:
        raise UserError(
            "this world declares no relations; drop ontology.qa_relation and ontology.qa_compare from the tier"
        )
    known = min(len(w.entities), max(2, ctx.scope.known_entities))
    modes = ["stated", "reversed", "chain", "negative"]
    mode = modes[ctx.rng.randrange(len(modes))]
    query = None
    for _ in range(8):  # a being with facts of these relations
        s = w.entities[question_entity(ctx)].id
        c = w.closure_of(s)
        mine = [f for r in rels for f in c.facts(r) if f[0] == s and _known(w, f[2], known)]
        if mine or mode == "negative":
            break
    if mine and mode != "negative":
        by_mode = {
            "stated": [f for f in mine if c.why[f] is None],
            "reversed": [
                f
                for f in mine
                if c.why[f] is not None and c.why[f][0].endswith((":inverse", ":symmetric"))
            ],  # fmt: skip
            "chain": [
                f for f in mine if c.why[f] is not None and c.why[f][0].endswith(":transitive")
            ],
        }
        if not by_mode[mode] and by_mode["stated"]:
            mode = "stated"  # e.g. a world without chains: ask a stated fact, labelled as one
        cands = sorted(by_mode[mode] or mine)
        query = cands[ctx.rng.randrange(len(cands))]
    if query is None:
        mode = "negative"
        for _ in range(100 if known > 1 else 0):
            o = w.entities[ctx.rng.randrange(known)].id
            r = rels[ctx.rng.randrange(len(rels))]
            if s != o and (s, r, o) not in c:
                query = (s, r, o)
                break
    if query is None and mine:  # no being left unrelated to it (a small world): a true one
        mode, query = "stated", sorted(mine)[ctx.rng.randrange(len(mine))]
    if query is None:
        raise UserError(
            f"relation questions need two entities in play, related or not; this world has"
            f" {known} in play: raise --tokens, or leave the relation questions out of the tier"
        )
    formal = w.support_formal(query)
    answer = formal["answer"]
    # what holds of the subject in the asked relation (stated or derived): a reply can
    # recall it before it decides, as efficacy.qa_relation does
    recorded = sorted(f for f in c.facts(query[1]) if f[0] == s)
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
            "recorded": [list(f) for f in recorded],
        },
        answer=answer,
        formal=formal,
        difficulty=max(1, depth),
        probe_kind=kind,
    )


def _known(w, eid: str, known: int) -> bool:
    """Whether a being is among the first `known` (stated before this question)."""
    i = w.index_of(eid)
    return i is not None and i < known
