"""Ontology families: documents that state the world and questions that use it.

Documents (kind_entry, entity_profile, place_entry, rule_entry, lineage, derivation,
timeline, comparison) carry in `formal.states` the facts they state; questions carry the
facts and rules their answer rests on. The scheduler's scope makes documents state an
entity before any question asks about it.
"""

from synth.families.ontology import (  # noqa: F401
    attribute_question,
    comparison,
    derivation,
    entity_profile,
    kind_entry,
    lineage,
    membership_question,
    place_entry,
    property_question,
    relation_question,
    rule_entry,
    timeline,
)
