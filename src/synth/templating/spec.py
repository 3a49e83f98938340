"""A template's front matter: what it is (id, kind, language, family, shape), what it
teaches (concepts introduced, required, exercised) and its difficulty band. Read once
per template at start-up; every mistake is `file:line: message`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synth.errors import UserError
from synth.safe_yaml import BoundedLoader, shown

KINDS = ("instruction", "logic", "ontology")
SHAPES = ("chat", "document")
ROLES = ("system", "user", "assistant")
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_REQUIRED = {"id": str, "kind": str, "lang": str, "family": str, "shape": str}
_OPTIONAL = {
    "introduces": list,
    "requires": list,
    "concepts": list,
    "difficulty": (list, int),
    "description": str,
    "params": dict,
    "realise": str,
}


@dataclass
class TemplateSpec:
    id: str
    kind: str
    lang: str
    family: str
    shape: str
    path: Path
    name: str  # loader name, e.g. "en/ontology/entity_bio.j2"
    introduces: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    difficulty: tuple[int, int] = (1, 8)
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    realise: str = ""
    source: str = ""
    # `params` as the family's Params, validated on first use (see `family_params`)
    checked_params: Any = field(default=None, compare=False, repr=False)

    @property
    def all_concepts(self) -> list[str]:
        return list(dict.fromkeys(self.introduces + self.requires + self.concepts))

    def line_of(self, key: str) -> int:
        """The line of a front matter field (1 if it is missing)."""
        for i, line in enumerate(self.source.split("\n"), start=1):
            if line.startswith(key + ":"):
                return i
        return 1

    def where(self, key: str) -> str:
        """`file:line` of a front matter field, for an error message."""
        return f"{self.path}:{self.line_of(key)}"


# libyaml's parser where PyYAML was built with it: the front matter of every template is
# read at each start, and the pure-Python parser is most of that.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def blank_front_matter(text: str) -> str:
    """Replace the front matter by as many empty lines, so Jinja's line numbers are the
    file's line numbers."""
    m = _FRONT.match(text)
    return "\n" * m.group(0).count("\n") + text[m.end() :] if m else text


def parse_front_matter(path: Path, text: str) -> dict[str, Any]:
    m = _FRONT.match(text)
    if not m:
        raise UserError(f"{path}:1: a template starts with YAML front matter between '---' lines")
    try:
        # An alias may stand for a billion values: documents with one are read by the
        # bounded loader (pure Python); libyaml bounds nesting itself.
        loader = BoundedLoader if "*" in m.group(1) else _YAML_LOADER
        meta = yaml.load(m.group(1), Loader=loader) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise UserError(
            f"{path}:{line}: invalid front matter: {getattr(e, 'problem', e)}"
        ) from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}:2: front matter must be a mapping")
    lines = m.group(1).split("\n")

    def line_of(key: str) -> int:
        for i, ln in enumerate(lines):
            if ln.startswith(key + ":"):
                return i + 2
        return 1

    for key, typ in _REQUIRED.items():
        if key not in meta:
            raise UserError(f"{path}:1: front matter lacks required field {key!r}")
        if not isinstance(meta[key], typ):
            raise UserError(f"{path}:{line_of(key)}: {key!r} must be a string")
    for key, value in meta.items():
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise UserError(f"{path}:{line_of(key)}: unknown front matter field {shown(key)}")
        if key in _OPTIONAL and not isinstance(value, _OPTIONAL[key]):
            raise UserError(f"{path}:{line_of(key)}: {key!r} has the wrong type")
    if meta["kind"] not in KINDS:
        raise UserError(f"{path}:{line_of('kind')}: kind must be one of {', '.join(KINDS)}")
    if meta["shape"] not in SHAPES:
        raise UserError(f"{path}:{line_of('shape')}: shape must be one of {', '.join(SHAPES)}")
    return meta
