"""The concept graph: which concepts each template introduces and requires, checked.

An edge runs from each concept a template requires to each concept it introduces.
The graph must be a DAG, every required concept must be introduced somewhere, and a
stage may only use concepts introduced in it or in an earlier stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from synth.curriculum.tier import TierConfig
from synth.errors import UserError
from synth.templating import TemplateLibrary


@dataclass
class ConceptGraph:
    introduced_by: dict[str, list[str]]  # concept -> templates introducing it
    required_by: dict[str, list[str]]
    edges: set[tuple[str, str]]  # (required, introduced)
    stage_introduces: list[list[str]]  # per stage, the concepts first introduced there


def build_graph(cfg: TierConfig, lib: TemplateLibrary) -> ConceptGraph:
    """Build and check the graph; raises UserError naming the templates involved."""
    introduced_by: dict[str, list[str]] = {}
    required_by: dict[str, list[str]] = {}
    edges: set[tuple[str, str]] = set()
    for tid in cfg.templates:
        spec = lib.spec(tid)
        for c in spec.introduces + spec.concepts:
            introduced_by.setdefault(c, []).append(tid)
        for r in spec.requires:
            required_by.setdefault(r, []).append(tid)
            # `concepts` are tags a template exercises; only `introduces` builds on `requires`.
            for c in spec.introduces:
                edges.add((r, c))
    for c, users in sorted(required_by.items()):
        if c not in introduced_by:
            raise UserError(
                f"{cfg.source}: concept {c!r} is required by {', '.join(sorted(users))} but no template introduces it"
            )
    cycle = _find_cycle(edges)
    if cycle:
        involved = sorted(
            {t for c in cycle for t in introduced_by.get(c, []) + required_by.get(c, [])}
        )
        raise UserError(
            f"{cfg.source}: concept cycle {' -> '.join(cycle)} (templates: {', '.join(involved)})"
        )
    stage_intro: list[list[str]] = []
    seen: set[str] = set()
    for stage in cfg.stages:
        new = []
        for c in stage.concepts:
            if c not in seen:
                new.append(c)
                seen.add(c)
        for tid in stage.templates:
            spec = lib.spec(tid)
            for c in spec.introduces + spec.concepts:
                if c not in seen:
                    new.append(c)
                    seen.add(c)
        for tid in stage.templates:
            missing = [r for r in lib.spec(tid).requires if r not in seen]
            if missing:
                later = [
                    s.name for s in cfg.stages if any(c in _stage_concepts(s, lib) for c in missing)
                ]
                where = f" (first introduced in stage {later[0]!r})" if later else ""
                raise UserError(
                    f"{cfg.source}: stage {stage.name!r}: template {tid} requires {', '.join(missing)} "
                    f"before any stage introduces it{where}"
                )
        stage_intro.append(new)
    return ConceptGraph(introduced_by, required_by, edges, stage_intro)


def _stage_concepts(stage, lib: TemplateLibrary) -> set[str]:
    out = set(stage.concepts)
    for tid in stage.templates:
        spec = lib.spec(tid)
        out.update(spec.introduces + spec.concepts)
    return out


def _find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    adj: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        adj.setdefault(a, []).append(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in adj.get(n, []):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(adj):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def to_dot(cfg: TierConfig, graph: ConceptGraph) -> str:
    lines = [f'digraph "{cfg.tier}" {{', "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for i, (stage, concepts) in enumerate(zip(cfg.stages, graph.stage_introduces)):
        lines.append(
            f'  subgraph cluster_{i} {{ label="stage {i}: {stage.name} ({stage.share:.0%})";'
        )
        lines.extend(f'    "{c}";' for c in concepts)
        lines.append("  }")
    lines.extend(f'  "{a}" -> "{b}";' for a, b in sorted(graph.edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def describe(cfg: TierConfig, graph: ConceptGraph, budget: int) -> str:
    from synth.units import human

    out = [f"tier {cfg.tier}: budget {human(budget)} tokens, {len(cfg.stages)} stages", ""]
    for i, (stage, concepts) in enumerate(zip(cfg.stages, graph.stage_introduces)):
        out.append(
            f"stage {i} {stage.name}: {stage.share:.0%} of the budget ({human(budget * stage.share)} tokens), "
            f"difficulty {stage.difficulty[0]}–{stage.difficulty[1]}, replay {stage.replay:.0%}"
            + (f", covers {', '.join(stage.covers)}" if stage.covers else "")
        )
        out.append(f"  introduces: {', '.join(concepts) or '-'}")
        total = sum(stage.templates.values())
        for tid, w in stage.templates.items():
            out.append(f"  {w / total:6.1%}  {tid}")
    out.append("")
    out.append("concept DAG (required -> introduced):")
    out.extend(f"  {a} -> {b}" for a, b in sorted(graph.edges))
    return "\n".join(out)
