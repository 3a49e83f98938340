"""A world written by hand: a YAML world spec.

```yaml
kinds:
  creature:                                     # a root kind
  bird:    {parent: creature, props: [feathered, flies]}
  penguin: {parent: bird, props: [swims, not flies]}   # an exception: penguins don't fly
relations:
  mentor_of: {inverse: apprentice_of}
  ancestor_of: {transitive: true, inverse: descendant_of}
  neighbour_of: {symmetric: true}
entities:
  Pip: {kind: penguin, colour: black, mentor_of: [Tweet]}
  Tweet: {kind: bird, is: [loud]}
links:
  - Pip neighbour_of Tweet
rules:
  - ?x mentor_of ?y and ?y is loud -> ?x is patient
  - {id: calm, if: [?x is_a penguin, ?x is patient], then: ?x is calm}
properties:
  swims: {en: swims, en_not: does not swim, ru: плавает}
```

Labels read through their surface forms (synth.world.forms): declared under
`properties:` and as a relation's `en` / `ru`, else inferred from the label; a label that
does not read as words is an error at the line that first names it.

Everything is checked on load and every mistake is one `UserError` naming the file and
line: unknown keys, an unknown parent or kind, a cycle in the taxonomy, a relation used
but not declared, a rule whose conclusion has a variable its premises do not bind, and
a world whose closure derives both a fact and its negation.

Exceptions. The solver's logic is monotonic Horn logic: once `?x is_a bird -> ?x is
flies` is a rule, no later rule can take `flies` away from a penguin, and a penguin
that is also `not:is flies` makes the closure contradict itself. So kind properties are
compiled before they become rules: for each property, every kind takes the value of its
nearest ancestor (or itself) that declares it, and so does every entity (an entity may
override too, with `is:`). A kind whose whole subtree (sub-kinds and members) agrees on
the value is *uniform*; the rule `?x is_a K -> ?x is p` is made for each uniform kind K
whose parent is not uniform, i.e. on the kinds that do not override, as high in the
taxonomy as the exceptions allow. Members of a kind that is not uniform (a plain `bird`,
when penguins are birds) get the property as a stated fact of their own. `kind_props`
holds the compiled form: birds in general are not said to fly, sparrows and plain birds
are. The closure then never derives both `flies` and `not flies` from the taxonomy.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from synth.english import humanise
from synth.errors import UserError
from synth.safe_yaml import BoundedLoader, shown
from synth.world.forms import PROPERTY_KEYS, label_forms, not_words_error, property_labels
from synth.world.model import HAS, ISA, Entity, Relation, World
from synth.world.rules import relation_rules, taxonomy_rules
from synth.world.solver import Closure, Contradiction, Rule, Triple, is_var, negate

TOP_KEYS = (
    "name", "description", "kinds", "relations", "entities", "links", "rules", "names",
    "properties",
)  # fmt: skip
KIND_KEYS = ("parent", "props", "names", "description")
RELATION_KEYS = ("transitive", "symmetric", "inverse", "domain", "range", "names", "en", "ru")
RULE_KEYS = ("id", "if", "then")
RESERVED = (ISA, HAS, "kind", "names", "not")
_NAME = re.compile(r"^[^\s?\"']+$")  # kinds, properties, relations: one token, no quotes
_RULE_ID = re.compile(r"^[A-Za-z0-9_]+$")

Props = dict[str, dict[str, bool]]  # owner (kind or entity) -> property -> holds


# -- YAML that remembers where things are ----------------------------------------------


class LineDict(dict):
    """A mapping from the file, with the line of each key (`lines`) and its own (`line`)."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}


class LineList(list):
    """A sequence from the file, with the line of each item."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


class _Loader(BoundedLoader):
    """Safe YAML (aliases and nesting bounded) whose mappings and sequences keep their
    nodes' start marks."""


# In a flow collection (`if: [?x is hot]`, `{then: ?x is hot}`) PyYAML reads `?` as the
# mark of a complex key, which a world spec never uses: a `?` that starts a word is
# hidden from the parser behind a private-use character and given back in every string.
_QMARK = "\ue000"
_VARIABLE = re.compile(r"(?:(?<=[\s\[{,:])|^)\?(?=[^\s])", re.M)


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node).replace(_QMARK, "?")


def _construct_map(loader: _Loader, node: yaml.MappingNode):
    d = LineDict()
    d.line = node.start_mark.line + 1
    yield d
    loader.flatten_mapping(node)
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        line = knode.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", knode.start_mark
            )
        key = "" if key is None else str(key) if not isinstance(key, str) else key
        if key in d:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {d.lines[key]})",
                knode.start_mark,
            )
        d[key] = loader.construct_object(vnode, deep=True)
        d.lines[key] = line


def _construct_seq(loader: _Loader, node: yaml.SequenceNode):
    lst = LineList()
    lst.line = node.start_mark.line + 1
    yield lst
    for item in node.value:
        lst.append(loader.construct_object(item, deep=True))
        lst.lines.append(item.start_mark.line + 1)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def read_yaml(path: Path) -> Any:
    """The file's YAML with line numbers kept; a syntax error names its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read world: {e.strerror or e}") from None
    try:
        return yaml.load(_VARIABLE.sub(_QMARK, text), Loader=_Loader)  # noqa: S506 - safe
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise UserError(f"{path}:{line}: invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path}:1: invalid YAML: {e}") from None


# -- the spec ---------------------------------------------------------------------------


class _Spec:
    """One world spec being read: the file, its YAML, and a way to name a line."""

    def __init__(self, path: Path, raw: Any):
        self.path = path
        if not isinstance(raw, LineDict):
            raise self.err(1, "a world spec is a mapping with at least 'kinds:'")
        self.raw = raw
        self.names: dict[str, dict[str, str]] = defaultdict(dict)
        # name -> line, by what it names, for errors found after reading
        self.kinds: dict[str, int] = {}
        self.relations: dict[str, int] = {}
        self.entities: dict[str, int] = {}
        self.rules: dict[str, int] = {}
        self.props: dict[str, int] = {}  # property -> the line that first names it
        self.attrs: dict[str, int] = {}  # attribute -> the line that first names it
        self.forms: dict[str, dict[str, str]] = defaultdict(dict)  # label -> declared forms

    def err(self, line: int, msg: str) -> UserError:
        return UserError(f"{self.path}:{line}: {msg}")

    def section(self, key: str, typ: type, required: bool = False) -> Any:
        if key not in self.raw or self.raw[key] is None:
            if required:
                raise self.err(self.raw.line or 1, f"a world spec needs '{key}:'")
            return typ()
        value = self.raw[key]
        if not isinstance(value, typ):
            kind = "mapping" if typ is LineDict else "list"
            raise self.err(self.raw.lines[key], f"'{key}:' must be a {kind}")
        return value

    def check_keys(self, d: LineDict, allowed: tuple[str, ...], what: str) -> None:
        for k in d:
            if k not in allowed:
                raise self.err(
                    d.lines[k], f"unknown key {k!r} in {what}; allowed: {', '.join(allowed)}"
                )

    def token(self, value: Any, line: int, what: str) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            raise self.err(
                line, f"{what} must be one word without spaces or quotes, got {shown(value)}"
            )
        return value

    def add_names(self, owner: str, value: Any, line: int) -> None:
        """`names: {ru: дракон}`: surface names of one kind, relation or entity."""
        if not isinstance(value, LineDict):
            raise self.err(line, "'names:' maps a language to a name, e.g. {ru: дракон}")
        for lang, label in value.items():
            if not isinstance(label, (str, int, float)):
                raise self.err(value.lines[lang], f"names: the {lang} name must be a string")
            self.names[str(lang)][owner] = str(label)


def load_spec(path: str | Path, seed: int = 0) -> World:
    """Read a YAML world spec into a World; every mistake is a UserError at file:line."""
    path = Path(path)
    s = _Spec(path, read_yaml(path))
    s.check_keys(s.raw, TOP_KEYS, "the world spec")
    for key in ("name", "description"):
        if s.raw.get(key) is not None and not isinstance(s.raw[key], str):
            raise s.err(s.raw.lines[key], f"'{key}:' is text, got {shown(s.raw[key])}")
    kinds, kind_decl = _read_kinds(s)
    relations = _read_relations(s, kinds)
    entities, entity_decl, links = _read_entities(s, kinds, relations)
    links += _read_links(s, relations, {e.id for e in entities})
    attrs = {a for e in entities for a in e.attrs}
    user_rules = _read_rules(s, kinds, relations, attrs)
    _read_top_names(s)
    _read_properties(s)
    kind_props, stated = compile_properties(
        kinds, kind_decl, {e.id: e.kind for e in entities}, entity_decl
    )
    rules = (
        taxonomy_rules(kinds, kind_props) + relation_rules(list(relations.values())) + user_rules
    )
    forms = _forms(s, property_labels(kind_props, stated, user_rules), relations)
    world = World(
        seed=seed,
        kinds=kinds,
        kind_props=kind_props,
        entities=entities,
        relations=relations,
        links=sorted(set(links)),
        rules=rules,
        names={lang: dict(v) for lang, v in s.names.items()},
        extra_facts=stated,
        source=str(path),
        forms=forms,
    )
    _check_closure(s, world)
    return world


# -- how labels read ---------------------------------------------------------------------


def _read_properties(s: _Spec) -> None:
    """`properties: {swims: {en: swims, en_not: does not swim, ru: плавает}}`: how each
    property reads (synth.world.forms); a string is short for its English form."""
    section = s.section("properties", LineDict)
    for prop, body in section.items():
        line = section.lines[prop]
        if prop not in s.props:
            raise s.err(line, f"properties: {prop!r} is not a property any kind, being or rule has")
        if isinstance(body, str):
            s.forms[prop]["en"] = body
            continue
        if not isinstance(body, LineDict):
            raise s.err(
                line, f"properties: {prop!r}: give its forms, e.g. {{en: swims, ru: плавает}}"
            )
        s.check_keys(body, PROPERTY_KEYS, f"property {prop!r}")
        for key, value in body.items():
            if not isinstance(value, str) or not value.strip():
                raise s.err(body.lines[key], f"property {prop!r}: {key} is a text")
            s.forms[prop][key] = value.strip()


def _forms(s: _Spec, props: list[str], relations: dict[str, Relation]) -> dict[str, dict[str, str]]:
    """Every label's forms, declared or inferred; a label that does not read as words is
    an error at the line that first names it. Names with underscores read as words too
    (`big_cat` → "big cat") unless the spec names them; Russian forms of properties
    become their Russian names (the negation as `not:<property>`)."""
    labels = {p: "property" for p in props}
    labels.update({r: "relation" for r in relations})
    labels.update({a: "attribute" for a in s.attrs if a not in labels})
    for label, role in labels.items():  # names a relation or attribute was given are its forms
        if role != "property":
            for lang in ("en", "ru"):
                if label in s.names.get(lang, {}):
                    s.forms[label].setdefault(lang, s.names[lang][label])

    def where(label: str, role: str) -> int:
        table = {"property": s.props, "relation": s.relations, "attribute": s.attrs}[role]
        return table.get(label, s.raw.line or 1)

    def refuse(label: str, role: str) -> UserError:
        return not_words_error(f"{s.path}:{where(label, role)}", label, role)

    forms = label_forms(labels, s.forms, refuse)
    for label, form in forms.items():
        if form["role"] == "property" and "ru" in form:
            s.names["ru"].setdefault(label, form["ru"])
            if "ru_not" in form:
                s.names["ru"].setdefault("not:" + label, form["ru_not"])
    for ident in [*s.kinds, *s.entities]:
        if ("_" in ident or re.search(r"[a-z][A-Z]", ident)) and ident not in s.names["en"]:
            s.names["en"][ident] = humanise(ident, proper=ident in s.entities)
    return forms


# -- kinds ------------------------------------------------------------------------------


def _read_kinds(s: _Spec) -> tuple[dict[str, str | None], Props]:
    """kind -> parent (parents first, else in file order) and each kind's declared
    properties; an unknown parent or a cycle is an error at the kind's line."""
    section = s.section("kinds", LineDict, required=True)
    parents: dict[str, str | None] = {}
    declared: Props = {}
    for kind, body in section.items():
        line = section.lines[kind]
        s.token(kind, line, "a kind name")
        if kind in RESERVED:
            raise s.err(line, f"{kind!r} is a reserved word and cannot name a kind")
        s.kinds[kind] = line
        parent, props = None, LineList()
        if isinstance(body, str):
            parent = body
        elif isinstance(body, LineDict):
            s.check_keys(body, KIND_KEYS, f"kind {kind!r}")
            parent = body.get("parent")
            props = body.get("props") or LineList()
            if "names" in body:
                s.add_names(kind, body["names"], body.lines["names"])
        elif body is not None:
            raise s.err(
                line, f"kind {kind!r}: give its parent (a name) or a mapping with parent/props"
            )
        if parent is not None and parent not in section:
            raise s.err(line, f"kind {kind!r}: unknown parent {parent!r}")
        parents[kind] = parent
        declared[kind] = _read_props(s, props, line, f"kind {kind!r}")
    _check_cycles(s, parents)
    return _parents_first(parents), declared


def _read_props(s: _Spec, items: Any, line: int, what: str) -> dict[str, bool]:
    """`[flies, not swims]` -> {flies: True, swims: False}."""
    if not isinstance(items, LineList):
        raise s.err(line, f"{what}: properties are a list, e.g. [flies, not swims]")
    out: dict[str, bool] = {}
    for item, ln in zip(items, items.lines):
        words = str(item).split() if isinstance(item, str) else []
        holds = not (len(words) == 2 and words[0] == "not")
        if len(words) != (1 if holds else 2):
            raise s.err(
                ln, f"{what}: a property is one word, or 'not' and one word; got {shown(item)}"
            )
        prop = s.token(words[-1], ln, "a property")
        s.props.setdefault(prop, ln)
        if prop in out and out[prop] != holds:
            raise s.err(ln, f"{what}: property {prop!r} is both stated and denied")
        out[prop] = holds
    return out


def _check_cycles(s: _Spec, parents: dict[str, str | None]) -> None:
    done: set[str] = set()
    for kind in parents:
        path: list[str] = []
        k: str | None = kind
        while k is not None and k not in done:
            if k in path:
                cycle = path[path.index(k) :] + [k]
                raise s.err(s.kinds[k], f"cycle in the taxonomy: {' -> '.join(cycle)}")
            path.append(k)
            k = parents[k]
        done.update(path)


def _parents_first(parents: dict[str, str | None]) -> dict[str, str | None]:
    """The same taxonomy with every parent before its children (documents introduce
    kinds in this order), otherwise in file order."""
    out: dict[str, str | None] = {}
    for k in parents:
        # k and its ancestors not placed yet, nearest first: a loop, as taxonomies can be deep
        chain = []
        while k is not None and k not in out:
            chain.append(k)
            k = parents[k]
        for x in reversed(chain):
            out[x] = parents[x]
    return out


def compile_properties(
    kinds: dict[str, str | None], kind_decl: Props, entity_kind: dict[str, str], entity_decl: Props
) -> tuple[dict[str, list[tuple[str, bool]]], list[Triple]]:
    """Declared properties with exceptions -> per-kind properties (for taxonomy_rules)
    and stated facts for members of kinds that an exception splits (module docstring)."""
    children: dict[str, list[str]] = defaultdict(list)
    for k, p in kinds.items():
        if p is not None:
            children[p].append(k)
    members: dict[str, list[str]] = defaultdict(list)
    for e, k in entity_kind.items():
        members[k].append(e)
    kind_props: dict[str, list[tuple[str, bool]]] = {k: [] for k in kinds}
    stated: list[Triple] = []
    props = sorted({p for d in [*kind_decl.values(), *entity_decl.values()] for p in d})
    order = list(kinds)  # parents first
    for prop in props:
        value: dict[str, bool | None] = {}
        for k in order:
            inherited = value[kinds[k]] if kinds[k] is not None else None
            value[k] = kind_decl.get(k, {}).get(prop, inherited)
        ent = {e: entity_decl.get(e, {}).get(prop, value[k]) for e, k in entity_kind.items()}
        below: dict[str, set[bool | None]] = {}
        for k in reversed(order):
            below[k] = {value[k]}.union(
                *(below[c] for c in children[k]), (ent[e] for e in members[k])
            )
        uniform = {k: value[k] is not None and below[k] == {value[k]} for k in order}
        for k in order:
            if uniform[k] and (kinds[k] is None or not uniform[kinds[k]]):
                kind_props[k].append((prop, bool(value[k])))
        for e, k in entity_kind.items():
            if ent[e] is not None and (not uniform[k] or prop in entity_decl.get(e, {})):
                stated.append((e, HAS if ent[e] else "not:" + HAS, prop))
    return kind_props, stated


# -- relations --------------------------------------------------------------------------


def _read_relations(s: _Spec, kinds: dict[str, str | None]) -> dict[str, Relation]:
    section = s.section("relations", LineDict)
    out: dict[str, Relation] = {}
    for rid, body in section.items():
        line = section.lines[rid]
        s.token(rid, line, "a relation name")
        if rid in RESERVED or rid in kinds:
            raise s.err(line, f"{rid!r} cannot name a relation: it is a reserved word or a kind")
        body = body if body is not None else LineDict()
        if not isinstance(body, LineDict):
            raise s.err(line, f"relation {rid!r}: give a mapping, e.g. {{transitive: true}}")
        s.check_keys(body, RELATION_KEYS, f"relation {rid!r}")
        rel = Relation(rid)
        for flag in ("transitive", "symmetric"):
            if flag in body:
                if not isinstance(body[flag], bool):
                    raise s.err(body.lines[flag], f"relation {rid!r}: {flag} is true or false")
                setattr(rel, flag, body[flag])
        if "inverse" in body:
            rel.inverse = s.token(body["inverse"], body.lines["inverse"], "an inverse relation")
        for end in ("domain", "range"):
            if end in body:
                setattr(
                    rel,
                    end,
                    _kind_list(s, body[end], body.lines[end], kinds, f"relation {rid!r}: {end}"),
                )
        if "names" in body:
            s.add_names(rid, body["names"], body.lines["names"])
        for lang in ("en", "ru"):
            if lang in body:
                if not isinstance(body[lang], str) or not body[lang].strip():
                    raise s.err(body.lines[lang], f"relation {rid!r}: {lang} is a text")
                s.forms[rid][lang] = body[lang].strip()
        s.relations[rid] = line
        out[rid] = rel
    _pair_inverses(s, out)
    return out


def _kind_list(
    s: _Spec, value: Any, line: int, kinds: dict[str, str | None], what: str
) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None:
        raise s.err(line, f"{what} is a kind or a list of kinds")
    for k in items:
        if k not in kinds:
            raise s.err(line, f"{what}: unknown kind {k!r}")
    return tuple(items)


def _pair_inverses(s: _Spec, rels: dict[str, Relation]) -> None:
    """`a: {inverse: b}` makes b's inverse a, declaring b if the spec does not."""
    for rid in list(rels):
        rel = rels[rid]
        if rel.inverse is None:
            continue
        other = rels.get(rel.inverse)
        if other is None:
            rels[rel.inverse] = Relation(rel.inverse, transitive=rel.transitive, inverse=rid)
            s.relations[rel.inverse] = s.relations[rid]
        elif other.inverse is None:
            other.inverse = rid
        elif other.inverse != rid:
            raise s.err(
                s.relations[rid],
                f"relation {rid!r}: its inverse {rel.inverse!r} says its own inverse"
                f" is {other.inverse!r}",
            )


# -- entities and links -----------------------------------------------------------------


def _read_entities(
    s: _Spec, kinds: dict[str, str | None], rels: dict[str, Relation]
) -> tuple[list[Entity], Props, list[Triple]]:
    """Entities in file order: `kind`, `is` (own properties), `names`, a declared
    relation (-> links to other entities) or any other key (-> an attribute)."""
    section = s.section("entities", LineDict)
    entities: list[Entity] = []
    declared: Props = {}
    pending: list[tuple[Triple, int]] = []
    for eid, body in section.items():
        line = section.lines[eid]
        if not eid.strip() or eid in kinds or eid in rels or is_var(eid):
            raise s.err(
                line, f"{eid!r} cannot name an entity: empty, a variable, a kind or a relation"
            )
        if isinstance(body, str):  # `Ada: smith` is short for `Ada: {kind: smith}`
            body, kind_name = LineDict(), body
            body["kind"] = kind_name
        if not isinstance(body, LineDict) or "kind" not in body:
            raise s.err(line, f"entity {eid!r}: give at least its kind, e.g. {{kind: dragon}}")
        kind = body["kind"]
        if kind not in kinds:
            raise s.err(body.lines.get("kind", line), f"entity {eid!r}: unknown kind {kind!r}")
        attrs: dict[str, str] = {}
        for key, value in body.items():
            ln = body.lines.get(key, line)
            if key == "kind":
                continue
            if key == "is":
                declared[eid] = _read_props(s, value, ln, f"entity {eid!r}")
            elif key == "names":
                s.add_names(eid, value, ln)
            elif key in rels:
                targets = value if isinstance(value, list) else [value]
                pending.extend(((eid, key, str(t)), ln) for t in targets)
            elif isinstance(value, (list, dict)):
                raise s.err(
                    ln,
                    f"entity {eid!r}: {key!r} is not a declared relation,"
                    " and an attribute takes one value",
                )
            elif key in RESERVED or key in kinds:
                raise s.err(ln, f"entity {eid!r}: {key!r} cannot be an attribute")
            else:
                attrs[str(key)] = str(value)
                s.attrs.setdefault(str(key), ln)
        s.entities[eid] = line
        entities.append(Entity(eid, kind, attrs))
    ids = {e.id for e in entities}
    for (a, r, b), ln in pending:
        if b not in ids:
            raise s.err(ln, f"entity {a!r}: {r} names {b!r}, which is not an entity")
    return entities, declared, [t for t, _ in pending]


def _read_links(s: _Spec, rels: dict[str, Relation], ids: set[str]) -> list[Triple]:
    """`- Ada mentor_of Bo` or `- [Ada Lee, mentor_of, Bo]`: relation facts."""
    section = s.section("links", LineList)
    out: list[Triple] = []
    for item, line in zip(section, section.lines):
        t = _read_triple(s, item, line, set(rels))
        if t[1].startswith("not:") or t[1] not in rels:
            raise s.err(
                line, f"link {_show(item)}: relation {t[1]!r} is not declared under 'relations:'"
            )
        for end in (t[0], t[2]):
            if end not in ids:
                raise s.err(line, f"link {_show(item)}: {end!r} is not an entity")
        out.append(t)
    return out


def _show(item: Any) -> str:
    return shown(item if isinstance(item, str) else " ".join(map(str, item[:3])))


def _read_triple(s: _Spec, item: Any, line: int, relations: set[str]) -> Triple:
    """A triple as a list of three, or as text: `s r o`, `s is not p` (-> not:is),
    `s not r o` (-> not:r); names with spaces are quoted, or found around the one
    word that is a known relation."""
    if isinstance(item, list):
        if len(item) != 3:
            raise s.err(line, f"a fact is [subject, relation, object], got {shown(item)}")
        return tuple(str(x) for x in item)  # type: ignore[return-value]
    if not isinstance(item, str):
        raise s.err(
            line, f"a fact is text like 'Ada mentor_of Bo' or a list of three, got {shown(item)}"
        )
    try:
        words = shlex.split(item)
    except ValueError as e:
        raise s.err(line, f"cannot read {shown(item)}: {e}") from None
    if len(words) == 3:
        return words[0], words[1], words[2]
    if len(words) == 4 and words[1] == HAS and words[2] == "not":
        return words[0], "not:" + HAS, words[3]
    if len(words) == 4 and words[1] == "not":
        return words[0], "not:" + words[2], words[3]
    known = relations | {ISA, HAS}
    at = [i for i, w in enumerate(words) if w in known and 0 < i < len(words) - 1]
    if len(at) == 1:
        i = at[0]
        return " ".join(words[:i]), words[i], " ".join(words[i + 1 :])
    raise s.err(
        line,
        f"cannot read {shown(item)} as subject, relation, object (quote names that have spaces)",
    )


# -- rules ------------------------------------------------------------------------------


def _read_rules(
    s: _Spec, kinds: dict[str, str | None], rels: dict[str, Relation], attrs: set[str]
) -> list[Rule]:
    section = s.section("rules", LineList)
    known = set(rels) | attrs | {ISA, HAS}
    out: list[Rule] = []
    for n, (item, line) in enumerate(zip(section, section.lines), start=1):
        rid, premises, conclusion = _rule_parts(s, item, line, n, known)
        if rid in s.rules:
            raise s.err(line, f"rule id {rid!r} is already used (line {s.rules[rid]})")
        for t in [*premises, conclusion]:
            _check_pattern(s, t, line, kinds, known)
            if t[1] in (HAS, "not:" + HAS) and not is_var(t[2]):
                s.props.setdefault(t[2], line)
        bound = {x for p in premises for x in p if is_var(x)}
        free = [x for x in conclusion if is_var(x) and x not in bound]
        if free:
            raise s.err(
                line,
                f"rule {rid}: variable {free[0]} in the conclusion is not bound by any premise",
            )
        s.rules[rid] = line
        out.append(Rule(rid, tuple(premises), conclusion))
    return out


def _rule_parts(
    s: _Spec, item: Any, line: int, n: int, known: set[str]
) -> tuple[str, list[Triple], Triple]:
    """`A and B -> C`, or {id, if: [A, B], then: C}: the rule's id, premises, conclusion."""
    rid = f"rule{n}"
    if isinstance(item, str):
        if item.count("->") != 1:
            raise s.err(
                line, f"a rule reads 'premise and premise -> conclusion', got {shown(item)}"
            )
        lhs, rhs = item.split("->")
        ifs: list[Any] = [p for p in re.split(r"\s+and\s+", lhs.strip()) if p]
        then: Any = rhs.strip()
    elif isinstance(item, LineDict):
        s.check_keys(item, RULE_KEYS, "a rule")
        if "if" not in item or "then" not in item:
            raise s.err(
                line, "a rule needs 'if:' (a list of premises) and 'then:' (one conclusion)"
            )
        ifs = item["if"] if isinstance(item["if"], list) else [item["if"]]
        then = item["then"]
        if "id" in item:
            if not isinstance(item["id"], str) or not _RULE_ID.match(item["id"]):
                raise s.err(item.lines["id"], "a rule id is letters, digits and '_'")
            rid = "rule_" + item["id"]  # the families read ids starting with 'rule' as world rules
    else:
        raise s.err(line, "a rule is 'premise and premise -> conclusion' or a mapping with if/then")
    if not ifs:
        raise s.err(line, "a rule needs at least one premise")
    return rid, [_read_triple(s, p, line, known) for p in ifs], _read_triple(s, then, line, known)


def _check_pattern(
    s: _Spec, t: Triple, line: int, kinds: dict[str, str | None], known: set[str]
) -> None:
    rel = t[1][4:] if t[1].startswith("not:") else t[1]
    if not is_var(rel) and rel not in known:
        raise s.err(
            line,
            f"relation {rel!r} is used but not declared (declared: {', '.join(sorted(known))})",
        )
    if rel == ISA and not is_var(t[2]) and t[2] not in kinds:
        raise s.err(line, f"unknown kind {t[2]!r}")


def _read_top_names(s: _Spec) -> None:
    """Top-level `names: {ru: {dragon: дракон, ...}}`."""
    section = s.section("names", LineDict)
    for lang, table in section.items():
        if not isinstance(table, LineDict):
            msg = f"names: {lang}: map ids to names, e.g. {{ox: бык}}"
            raise s.err(section.lines[lang], msg)
        for owner, label in table.items():
            s.names[str(lang)][owner] = str(label)


# -- the closure ------------------------------------------------------------------------


def _check_closure(s: _Spec, world: World) -> None:
    """A world whose closure derives a fact and its negation is an error at the line of
    the rule (or kind, or entity) that leads there."""
    try:
        world.closure  # noqa: B018
    except Contradiction as e:
        c = Closure(world.stated_facts(), world.rules, check=False)
        line, what = _culprit(s, c, [e.fact, negate(e.fact)]) or (s.raw.line or 1, "")
        raise s.err(
            line,
            f"contradictory facts: the closure derives both {list(e.fact)}"
            f" and {list(negate(e.fact))}{what}",
        ) from None


def _culprit(s: _Spec, c: Closure, facts: list[Triple]) -> tuple[int, str] | None:
    """Where the facts come from: a user rule first, then a kind's property, then the
    entity they are stated of."""
    steps = [step for f in facts for step in reversed(c.proof(f))]
    for step in steps:
        if step["rule"] in s.rules:
            return s.rules[step["rule"]], f" (rule {step['rule']})"
    for step in steps:
        kind = step["rule"].split(":", 1)[0]
        if kind in s.kinds:
            return s.kinds[kind], f" (kind {kind})"
    for f in facts:
        if f[0] in s.entities:
            return s.entities[f[0]], f" (entity {f[0]})"
    return None
