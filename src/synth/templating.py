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

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from synth.errors import UserError
from synth.paths import data_dir
from synth.template_helpers import FILTERS

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

    @property
    def all_concepts(self) -> list[str]:
        return list(dict.fromkeys(self.introduces + self.requires + self.concepts))


def _blank_front_matter(text: str) -> str:
    """Replace the front matter by as many empty lines, so Jinja's line numbers are the
    file's line numbers."""
    m = _FRONT.match(text)
    return "\n" * m.group(0).count("\n") + text[m.end() :] if m else text


def parse_front_matter(path: Path, text: str) -> dict[str, Any]:
    m = _FRONT.match(text)
    if not m:
        raise UserError(f"{path}:1: a template starts with YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise UserError(f"{path}:{line}: invalid front matter: {getattr(e, 'problem', e)}") from None
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
            raise UserError(f"{path}:{line_of(key)}: unknown front matter field {key!r}")
        if key in _OPTIONAL and not isinstance(value, _OPTIONAL[key]):
            raise UserError(f"{path}:{line_of(key)}: {key!r} has the wrong type")
    if meta["kind"] not in KINDS:
        raise UserError(f"{path}:{line_of('kind')}: kind must be one of {', '.join(KINDS)}")
    if meta["shape"] not in SHAPES:
        raise UserError(f"{path}:{line_of('shape')}: shape must be one of {', '.join(SHAPES)}")
    return meta


def _finish(text: str) -> str:
    """Templates are written for readability; the sample is tidy text. Runs of spaces
    inside a line collapse, but indentation and fenced code blocks stay as written."""
    out: list[str] = []
    fenced = False
    for line in text.strip().split("\n"):
        line = line.rstrip()
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            indent = len(line) - len(line.lstrip(" \t"))
            line = line[:indent] + _SPACES.sub(" ", line[indent:])
        out.append(line)
    return _BLANKS.sub("\n\n", "\n".join(out))


_SPACES = re.compile(r"[ \t]{2,}")
_BLANKS = re.compile(r"\n{3,}")


class _PackLoader(jinja2.FileSystemLoader):
    """Loads only files under the pack directories (no absolute or `..` paths), and
    hands Jinja the body with the front matter blanked out."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        return _blank_front_matter(source), filename, uptodate


class TemplateLibrary:
    """Every template of the built-in pack and of user packs, by id."""

    def __init__(self, dirs: Iterable[Path] | None = None, *, builtin: bool = True):
        self.dirs = [Path(d) for d in (dirs or [])]
        if builtin:
            self.dirs.append(data_dir("templates"))
        for d in self.dirs:
            if not d.is_dir():
                raise UserError(f"--templates: no such directory: {d}")
        self.env = ImmutableSandboxedEnvironment(
            loader=_PackLoader([str(d) for d in self.dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.env.filters.update(FILTERS)
        # id -> lang -> spec: one template id may exist in several languages, so the
        # same item renders in each of them (parallel corpora).
        self.variants: dict[str, dict[str, TemplateSpec]] = {}
        self._compiled: dict[tuple[str, str], jinja2.Template] = {}
        for d in self.dirs:
            for path in sorted(d.rglob("*.j2")):
                if path.name.startswith("_"):
                    continue
                self._add(d, path)

    def _add(self, root: Path, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"{path}: cannot read template: {e}") from None
        meta = parse_front_matter(path, text)
        tid, lang = meta["id"], meta["lang"]
        old = self.variants.get(tid, {}).get(lang)
        if old is not None:
            # A user pack may replace a built-in template; two files of one pack may not clash.
            if old.path.is_relative_to(root):
                raise UserError(f"{path}: template id {tid!r} ({lang}) already used by {old.path}")
            return
        diff = meta.get("difficulty", [1, 8])
        if isinstance(diff, int):
            diff = [diff, diff]
        self.variants.setdefault(tid, {})[lang] = TemplateSpec(
            id=tid,
            kind=meta["kind"],
            lang=meta["lang"],
            family=meta["family"],
            shape=meta["shape"],
            path=path,
            name=path.relative_to(root).as_posix(),
            introduces=[str(x) for x in meta.get("introduces", [])],
            requires=[str(x) for x in meta.get("requires", [])],
            concepts=[str(x) for x in meta.get("concepts", [])],
            difficulty=(int(diff[0]), int(diff[1])),
            params=dict(meta.get("params", {})),
            description=meta.get("description", ""),
            realise=meta.get("realise", ""),
            source=text,
        )

    def __contains__(self, tid: str) -> bool:
        return tid in self.variants

    @property
    def specs(self) -> dict[str, TemplateSpec]:
        """One spec per id (English where there is one): what the curriculum reads."""
        return {tid: self.spec(tid) for tid in self.variants}

    def langs(self, tid: str) -> list[str]:
        return sorted(self.variants.get(tid, {}))

    def spec(self, tid: str, lang: str | None = None) -> TemplateSpec:
        variants = self.variants.get(tid)
        if not variants:
            raise UserError(f"unknown template id {tid!r}; `synth templates list` shows them")
        if lang is None:
            return variants.get("en") or variants[min(variants)]
        try:
            return variants[lang]
        except KeyError:
            raise UserError(f"template {tid!r} has no {lang!r} version (it has: {', '.join(sorted(variants))})") from None

    def compiled(self, tid: str, lang: str | None = None) -> jinja2.Template:
        spec = self.spec(tid, lang)
        t = self._compiled.get((tid, spec.lang))
        if t is None:
            try:
                t = self.env.get_template(spec.name)
            except jinja2.TemplateSyntaxError as e:
                raise UserError(f"{e.filename or spec.path}:{e.lineno}: {e.message}") from None
            except jinja2.TemplateNotFound as e:
                raise UserError(f"{spec.path}: includes a template that is not in its pack: {e.name}") from None
            if spec.shape == "chat" and not {"user", "assistant"} <= set(t.blocks):
                raise UserError(f"{spec.path}: a chat template defines blocks 'user' and 'assistant'")
            self._compiled[(tid, spec.lang)] = t
        return t

    def render(self, tid: str, variables: dict[str, Any], lang: str | None = None) -> tuple[str | None, list[dict[str, str]] | None]:
        """Render one item: `(text, None)` for a document, `(None, messages)` for chat."""
        spec = self.spec(tid, lang)
        t = self.compiled(tid, spec.lang)
        try:
            if spec.shape == "document":
                return _finish(t.render(variables)), None
            # Render the whole template once (so top-level imports and sets run, in
            # order) and capture what each role's block produced.
            ctx = t.new_context(variables)
            captured: dict[str, str] = {}
            for role in ROLES:
                if role in ctx.blocks:
                    ctx.blocks[role][0] = _capture(ctx.blocks[role][0], role, captured)
            for _ in t.root_render_func(ctx):
                pass
            messages = []
            for role in ROLES:
                content = _finish(captured.get(role, ""))
                if content:
                    messages.append({"role": role, "content": content})
            return None, messages
        except jinja2.TemplateError as e:
            raise UserError(f"{_where(spec)}: {type(e).__name__}: {e}") from None


def _capture(block, role: str, into: dict[str, str]):
    def run(context):
        parts = list(block(context))
        into[role] = "".join(parts)
        return iter(parts)

    return run


def _where(spec: TemplateSpec) -> str:
    """file:line of the template frame that raised, from the traceback Jinja rewrote."""
    tb = sys.exc_info()[2]
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(spec.path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{spec.path}:{line}" if line else str(spec.path)
