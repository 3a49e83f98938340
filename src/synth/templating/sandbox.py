"""The sandbox templates render in: Jinja's immutable sandbox, a loader that never
leaves a template's pack, and limits per render (time, output, ranges, repetition,
powers, widths) so that no template can take the process's memory or time.

Templates are user input: everything refused is a SecurityError, which the library
reports with the template's file and line.
"""

from __future__ import annotations

import functools
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
        self._cpu_start = 0.0
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
        self._cpu_start = time.process_time()
        self._output = 0
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
