"""The sandbox templates render in: Jinja's immutable sandbox, a loader that never
leaves a template's pack, and limits per render (time, output, ranges, repetition,
powers, widths, strings built) so that no template can take the process's memory or time.

Strings are capped before they are built. Output is counted as it is yielded, but a
template can build a string without yielding it (`{% set x = (['a' * 10**6] * 1000) |
join %}` is a gigabyte): every operation that makes a string — `~` and `+`, `*` and `%`,
`join`, `replace`, `indent` and every other filter, str methods, `format`, printing a list,
the body of a macro, a `{% set %}` block or a `{% filter %}` block — first works out how
long its result will be, from its inputs, and is refused if that is more than
`max_output` characters at once, or would take the render past `max_built` characters
built in all.

Templates are user input: everything refused is a SecurityError, which the library
reports with the template's file and line.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import time
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from synth.templating.spec import blank_front_matter

# An absolute path, a drive, a backslash or a `..` segment: not a path inside a pack.
_OUTSIDE = re.compile(r"^[/\\]|^[A-Za-z]:|\\|(^|/)\.\.(/|$)")


class PackLoader(jinja2.FileSystemLoader):
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
        return blank_front_matter(source), filename, uptodate


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
# Filters whose string comes from the items of a list (or the whole of a structure): the
# length of what they build is the text of every item.
_TEXT_OF_ITEMS = frozenset(
    ["join", "join_and", "string", "pprint", "tojson", "xmlattr", "urlencode", "sum", "list"]
)
_SCALARS = (int, float, bool, type(None))
_NUMBERS = frozenset(_SCALARS)
_SIZED = ("replace", "indent")  # filters whose result can outgrow their string


def _one_string_arg(fn: Any) -> bool:
    """A plain function of exactly one parameter (no Jinja context passed)."""
    if getattr(fn, "jinja_pass_arg", None) is not None:
        return False
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return len(params) == 1 and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


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


def text_size(value: Any, limit: int) -> int:
    """How long `str(value)` is, about (never less): the characters of every string in a
    structure plus a few for punctuation and each other item, counted without building
    anything; the count stops once it passes `limit`."""
    if type(value) is str:
        return len(value)
    total, stack = 0, [value]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            total += len(x) + 4
        elif isinstance(x, _SCALARS):
            total += 8
        elif isinstance(x, dict):
            total += 2 + 4 * len(x)
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, (list, tuple, set, frozenset, _Range)):
            total += 2 + 2 * len(x)
            stack.extend(x)
        else:
            total += 64  # an object: its repr is short, or built by its own code
        if total > limit:
            break
    return total


class _Filters(dict):
    """The environment's filters, each wrapped (as it is put in) to charge what it builds."""

    def __init__(self, env: PackSandbox, filters: dict[str, Any]) -> None:
        super().__init__()
        self.env = env
        self.update(filters)

    def __setitem__(self, name: str, fn: Any) -> None:
        super().__setitem__(name, self.env.charged_filter(name, fn))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, fn in dict(*args, **kwargs).items():
            self[name] = fn


class _Template(jinja2.Template):
    """A template whose `~` (Jinja's str_join/markup_join, looked up in the compiled
    module's namespace) charges the strings it joins."""

    @classmethod
    def _from_namespace(cls, environment, namespace, globals):  # type: ignore[no-untyped-def]
        namespace["str_join"] = environment.charged_join
        namespace["markup_join"] = environment.charged_join
        return super()._from_namespace(environment, namespace, globals)


class PackSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with limits per render: a time limit checked on every
    call, attribute and item access and every 256 loop items of a range; an output
    limit on what the template yields (counted every OUTPUT_BATCH chunks); ranges, sequence repetition, powers and width
    arguments capped so that no single operation can take the process's memory or
    time. Everything refused is a SecurityError (the render reports it with the file)."""

    intercepted_binops = frozenset(["*", "**", "%", "+"])
    template_class = _Template

    def __init__(
        self,
        *args: Any,
        time_limit: float = 2.0,
        max_output: int = 1_000_000,
        max_built: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, finalize=self._finalize, **kwargs)
        self.time_limit = time_limit
        self.max_output = max_output
        self.max_built = max_built if max_built is not None else 10 * max_output
        self._deadline = math.inf
        self._cpu_start = 0.0
        self._output = 0
        self._built = 0
        self.globals["range"] = self._range
        self.globals.pop("lipsum", None)  # placeholder text: nothing a sample needs, and unbounded
        filters = dict(self.filters)
        for name in _WIDTH_FILTERS:
            if name in filters:
                filters[name] = self._capped(name, filters[name])
        if "format" in filters:
            filters["format"] = self._checked_format(filters["format"])
        self.filters = _Filters(self, filters)
        self.concat = self._concat  # a macro's, {% set %} block's or {% filter %} block's body

    # -- strings built ------------------------------------------------------------------

    def charge(self, n: int, what: str) -> None:
        """A string of about `n` characters is about to be built: refused past the limits."""
        self._built += n
        if n > self.max_output or self._built > self.max_built:
            self._refuse(n, what)

    def _refuse(self, n: int, what: str) -> None:
        if n > self.max_output:
            raise RenderLimit(
                f"{what} would build a string of {n:,} characters or more"
                f" (at most {self.max_output:,} at once)"
            )
        raise RenderLimit(
            f"the render built more than {self.max_built:,} characters of strings"
            " (the limit per item)"
        )

    def charged_join(self, parts: Sequence[Any]) -> str:
        """`~` (the compiled code passes a tuple): the parts' text, charged, then joined.
        Nearly every `~` joins strings only: their lengths are summed and they are joined
        in C, and only a part of another type (a number, a list) takes the slow path."""
        try:
            n = sum(map(len, parts))  # a number has no len(); a list's is not its text
            self._built += n
            if n > self.max_output or self._built > self.max_built:
                self._refuse(n, "'~'")
            return "".join(parts)  # refuses anything but strings before building
        except TypeError:
            pass
        n, cap = 0, self.max_output + 1
        for p in parts:  # strings and numbers (`"item " ~ i`), or a structure printed
            n += len(p) if type(p) is str else 24 if type(p) in _NUMBERS else text_size(p, cap)
        self.charge(n, "'~'")
        return "".join(map(str, parts))

    def _concat(self, parts: Iterable[str]) -> str:
        if type(parts) is not list:
            parts = list(parts)
        n = sum(map(len, parts))
        self._built += n
        if n > self.max_output or self._built > self.max_built:
            self._refuse(n, "a block's or macro's body")
        return "".join(parts)

    def _finalize(self, value: Any) -> Any:
        """Every `{{ value }}`: a string is counted where it is yielded or joined; anything
        else becomes one here, so its text is charged first."""
        if type(value) is not str and not isinstance(value, _SCALARS):
            self.charge(text_size(value, self.max_output + 1), "printing a value")
        return value

    def charged_filter(self, name: str, fn: Any):
        """`fn` (a filter) charging the string it will build before it runs. The filters
        templates call most (`plural`, `a`, `cap`: one string in, one out) get a wrapper
        without argument packing: it runs dozens of times per render."""
        if _one_string_arg(fn) and name not in _TEXT_OF_ITEMS and name not in _SIZED:
            env, what = self, f"filter {name}"

            @functools.wraps(fn)
            def charged_one(value: Any) -> Any:
                if type(value) is str:
                    n = len(value)
                    env._built += n
                    if n > env.max_output or env._built > env.max_built:
                        env._refuse(n, what)
                return fn(value)

            return charged_one
        skip = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0
        items = name in _TEXT_OF_ITEMS
        special = name in _SIZED
        limit = self.max_output + 1
        what = f"filter {name}"

        @functools.wraps(fn)  # keeps Jinja's pass_context / pass_environment marks
        def charged(*args: Any, **kwargs: Any) -> Any:
            value = args[skip] if len(args) > skip else None
            if type(value) is str:
                n = len(value)
                if special:
                    n = self._filter_size(name, value, args[skip + 1 :], kwargs)
                self._built += n
                if n > self.max_output or self._built > self.max_built:
                    self._refuse(n, what)
            elif items and value is not None and not isinstance(value, _SCALARS):
                if not isinstance(value, (list, tuple, dict, set, frozenset, _Range, str)):
                    value = list(value)  # a generator (map, select): its items, once
                    args = (*args[:skip], value, *args[skip + 1 :])
                self.charge(text_size(value, limit), what)
            return fn(*args, **kwargs)

        return charged

    @staticmethod
    def _filter_size(name: str, value: str, args: Sequence[Any], kwargs: dict[str, Any]) -> int:
        """What `replace` and `indent` build from a string of their arguments."""
        if name == "replace":
            return _replaced_size(value, args, kwargs)
        width = kwargs.get("width", args[0] if args else 4)
        w = len(width) if isinstance(width, str) else width
        return len(value) + (value.count("\n") * w if isinstance(w, int) else 0)

    def _charge_method(self, obj: Any, args: tuple, kwargs: dict) -> tuple:
        """A str method about to run: what it builds, from its name and arguments. Returns
        the arguments (a generator given to `join` is read once, into a list)."""
        name = getattr(obj, "__name__", "")
        s = obj.__self__
        n = len(s)
        limit = self.max_output + 1
        if name == "join" and args:
            items = args[0] if isinstance(args[0], (list, tuple, str)) else list(args[0])
            args = (items, *args[1:])
            n = text_size(items, limit) + len(s) * len(items)
        elif name == "replace":
            n = _replaced_size(s, args, kwargs)
        elif name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
            n = max(n, args[0])
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            n *= max(1, size) if isinstance(size, int) else 1
        elif name in ("format", "format_map"):
            n += sum(text_size(a, limit) for a in (*args, *kwargs.values()))
        self.charge(n, f"{name}()")
        return args

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
        self._cpu_start = time.process_time()
        self._output = 0
        self._built = 0
        try:
            yield
        finally:
            self._deadline = math.inf

    def check_time(self) -> None:
        """Past the wall-clock deadline, the render's own CPU time decides: a process
        the machine kept waiting (a loaded host, a long run beside other jobs) gets its
        time back; a loop that never ends does not. The clock is read on every call and
        attribute, the CPU time only here."""
        if _monotonic() > self._deadline:
            used = time.process_time() - self._cpu_start
            if used < self.time_limit:
                self._deadline = _monotonic() + (self.time_limit - used)
                return
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
        values = args if isinstance(args, (tuple, list)) else (args,)
        for a in values:
            self._cap(a, "format argument")
        if isinstance(fmt, str):
            limit = self.max_output + 1
            self.charge(len(fmt) + sum(text_size(a, limit) for a in values), "format")

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
            if isinstance(__obj.__self__, str):
                args = __self._charge_method(__obj, args, kwargs)
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
        if operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                self.charge(len(left) + len(right), "'+'")
            elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
                self._cap(len(left) + len(right), "a joined sequence of length")
        elif operator == "*":
            seq, n = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                self._cap(len(seq) * n, "a repeated sequence of length")
                if isinstance(seq, str):
                    self.charge(len(seq) * max(0, n), "'*'")
        elif operator == "%" and isinstance(left, str):
            self._check_format(left, right)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            bits = right * max(1, abs(left).bit_length())
            if bits > 8 * self.max_output:
                raise RenderLimit(f"{left} ** {right} is too large a number for a template")
        return _SANDBOX_BINOP(self, context, operator, left, right)


def _replaced_size(s: str, args: Sequence[Any], kwargs: dict[str, Any]) -> int:
    """The length of `s.replace(old, new[, count])`, worked out without building it."""
    old = args[0] if args else kwargs.get("old")
    new = args[1] if len(args) > 1 else kwargs.get("new")
    count = args[2] if len(args) > 2 else kwargs.get("count")
    if not isinstance(old, str) or not isinstance(new, str):
        return len(s)
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(0, len(new) - len(old))
