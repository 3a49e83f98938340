"""The symbolic world: fictional (drawn from a seed) or the user's own.

`load_world(path, seed)` reads a user's world: a YAML world spec (synth.world.spec) or
an RDF / OWL ontology (synth.world.rdf). The parsers are imported on use, so importing
the model does not import rdflib.
"""

from __future__ import annotations

from pathlib import Path

from synth.errors import UserError
from synth.world.model import HAS, ISA, Entity, Relation, World

SPEC_SUFFIXES = (".yaml", ".yml")
RDF_SUFFIXES = (".ttl", ".rdf", ".owl", ".xml", ".nt", ".n3", ".jsonld", ".json-ld")

__all__ = ["HAS", "ISA", "Entity", "Relation", "World", "load_world"]


def load_world(path: str | Path, seed: int = 0) -> World:
    """A user's world from a file, by its suffix: .yaml/.yml is a world spec,
    .ttl/.rdf/.owl/.xml/.nt/.n3/.jsonld an ontology. Mistakes are UserErrors naming
    the file (and line, where there is one)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UserError(f"--world: no such file: {path}")
    if suffix in SPEC_SUFFIXES:
        from synth.world.spec import load_spec

        return load_spec(path, seed)
    if suffix in RDF_SUFFIXES:
        from synth.world.rdf import load_rdf

        return load_rdf(path, seed)
    known = ", ".join(SPEC_SUFFIXES + RDF_SUFFIXES)
    raise UserError(f"--world: {path}: unknown world format {suffix!r}; use one of {known}")
