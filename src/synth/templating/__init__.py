"""Templates: Jinja files with YAML front matter, rendered in a sandbox.

A template file looks like::

    ---
    id: ontology.entity_bio
    kind: ontology            # instruction | logic | ontology
    lang: en
    family: entity_profile    # the item generator that draws what the template needs
    shape: document           # document (one text) or chat (blocks system/user/assistant)
    introduces: [entities]
    requires: [kinds]
    ---
    {{ entity.name }} is {{ a(entity.kind) }}. ...

Templates are user input: they render in Jinja's immutable sandbox with
`StrictUndefined`, may include only files of their own pack, and every mistake is
reported as `file:line: message`. Files whose name starts with `_` are partials
(macros), not templates.
"""

from synth.templating.library import TemplateLibrary
from synth.templating.sandbox import PackSandbox, RenderLimit
from synth.templating.spec import KINDS, ROLES, SHAPES, TemplateSpec, parse_front_matter

__all__ = [
    "KINDS",
    "ROLES",
    "SHAPES",
    "PackSandbox",
    "RenderLimit",
    "TemplateLibrary",
    "TemplateSpec",
    "parse_front_matter",
]
