"""Garbage collection, and freed memory given back, for a generation run.

Each full collection walks every long-lived object: the world, the compiled templates,
the tokenizer's tables, none of which a run ever frees. Freezing what setup built takes
them out of that walk: 2% off the command and structural tiers' time at 5M tokens.
Raising the collection thresholds as well helped command (4% in all) but cost structural
5%, whose solver leaves cycles that then linger: the thresholds stay CPython's.

Freed memory is not always returned to the system: glibc's malloc keeps freed blocks
of its heaps for reuse, and the main process of a long run (unit results of every size
arriving, filtered and written, then freed) leaves ever more of them scattered between
live blocks. On a 300M-token ontology run (2 workers) the main process held 35 MiB
of free heap after two minutes, and its RSS kept rising through the run while what
Python had allocated grew by a few MiB. `give_back` (glibc's `malloc_trim`, which
also releases whole free pages inside a heap) at every checkpoint returns them: it
takes milliseconds, once a minute at most.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager


def settle() -> None:
    """For a process that only generates (a worker), once its setup is done."""
    gc.freeze()


@contextmanager
def settled() -> Iterator[None]:
    """`settle` for the length of a run in a process that goes on afterwards (the caller's)."""
    settle()
    try:
        yield
    finally:
        gc.unfreeze()


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library is another (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def give_back() -> None:
    """Return the free pages of the C heap to the system (a no-op off glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
