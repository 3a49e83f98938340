"""YAML from users (world specs, curricula files, template front matter, `--llm-option`
values, filter configs), read so that a small file cannot take the process's memory
or time.

Safe loading already refuses tags that construct objects. What it does not refuse:
- aliases that repeat what they name: nine lines of `&a [*b, *b, ...]` stand for a
  billion items (the "billion laughs"), which nothing notices until something walks
  them (an error message printing the value, a check of every item);
- nesting deep enough to exhaust Python's recursion in the pure-Python composer.

`BoundedLoader` counts, while it composes the document, how many nodes the aliases
repeat (each alias counts the whole of what it names) and how deep the nesting goes,
and stops with a `MarkedYAMLError` at the line where a bound is passed, so callers
report it like any other YAML mistake. Bounds: `MAX_ALIASED` repeated nodes (ten
thousand entities each merging a five-key mapping with `<<: *defaults` stay below; a
billion laughs is ten thousand times over) and `MAX_DEPTH` levels.
"""

from __future__ import annotations

import reprlib
from typing import Any

import yaml
from yaml.events import AliasEvent

MAX_ALIASED = 100_000
MAX_DEPTH = 100


class YamlLimit(yaml.MarkedYAMLError):
    """A document past one of the bounds above."""


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader with bounds on alias expansion and nesting (see the module)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
        self._aliased = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            self._aliased += self._sizes.get(id(node), 1)
            if self._aliased > MAX_ALIASED:
                raise YamlLimit(
                    None,
                    None,
                    f"aliases repeat more than {MAX_ALIASED:,} values (an alias bomb?)",
                    event.start_mark,
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimit(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep",
                self.peek_event().start_mark,
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1
        if isinstance(node.value, list):
            for item in node.value:
                for child in item if isinstance(item, tuple) else (item,):
                    size += self._sizes.get(id(child), 1)
        self._sizes[id(node)] = size
        return node


def load(text: str) -> Any:
    """`yaml.safe_load`, within the bounds above."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader


def shown(value: Any, n: int = 60) -> str:
    """`repr(value)` for an error message, cut to about `n` characters (a value from a
    file may be megabytes, or stand for a billion items, or be a 5000-digit number)."""
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlong = 2, n, n, n
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = 4
    try:
        text = r.repr(value)
    except ValueError:  # an int too long for str()
        digits = int(value.bit_length() * 0.30103) if isinstance(value, int) else 0
        text = f"a {digits}-digit number" if digits else type(value).__name__
    return text if len(text) <= n + 20 else text[: n + 17] + "..."
