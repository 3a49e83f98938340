"""The template library: every template of the built-in pack and of user packs, by id
and language, compiled once (and cached between runs), rendered in the sandbox.

A render gives `(text, None)` for a document or `(None, messages)` for a chat, tidied
(`_finish`); a template's mistake is a UserError naming its file and line.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from synth.errors import UserError
from synth.paths import cache_root, data_dir
from synth.templating.helpers import FILTERS
from synth.templating.sandbox import PackLoader, PackSandbox
from synth.templating.spec import ROLES, TemplateSpec, parse_front_matter


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
            loader=PackLoader([str(d) for d in self.dirs]),
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
            except RecursionError:  # Jinja's parser and compiler recurse per nesting level
                raise UserError(
                    f"{spec.path}: nested too deeply for the template compiler"
                    " (brackets, expressions or blocks inside each other)"
                ) from None
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
        with _template_errors(str(spec.path)), self.env.limits():
            if spec.shape == "document":
                return _finish("".join(self.env.collect(t.generate(variables)))), None
            captured = self._blocks(t, variables, ROLES)
            messages = []
            for role in ROLES:
                content = _finish(captured.get(role, ""))
                if content:
                    messages.append({"role": role, "content": content})
            return None, messages

    def render_blocks(
        self, names: Sequence[str], variables: dict[str, Any], blocks: Sequence[str]
    ) -> tuple[str, dict[str, str]] | None:
        """The first template of `names` (loader names, e.g. "ru/_realise/_answer.j2")
        that a pack has, rendered once in the sandbox under the same limits as an item,
        with what each of `blocks` produced: how LLM prompts are rendered. Returns
        (its file, {block: text}), or None when no pack has any of `names`."""
        for name in names:
            try:
                t = self.env.get_template(name)
                break
            except jinja2.TemplateNotFound:
                continue
            except jinja2.TemplateSyntaxError as e:
                raise UserError(f"{e.filename or name}:{e.lineno}: {e.message}") from None
        else:
            return None
        filename = t.filename or names[0]
        with _template_errors(filename), self.env.limits():
            return filename, self._blocks(t, variables, blocks)

    def _blocks(self, t: jinja2.Template, variables: dict[str, Any], blocks: Sequence[str]):
        """Render the whole template once (so top-level imports and sets run, in order)
        and capture what each named block produced."""
        ctx = t.new_context(variables)
        captured: dict[str, str] = {}
        for name in blocks:
            if name in ctx.blocks:
                ctx.blocks[name][0] = _capture(ctx.blocks[name][0], name, captured, self.env)
        try:
            self.env.drain(t.root_render_func(ctx))
        except Exception:
            self.env.handle_exception()  # re-raises with template lines, as render() does
        return captured


@contextmanager
def _template_errors(path: str) -> Iterator[None]:
    """A template's mistakes as one-line UserErrors naming its file and line."""
    try:
        yield
    except jinja2.TemplateError as e:
        raise UserError(f"{_where(path)}: {type(e).__name__}: {e}") from None
    except RecursionError:
        raise UserError(
            f"{_where(path)}: RenderLimit: recursion too deep"
            " (a macro or a recursive loop that never ends?)"
        ) from None
    except (ArithmeticError, LookupError, TypeError, ValueError, MemoryError) as e:
        # a template's own mistake (1/0, a wrong type to a filter): one line, not a traceback
        raise UserError(f"{_where(path)}: {type(e).__name__}: {e}") from None


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
            env.finalize is not None,  # compiled calls to it around every {{ value }}
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


def _where(path: str) -> str:
    """file:line of the template frame that raised, from the traceback Jinja rewrote."""
    tb = sys.exc_info()[2]
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{path}:{line}" if line else path
