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

import functools
import hashlib
import math
import re
import sys
import time
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from synth.errors import UserError
from synth.paths import cache_root, data_dir
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


# libyaml's parser where PyYAML was built with it: the front matter of every template is
# read at each start, and the pure-Python parser is most of that.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        meta = yaml.load(m.group(1), Loader=_YAML_LOADER) or {}
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
    if "```" not in text and not _SPACES.search(text):
        # Nothing to collapse (most renders): only trailing blanks and blank lines to tidy.
        return _BLANKS.sub("\n\n", "\n".join([ln.rstrip() for ln in text.strip().split("\n")]))
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


# An absolute path, a drive, a backslash or a `..` segment: not a path inside a pack.
_OUTSIDE = re.compile(r"^[/\\]|^[A-Za-z]:|\\|(^|/)\.\.(/|$)")


class _PackLoader(jinja2.FileSystemLoader):
    """Loads only files under the pack directories (no absolute or `..` paths, no
    symlink out of a pack), and hands Jinja the body with the front matter blanked out."""

    def get_source(self, environment, template):
        if _OUTSIDE.search(template):
            raise SecurityError(
                f"template path {template!r} leaves its pack: a template includes or imports"
                " only templates of its pack, by a path relative to the pack"
            )
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except jinja2.TemplateNotFound:
            raise jinja2.TemplateNotFound(
                template,
                f"no template {template!r} in the template packs (a template can include or"
                " import only templates of its pack, not other files or Python modules)",
            ) from None
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(root).resolve()) for root in self.searchpath):
            raise SecurityError(f"template {template!r} is a link to a file outside its pack")
        return _blank_front_matter(source), filename, uptodate


class RenderLimit(SecurityError):
    """A template ran too long or produced too much: a loop that never ends, or a
    render of megabytes."""


MAX_RANGE = 100_000  # items in one range() of a template
# Chunks a render yields between two checks of the output limit and the clock. Checking
# each chunk through a generator cost ~5% of a render; 16 chunks of slack bound how far
# past the limit the output can get (each chunk is itself capped).
OUTPUT_BATCH = 16
_monotonic = time.monotonic
# The parent's methods, called directly: the overrides below run on every attribute and
# item access and intercepted operator of a template, where super() costs a share.
_SANDBOX_GETATTR = ImmutableSandboxedEnvironment.getattr
_SANDBOX_GETITEM = ImmutableSandboxedEnvironment.getitem
_SANDBOX_BINOP = ImmutableSandboxedEnvironment.call_binop
_BUILTIN_METHOD = type("".ljust)  # str.ljust(10**9) and the like are checked before they run
_FUNCTION = type(lambda: None)
_MACRO = jinja2.runtime.Macro
_LOOP = jinja2.runtime.LoopContext
# Attribute names of a plain dict: `d.key` on a dict is an item lookup unless the name is
# one of these (Jinja prefers the attribute).
_DICT_ATTRS = frozenset(dir(dict))
# Loop attributes the sandbox always allows (public, not internal) and whose values are
# numbers or booleans, never a str.format to wrap.
_LOOP_NUMBERS = frozenset(
    ["index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"]
)
_HUGE_WIDTH = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format
_WIDTH_FILTERS = ("center", "indent", "wordwrap", "truncate", "batch", "slice")


class _Range(Sequence):
    """What `range()` gives a template: at most MAX_RANGE items, and iterating it
    checks the render deadline (so nested loops with empty bodies stop too)."""

    def __init__(self, env: PackSandbox, r: range):
        self._env, self._r = env, r

    def __len__(self) -> int:
        return len(self._r)

    def __getitem__(self, i):
        return _Range(self._env, self._r[i]) if isinstance(i, slice) else self._r[i]

    def __iter__(self) -> Iterator[int]:
        r = self._r
        for start in range(0, len(r), 256):  # the clock before items 0, 256, 512, ...
            self._env.check_time()
            yield from r[start : start + 256]


class PackSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with limits per render: a time limit checked on every
    call, attribute and item access and every 256 loop items of a range; an output
    limit on what the template yields (counted every OUTPUT_BATCH chunks); ranges, sequence repetition, powers and width
    arguments capped so that no single operation can take the process's memory or
    time. Everything refused is a SecurityError (the render reports it with the file)."""

    intercepted_binops = frozenset(["*", "**", "%"])

    def __init__(
        self, *args: Any, time_limit: float = 2.0, max_output: int = 1_000_000, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.time_limit = time_limit
        self.max_output = max_output
        self._deadline = math.inf
        self._output = 0
        self.globals["range"] = self._range
        self.globals.pop("lipsum", None)  # placeholder text: nothing a sample needs, and unbounded
        for name in _WIDTH_FILTERS:
            if name in self.filters:
                self.filters[name] = self._capped(name, self.filters[name])
        if "format" in self.filters:
            self.filters["format"] = self._checked_format(self.filters["format"])

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A plain dict where Jinja keeps a ChainMap over the environment's globals: every
        # render copies a template's globals into its context, and copying a ChainMap
        # cost 2.5% of the command tier. The globals are set above, before any template
        # loads, so a snapshot misses nothing.
        return {**self.globals, **(d or {})}

    @contextmanager
    def limits(self) -> Iterator[None]:
        """One render: the clock and the output count start now."""
        self._deadline = time.monotonic() + self.time_limit
        self._output = 0
        try:
            yield
        finally:
            self._deadline = math.inf

    def check_time(self) -> None:
        if _monotonic() > self._deadline:
            raise RenderLimit(
                f"the render took longer than {self.time_limit:g} s (the time limit per item);"
                " does a loop never end?"
            )

    def collect(self, chunks: Iterable[str]) -> list[str]:
        """All the chunks, counted against the output limit and the clock every
        OUTPUT_BATCH chunks as they are produced (not once at the end: a runaway loop
        would fill memory long before its time limit)."""
        it = iter(chunks)
        out: list[str] = []
        while batch := list(islice(it, OUTPUT_BATCH)):
            out += batch
            self._output += sum(map(len, batch))
            if self._output > self.max_output:
                raise RenderLimit(
                    f"the render produced more than {self.max_output:,} characters"
                    " (the output limit per item)"
                )
            if _monotonic() > self._deadline:
                self.check_time()
        return out

    def drain(self, chunks: Iterable[str]) -> None:
        """Run a render whose output is not wanted, checking the clock as `collect` does."""
        it = iter(chunks)
        while list(islice(it, OUTPUT_BATCH)):
            if _monotonic() > self._deadline:
                self.check_time()

    def _cap(self, n: Any, what: str) -> None:
        if isinstance(n, int) and not isinstance(n, bool) and abs(n) > self.max_output:
            raise RenderLimit(
                f"{what} {n} is too large for a template (at most {self.max_output:,})"
            )

    def _range(self, *args: int) -> _Range:
        r = range(*args)
        if len(r) > MAX_RANGE:
            raise RenderLimit(
                f"range of {len(r):,} items is too long for a template (at most {MAX_RANGE:,})"
            )
        return _Range(self, r)

    def _capped(self, name: str, fn):
        @functools.wraps(fn)  # keeps Jinja's pass_context / pass_environment marks
        def capped(*args: Any, **kwargs: Any) -> Any:
            for a in [*args[1:], *kwargs.values()]:
                self._cap(a, f"argument of filter {name}:")
            return fn(*args, **kwargs)

        return capped

    def _check_format(self, fmt: Any, args: Any = ()) -> None:
        """A width such as %999999999d would build a gigabyte before any limit saw it."""
        if isinstance(fmt, str) and _HUGE_WIDTH.search(fmt):
            raise RenderLimit(f"format {fmt[:40]!r} asks for a width too large for a template")
        for a in args if isinstance(args, (tuple, list)) else (args,):
            self._cap(a, "format argument")

    def _checked_format(self, fn):
        @functools.wraps(fn)
        def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
            self._check_format(value, [*args, *kwargs.values()])
            return fn(value, *args, **kwargs)

        return checked

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> Any:
            self._check_format(fmt, [*args, *kwargs.values()])
            return wrapped(*args, **kwargs)

        return checked

    # Jinja's own parameter names: a template's keyword arguments may not clash with them
    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        if _monotonic() > __self._deadline:  # inline: this runs on every call
            __self.check_time()
        if type(__obj) is _BUILTIN_METHOD and isinstance(__obj.__self__, (str, list, tuple)):
            for a in [*args, *kwargs.values()]:
                __self._cap(a, f"argument of {getattr(__obj, '__name__', 'a method')}():")
        elif type(__obj) is _MACRO or (type(__obj) is _FUNCTION and not __obj.__dict__):
            # Context.call for what needs none of its checks: a macro, or a function
            # with no attributes, hence no pass_context mark and no unsafe flag. Most
            # calls a template makes are one of these (~4% of a render).
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        # SandboxedEnvironment.call (Jinja 3.1), inlined: one frame and one repacking of
        # the arguments less on every call a template makes (~5% of a render).
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        return __context.call(__obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if _monotonic() > self._deadline:
            self.check_time()
        # The two accesses templates make most, decided as the sandbox would without
        # its general path: `d.key` on a dict (an item, after a failed attribute lookup
        # that costs an exception) and a loop's counters.
        if type(obj) is dict and attribute not in _DICT_ATTRS:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        if type(obj) is _LOOP and attribute in _LOOP_NUMBERS:
            return getattr(obj, attribute)
        return _SANDBOX_GETATTR(self, obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if _monotonic() > self._deadline:
            self.check_time()
        return _SANDBOX_GETITEM(self, obj, argument)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if _monotonic() > self._deadline:
            self.check_time()
        if operator == "*":
            seq, n = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                self._cap(len(seq) * n, "a repeated sequence of length")
        elif operator == "%" and isinstance(left, str):
            self._check_format(left, right)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            bits = right * max(1, abs(left).bit_length())
            if bits > 8 * self.max_output:
                raise RenderLimit(f"{left} ** {right} is too large a number for a template")
        return _SANDBOX_BINOP(self, context, operator, left, right)


class TemplateLibrary:
    """Every template of the built-in pack and of user packs, by id."""

    def __init__(
        self,
        dirs: Iterable[Path] | None = None,
        *,
        builtin: bool = True,
        time_limit: float = 2.0,
        max_output: int = 1_000_000,
    ):
        """`time_limit` (seconds) and `max_output` (characters) bound each render."""
        self.dirs = [Path(d) for d in (dirs or [])]
        if builtin:
            self.dirs.append(data_dir("templates"))
        for d in self.dirs:
            if not d.is_dir():
                raise UserError(f"--templates: no such directory: {d}")
        self.env = PackSandbox(
            time_limit=time_limit,
            max_output=max_output,
            loader=_PackLoader([str(d) for d in self.dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.env.filters.update(FILTERS)
        self.env.bytecode_cache = _bytecode_cache(self.env)
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
            raise UserError(
                f"template {tid!r} has no {lang!r} version (it has: {', '.join(sorted(variants))})"
            ) from None

    def compiled(self, tid: str, lang: str | None = None) -> jinja2.Template:
        spec = self.spec(tid, lang)
        t = self._compiled.get((tid, spec.lang))
        if t is None:
            try:
                t = self.env.get_template(spec.name)
            except jinja2.TemplateSyntaxError as e:
                raise UserError(f"{e.filename or spec.path}:{e.lineno}: {e.message}") from None
            except jinja2.TemplateNotFound as e:
                raise UserError(
                    f"{spec.path}: includes a template that is not in its pack: {e.name}"
                ) from None
            except SecurityError as e:  # the file is a link out of its pack
                raise UserError(f"{spec.path}: {e}") from None
            if spec.shape == "chat" and not {"user", "assistant"} <= set(t.blocks):
                raise UserError(
                    f"{spec.path}: a chat template defines blocks 'user' and 'assistant'"
                )
            self._compiled[(tid, spec.lang)] = t
        return t

    def render(
        self, tid: str, variables: dict[str, Any], lang: str | None = None
    ) -> tuple[str | None, list[dict[str, str]] | None]:
        """Render one item: `(text, None)` for a document, `(None, messages)` for chat."""
        spec = self.spec(tid, lang)
        t = self.compiled(tid, spec.lang)
        try:
            with self.env.limits():
                if spec.shape == "document":
                    return _finish("".join(self.env.collect(t.generate(variables)))), None
                # Render the whole template once (so top-level imports and sets run, in
                # order) and capture what each role's block produced.
                ctx = t.new_context(variables)
                captured: dict[str, str] = {}
                for role in ROLES:
                    if role in ctx.blocks:
                        ctx.blocks[role][0] = _capture(
                            ctx.blocks[role][0], role, captured, self.env
                        )
                try:
                    self.env.drain(t.root_render_func(ctx))
                except Exception:
                    self.env.handle_exception()  # re-raises with template lines, as render() does
                messages = []
                for role in ROLES:
                    content = _finish(captured.get(role, ""))
                    if content:
                        messages.append({"role": role, "content": content})
                return None, messages
        except jinja2.TemplateError as e:
            raise UserError(f"{_where(spec)}: {type(e).__name__}: {e}") from None
        except RecursionError:
            raise UserError(
                f"{_where(spec)}: RenderLimit: recursion too deep"
                " (a macro or a recursive loop that never ends?)"
            ) from None
        except (ArithmeticError, LookupError, TypeError, ValueError, MemoryError) as e:
            # a template's own mistake (1/0, a wrong type to a filter): one line, not a traceback
            raise UserError(f"{_where(spec)}: {type(e).__name__}: {e}") from None


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled built-in templates only: they are what every run compiles, while packs in
    passing folders (a test's, `synth efficacy`'s) would leave a file per path forever.
    A cache that cannot be written (full disk, read-only home) is no cache, not an error."""

    def __init__(self, directory: str, keep_under: Path):
        super().__init__(directory)
        self.keep_under = keep_under.resolve()

    def get_bucket(self, environment, name, filename, source):  # type: ignore[no-untyped-def]
        keep = bool(filename) and Path(filename).resolve().is_relative_to(self.keep_under)
        if keep:
            bucket = super().get_bucket(environment, name, filename, source)
        else:  # compiled as if there were no cache
            key, checksum = self.get_cache_key(name, filename), self.get_source_checksum(source)
            bucket = jinja2.bccache.Bucket(environment, key, checksum)
        bucket.keep = keep
        return bucket

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if not getattr(bucket, "keep", False):
            return
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs and worker processes: compiling the built-in
    pack costs each process about a second. Jinja checks each file's source itself; the
    folder is keyed by everything else the compiled code depends on."""
    key = repr(
        (
            jinja2.__version__,
            sys.version_info[:2],
            type(env).__qualname__,
            sorted(env.intercepted_binops),
            sorted(env.intercepted_unops),
            env.trim_blocks,
            env.lstrip_blocks,
            env.keep_trailing_newline,
            env.newline_sequence,
            env.autoescape,
            env.optimized,
            env.block_start_string,
            env.variable_start_string,
            env.comment_start_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
        )
    )
    folder = cache_root() / "jinja" / hashlib.sha256(key.encode()).hexdigest()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _TemplateCache(str(folder), data_dir("templates"))


def _capture(block, role: str, into: dict[str, str], env: PackSandbox):
    def run(context):
        parts = env.collect(block(context))
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
