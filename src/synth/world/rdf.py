"""A world imported from an ontology: RDF / RDFS / OWL through rdflib.

What is mapped:

- owl:Class, rdfs:Class and classes used as types -> `kinds`;
- rdfs:subClassOf between named classes -> the taxonomy: one parent in `kinds`, the
  others in `extra_parents`, a taxonomy rule for every edge (owl:equivalentClass
  between named classes is two edges);
- `x rdf:type C` (x not a class) -> an entity of kind C (the most specific of its
  types); its other types are stated facts (`extra_facts`);
- object-property assertions between individuals -> `links`;
- owl:TransitiveProperty, owl:SymmetricProperty, owl:inverseOf -> the relation
  algebra, as Horn rules;
- rdfs:domain / rdfs:range of a property -> `Relation.domain` / `.range` (recorded,
  not used to derive types);
- literal-valued properties of individuals -> entity attributes (a value tagged with
  another language than the default is that value's name in the language:
  `:colour "black", "чёрный"@ru`);
- rdfs:label with language tags -> `names[lang][id]` (untagged: the default language).

Everything else (restrictions and other class expressions, property chains, cardinality,
disjointness, sub-properties, annotations, SHACL, ...) is counted in `world.unmapped` by
construct (the predicate, or `rdf:type X` for an unmapped type) and left out: the
closure stays what OWL-RL derives for the mapped constructs.

Ids are local names (`Lion` for `http://example.org/zoo#Lion`), or prefixed names when
two resources share a local name; `world.iris` maps each id back to its IRI. After
parsing, the import makes a few linear passes over the triples, so a large ontology
loads in little more than the time rdflib takes to parse it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

from synth.english import humanise
from synth.errors import UserError
from synth.world.forms import label_forms, not_words_error
from synth.world.model import ISA, Entity, Relation, World
from synth.world.rules import relation_rules, taxonomy_rules
from synth.world.solver import Rule, Triple

FORMATS = {
    ".ttl": "turtle",
    ".n3": "n3",
    ".nt": "nt",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json-ld": "json-ld",
}
THING = "Thing"  # the kind of individuals that have no named class


class _Graph:
    """One parsed graph, the vocabulary terms the mapping uses, and the unmapped counts."""

    def __init__(self, g, default_lang: str):
        from rdflib import BNode, Literal, URIRef
        from rdflib.namespace import OWL, RDF, RDFS

        self.g, self.default_lang = g, default_lang
        self.URIRef, self.Literal, self.BNode = URIRef, Literal, BNode
        # The terms used, looked up once: rdflib resolves `RDF.type` anew on every use.
        self.RDF = SimpleNamespace(type=RDF.type)
        self.RDFS = SimpleNamespace(
            **{t: RDFS[t] for t in ("Class", "subClassOf", "domain", "range", "label")}
        )
        owl_terms = (
            "Class", "ObjectProperty", "TransitiveProperty", "SymmetricProperty",
            "DatatypeProperty", "NamedIndividual", "Thing", "equivalentClass", "inverseOf",
        )  # fmt: skip
        self.OWL = SimpleNamespace(**{t: OWL[t] for t in owl_terms})
        self.schema_ns = tuple(str(ns) for ns in (RDF, RDFS, OWL)) + (
            "http://www.w3.org/2001/XMLSchema#",
            "http://www.w3.org/ns/shacl#",
            "http://www.w3.org/2004/02/skos/core#",
            "http://purl.org/dc/",
            "http://www.w3.org/ns/prov#",
            "http://purl.org/vocab/vann/",
        )
        self.unmapped: Counter[str] = Counter()

    def builtin(self, term) -> bool:
        return isinstance(term, self.URIRef) and str(term).startswith(self.schema_ns)

    def named(self, term) -> bool:
        return isinstance(term, self.URIRef) and not self.builtin(term)

    def short(self, term) -> str:
        try:
            return (
                self.g.namespace_manager.normalizeUri(term)
                if isinstance(term, self.URIRef)
                else "_:blank"
            )
        except Exception:  # noqa: BLE001 - any IRI rdflib cannot shorten is shown whole
            return str(term)

    def skip(self, construct: str) -> None:
        self.unmapped[construct] += 1


def load_rdf(path: str | Path, seed: int = 0, default_lang: str = "en") -> World:
    """Import an RDF / OWL file as a World (see the module docstring for the mapping)."""
    path = Path(path)
    g = _parse(path)
    G = _Graph(g, default_lang)
    classes = _classes(G)
    props, datatype_props = _properties(G, classes)
    individuals = _individuals(G, classes, props)
    ids = _ids(G, classes | set(props) | datatype_props | individuals)
    return _build(G, path, seed, ids, classes, props, datatype_props, individuals)


def _parse(path: Path):
    import rdflib

    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(
            f"{path}: unknown ontology format {path.suffix!r};"
            f" use one of {', '.join(sorted(FORMATS))}"
        )
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    g = rdflib.Graph()
    try:
        g.parse(str(path), format=fmt)
    except Exception as e:  # noqa: BLE001 - rdflib's parsers raise many kinds of error
        line = _error_line(e)
        first = getattr(e, "_why", None) or (str(e).strip().splitlines() or [type(e).__name__])[0]
        where = f"{path}:{line}" if line else str(path)
        raise UserError(f"{where}: cannot read {fmt} ontology: {first}") from None
    return g


def _error_line(e: Exception) -> int | None:
    """The line of a parse error: Turtle's BadSyntax counts from 0, SAX from 1."""
    if isinstance(getattr(e, "lines", None), int):
        return e.lines + 1
    get = getattr(e, "getLineNumber", None)
    return get() if callable(get) else None


def _classes(G: _Graph) -> set:
    """Named classes: declared, in the taxonomy, or used as an individual's type."""
    RDF, RDFS, OWL = G.RDF, G.RDFS, G.OWL
    out = set()
    for decl in (OWL.Class, RDFS.Class):
        out.update(s for s in G.g.subjects(RDF.type, decl) if G.named(s))
    for pred in (RDFS.subClassOf, OWL.equivalentClass):
        for s, o in G.g.subject_objects(pred):
            out.update(x for x in (s, o) if G.named(x))
    for s, o in G.g.subject_objects(RDF.type):
        if G.named(o) and o not in out and G.named(s):
            out.add(o)
    return out


def _properties(G: _Graph, classes: set) -> tuple[dict, set]:
    """Object properties (IRI -> flags) and datatype properties."""
    RDF, OWL = G.RDF, G.OWL
    props: dict = {}
    for decl in (OWL.ObjectProperty, OWL.TransitiveProperty, OWL.SymmetricProperty):
        for p in G.g.subjects(RDF.type, decl):
            if G.named(p):
                props.setdefault(p, {"transitive": False, "symmetric": False})
    for p in G.g.subjects(RDF.type, OWL.TransitiveProperty):
        if p in props:
            props[p]["transitive"] = True
    for p in G.g.subjects(RDF.type, OWL.SymmetricProperty):
        if p in props:
            props[p]["symmetric"] = True
    for a, b in G.g.subject_objects(OWL.inverseOf):
        for x in (a, b):
            if G.named(x):
                props.setdefault(x, {"transitive": False, "symmetric": False})
    datatype = {p for p in G.g.subjects(RDF.type, OWL.DatatypeProperty) if G.named(p)}
    # Undeclared predicates used between two IRIs that are not classes are relations too.
    for s, p, o in G.g:
        if (
            p not in props
            and G.named(p)
            and G.named(s)
            and G.named(o)
            and s not in classes
            and o not in classes
        ):
            if p not in datatype:
                props[p] = {"transitive": False, "symmetric": False}
    return props, datatype


def _individuals(G: _Graph, classes: set, props: dict) -> set:
    """Named resources that are neither classes nor properties but are typed or related."""
    RDF = G.RDF
    out = set()
    for s, o in G.g.subject_objects(RDF.type):
        if (
            G.named(s)
            and s not in classes
            and s not in props
            and (o in classes or o == G.OWL.NamedIndividual or o == G.OWL.Thing)
        ):
            out.add(s)
    for p in props:
        for s, o in G.g.subject_objects(p):
            for x in (s, o):
                if G.named(x) and x not in classes and x not in props:
                    out.add(x)
    return out


def _local(iri: str) -> str:
    for sep in ("#", "/", ":"):
        head, _, tail = iri.rpartition(sep)
        if head and tail:
            return tail
    return iri


def _ids(G: _Graph, terms: set) -> dict:
    """IRI -> id: the local name, or the prefixed name where local names clash."""
    by_local: dict[str, list] = defaultdict(list)
    for t in terms:
        by_local[_local(str(t))].append(t)
    out = {}
    for local, ts in by_local.items():
        if len(ts) == 1 and local != THING:
            out[ts[0]] = local
        else:
            for t in ts:
                out[t] = G.short(t)
    if len(set(out.values())) != len(out):  # prefixed names clash too: fall back to IRIs
        seen = Counter(out.values())
        out = {t: (i if seen[i] == 1 else str(t)) for t, i in out.items()}
    return out


class _Import:
    """The world being built from one graph: each triple is mapped or counted."""

    def __init__(
        self, G: _Graph, ids: dict, classes: set, props: dict, datatype: set, individuals: set
    ):
        self.G, self.ids, self.classes, self.props = G, ids, classes, props
        self.datatype, self.individuals = datatype, individuals
        # kind -> [(superkind, whether by equivalence)]: a subClassOf edge is preferred
        # as the one parent `kinds` keeps
        self.edges: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        self.types: dict[str, set[str]] = defaultdict(set)  # entity -> kinds
        self.attrs: dict[str, dict[str, str]] = defaultdict(dict)
        self.links: list[Triple] = []
        self.names: dict[str, dict[str, str]] = defaultdict(dict)
        # (entity, attribute) -> language -> its value in that language
        self.value_names: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        self.relations = {ids[p]: Relation(ids[p], **flags) for p, flags in props.items()}
        self.ends: dict[str, dict[str, list[str]]] = defaultdict(
            lambda: {"domain": [], "range": []}
        )

    def run(self) -> None:
        for s, p, o in self.G.g:
            construct = self.map(s, p, o)
            if construct is not None:
                self.G.skip(construct)
        for rid, ends in self.ends.items():
            self.relations[rid].domain = tuple(sorted(set(ends["domain"])))
            self.relations[rid].range = tuple(sorted(set(ends["range"])))
        for (eid, key), by_lang in sorted(self.value_names.items()):
            value = self.attrs.get(eid, {}).get(key)
            for lang, text in sorted(by_lang.items()):
                if value is None:
                    self.G.skip(f"{key} (a value in {lang} only)")
                else:
                    self.names[lang].setdefault(value, text)

    def map(self, s, p, o) -> str | None:
        """Map one triple; None if mapped, else the name of the construct it belongs to."""
        G, RDF, RDFS, OWL = self.G, self.G.RDF, self.G.RDFS, self.G.OWL
        if p == RDF.type:
            return self.map_type(s, o)
        if p in (RDFS.subClassOf, OWL.equivalentClass):
            return self.map_subclass(s, p, o)
        if p == OWL.inverseOf and s in self.props and o in self.props:
            rel, inv = self.relations[self.ids[s]], self.relations[self.ids[o]]
            if rel.inverse in (None, inv.id) and inv.inverse in (None, rel.id):
                rel.inverse, inv.inverse = inv.id, rel.id
                return None
            return "owl:inverseOf (a second inverse)"
        if p in (RDFS.domain, RDFS.range) and s in self.props and o in self.classes:
            self.ends[self.ids[s]]["domain" if p == RDFS.domain else "range"].append(self.ids[o])
            return None
        if p == RDFS.label and s in self.ids and isinstance(o, G.Literal):
            return self.map_label(s, o)
        if p in self.props and s in self.individuals and o in self.individuals:
            self.links.append((self.ids[s], self.ids[p], self.ids[o]))
            return None
        if (
            s in self.individuals
            and isinstance(o, G.Literal)
            and (p in self.datatype or G.named(p))
        ):
            return self.map_attr(s, p, o)
        if p in self.props and (s in self.classes or o in self.classes):
            return f"{G.short(p)} (on a class)"
        return G.short(p)

    def map_type(self, s, o) -> str | None:
        G, RDFS, OWL = self.G, self.G.RDFS, self.G.OWL
        if s in self.individuals and o in self.classes:
            self.types[self.ids[s]].add(self.ids[o])
            return None
        declares = (
            OWL.Class,
            RDFS.Class,
            OWL.ObjectProperty,
            OWL.TransitiveProperty,
            OWL.SymmetricProperty,
            OWL.DatatypeProperty,
        )
        if o in declares and G.named(s):
            return None
        if o in (OWL.NamedIndividual, OWL.Thing) and s in self.individuals:
            return None
        if o in self.classes:
            return "rdf:type (a class or property as an instance)"
        return f"rdf:type {G.short(o)}"

    def map_subclass(self, s, p, o) -> str | None:
        if s in self.classes and o == self.G.OWL.Thing:
            return None  # every class is a Thing: a root
        if not (s in self.classes and o in self.classes):
            return f"{self.G.short(p)} (class expression)"
        if s != o:
            equivalent = p == self.G.OWL.equivalentClass
            self.edges[self.ids[s]].append((self.ids[o], equivalent))
            if equivalent:
                self.edges[self.ids[o]].append((self.ids[s], True))
        return None

    def map_label(self, s, o) -> str | None:
        lang = o.language or self.G.default_lang
        table = self.names[lang]
        if self.ids[s] in table and (o.language is None or table[self.ids[s]] <= str(o)):
            return "rdfs:label (a second label)"  # keep one label per language, the same every run
        table[self.ids[s]] = str(o)
        return None

    def map_attr(self, s, p, o) -> str | None:
        key = self.ids.get(p) or _local(str(p))
        if o.language and o.language != self.G.default_lang:  # "чёрный"@ru: the value's name
            self.value_names[(self.ids[s], key)][o.language] = str(o)
            return None
        attrs = self.attrs[self.ids[s]]
        if key in attrs and attrs[key] <= str(o):
            return f"{self.G.short(p)} (a second value)"  # one value per attribute
        attrs[key] = str(o)
        return None


def _build(
    G: _Graph,
    path: Path,
    seed: int,
    ids: dict,
    classes: set,
    props: dict,
    datatype: set,
    individuals: set,
) -> World:
    imp = _Import(G, ids, classes, props, datatype, individuals)
    imp.run()
    return _assemble(G, path, seed, ids, classes, individuals, imp)


def _assemble(
    G: _Graph, path: Path, seed: int, ids: dict, classes: set, individuals: set, imp: _Import
) -> World:
    kinds, extra = _taxonomy(sorted(ids[c] for c in classes), imp.edges)
    entities: list[Entity] = []
    extra_facts: list[Triple] = []
    untyped = False
    for eid in sorted(ids[i] for i in individuals):
        kind, others = _primary_kind(imp.types.get(eid, set()), kinds, extra)
        if kind is None:
            kind, untyped = THING, True
        entities.append(Entity(eid, kind, dict(sorted(imp.attrs.get(eid, {}).items()))))
        extra_facts.extend((eid, ISA, k) for k in others)
    if untyped:
        kinds = {THING: None, **kinds}
        imp.names["ru"].setdefault(THING, "сущность")
    kind_props: dict[str, list[tuple[str, bool]]] = {k: [] for k in kinds}
    relations = dict(sorted(imp.relations.items()))
    forms = _forms(path, imp, relations, kinds, entities)
    rules = (
        taxonomy_rules(kinds, kind_props)
        + _extra_edge_rules(extra)
        + relation_rules(list(relations.values()))
    )
    return World(
        seed=seed,
        kinds=kinds,
        kind_props=kind_props,
        entities=entities,
        relations=relations,
        links=sorted(set(imp.links)),
        rules=rules,
        names={lang: dict(sorted(v.items())) for lang, v in sorted(imp.names.items())},
        extra_facts=extra_facts,
        extra_parents=extra,
        unmapped=dict(sorted(G.unmapped.items())),
        source=str(path),
        iris={i: str(t) for t, i in ids.items()},
        forms=forms,
    )


def _forms(
    path: Path, imp: _Import, relations: dict[str, Relation], kinds: dict, entities: list[Entity]
) -> dict[str, dict[str, str]]:
    """How the labels read (synth.world.forms): a relation or attribute from its
    rdfs:label in each language, else from its id ("locatedIn" → "is located in"); a
    label that is not words even then is refused. Kinds and individuals without
    an English label are named from their ids ("northWing" → "North Wing", "Cat" →
    "cat")."""
    labels = {r: "relation" for r in relations}  # a question may ask of any of them
    labels.update({a: "attribute" for e in entities for a in e.attrs if a not in labels})
    declared = {
        label: {lang: imp.names[lang][label] for lang in ("en", "ru") if label in imp.names[lang]}
        for label in labels
    }
    forms = label_forms(
        labels, declared, lambda label, role: not_words_error(str(path), label, role, rdf=True)
    )
    english = imp.names["en"]
    for ident, said in [(k, humanise(k)) for k in kinds] + [
        (e.id, humanise(e.id, proper=True)) for e in entities
    ]:
        if said != ident:
            english.setdefault(ident, said)
    return forms


def _taxonomy(
    kind_ids: list[str], edges: dict[str, list[tuple[str, bool]]]
) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """kind -> one parent (never closing a cycle; parents first) and kind -> the rest."""
    parent: dict[str, str | None] = {}
    extra: dict[str, list[str]] = {}
    for k in kind_ids:
        ranked = sorted(set(edges.get(k, [])), key=lambda e: (e[1], e[0]))
        supers = list(dict.fromkeys(p for p, _ in ranked))
        chosen = None
        for p in supers:
            if not _reaches(parent, p, k):
                chosen = p
                break
        parent[k] = chosen
        rest = [p for p in supers if p != chosen]
        if rest:
            extra[k] = rest
    return _parents_first(parent), extra


def _reaches(parent: dict[str, str | None], start: str, target: str) -> bool:
    """Whether `target` is `start` or one of its ancestors so far."""
    k: str | None = start
    while k is not None:
        if k == target:
            return True
        k = parent.get(k)
    return False


def _parents_first(parent: dict[str, str | None]) -> dict[str, str | None]:
    children: dict[str | None, list[str]] = defaultdict(list)
    for k, p in parent.items():
        children[p].append(k)
    out: dict[str, str | None] = {}
    stack = list(reversed(children[None]))
    while stack:  # depth-first, iteratively: ontologies can be deep
        k = stack.pop()
        out[k] = parent[k]
        stack.extend(reversed(children[k]))
    return out


def _primary_kind(
    kinds_of: set[str], kinds: dict[str, str | None], extra: dict[str, list[str]]
) -> tuple[str | None, list[str]]:
    """The most specific of an individual's types, and the others not implied by it."""
    if not kinds_of:
        return None, []
    implied: set[str] = set()
    for k in kinds_of:
        implied |= _ancestors(k, kinds, extra)
    specific = sorted(k for k in kinds_of if k not in implied) or sorted(kinds_of)
    primary = specific[0]
    covered = _ancestors(primary, kinds, extra) | {primary}
    return primary, sorted(k for k in kinds_of if k not in covered)


def _ancestors(kind: str, kinds: dict[str, str | None], extra: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [kind]
    while todo:
        k = todo.pop()
        ups = ([kinds[k]] if kinds.get(k) else []) + extra.get(k, [])
        for p in ups:
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def _extra_edge_rules(extra: dict[str, list[str]]) -> list[Rule]:
    """Taxonomy rules for the parents `kinds` cannot hold, made by the same helper."""
    return [r for k, ps in extra.items() for p in ps for r in taxonomy_rules({k: p}, {})]
