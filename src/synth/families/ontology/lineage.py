"""A lineage or seniority story: a chain of relation facts told in both directions,
with what the chain implies (transitivity) spelled out."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import document_formal


def has_chains(w) -> bool:
    rels = {r.id for r in w.relations.values() if r.transitive and r.inverse}
    if not rels:
        return False
    if hasattr(w, "block_links"):  # a fictional world: chains unless the knobs say none
        return w.knobs["chains"] > 0
    return any(r in rels for _, r, _ in w.links)


def _chains_near(w, ctx: ItemContext) -> list[tuple[str, dict[str, str]]]:
    """(relation, next-link map) of the chains around a being the curriculum has
    reached (a fictional world keeps chains in households), else of the whole world."""
    rels = sorted(r.id for r in w.relations.values() if r.transitive and r.inverse)
    if hasattr(w, "block_links"):
        lo, hi = ctx.scope.introduce_entities
        pool = max(1, hi, ctx.scope.known_entities)
        i = (
            lo + ctx.position % (hi - lo)
            if hi > lo
            else ctx.rng.randrange(min(pool, len(w.entities)))
        )
        links = w.block_links(i)
    else:
        links = list(w.links)
    out = []
    for rel in rels:
        nxt = {s: o for s, r, o in links if r == rel}
        if nxt:
            out.append((rel, nxt))
    return out


@family("lineage", kind="ontology", applies=has_chains)
def lineage(ctx: ItemContext) -> Draw:
    w = ctx.world
    # A document states the links it tells, so it may tell any chain of the world.
    found = _chains_near(w, ctx)
    for _ in range(8):
        if found:
            break
        found = _chains_near(w, ctx)
    if not found:
        return Draw(
            vars={"rel": None, "chain": [], "inverse": None, "implied": []},
            formal=document_formal(w, []),
        )
    rel, nxt = found[ctx.rng.randrange(len(found))]
    starts = sorted(s for s in nxt if s not in set(nxt.values())) or sorted(nxt)
    chain = [ctx.rng.choice(starts)]
    while chain[-1] in nxt and nxt[chain[-1]] not in chain and len(chain) < 7:
        chain.append(nxt[chain[-1]])
    inv = w.relations[rel].inverse
    given = [(a, rel, b) for a, b in zip(chain, chain[1:])]
    implied = [(chain[0], rel, chain[j]) for j in range(2, len(chain))]
    states = given + [(b, inv, a) for a, _, b in given] + implied
    # What the story concludes follows along the path it tells. The world's own proof of
    # a conclusion may take another path (older_than links form a graph, not a line),
    # whose links this story never states: the formal rests on the told links alone.
    along = [r for r in (f"{rel}:transitive", f"{rel}:inverse") if r in w.rule_by_id]
    formal = document_formal(w, given, extra_rules=along)
    formal["states"] = [list(f) for f in states]
    return Draw(
        vars={"rel": rel, "inverse": inv, "chain": chain, "implied": [list(f) for f in implied]},
        formal=formal,
        difficulty=1,
    )
