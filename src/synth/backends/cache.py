"""The on-disk response cache: a killed, resumed or repeated run does not pay twice.

One sqlite3 file (by default `OUT/.synth/llm-cache.sqlite`), one row per response,
keyed by `Request.cache_key` (a hash of the engine, model, sampling parameters with the
seed, the rendered prompt and any schema). Responses are committed as they
arrive (at most half a second apart), so a run killed mid-batch keeps what it received. WAL mode and a busy
timeout let several worker processes share the file.

Failed requests (`Completion.error`) are never stored: a later run asks again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from synth.backends.base import Completion
from synth.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT,
    created REAL NOT NULL
)
"""
COMMIT_EVERY = 0.5  # seconds between commits while responses stream in
_CHUNK = 500  # keys per SELECT (sqlite's variable limit is 999 on old builds)


class ResponseCache:
    """`get_many(keys)` and `put(key, completion)`; `path=None` keeps it in memory."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        target = ":memory:"
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise UserError(
                    f"llm cache: cannot create {self.path.parent} ({e.strerror or e})"
                ) from None
            target = str(self.path)
        try:
            # check_same_thread off: the openai engine may call back from its event-loop thread
            self._db = sqlite3.connect(target, timeout=30.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
            self._last_commit = time.monotonic()
        except sqlite3.DatabaseError as e:
            raise UserError(
                f"llm cache: {target} is not a usable sqlite file ({e}); delete it to start afresh"
            ) from None

    def get_many(self, keys: Iterable[str]) -> dict[str, Completion]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Completion] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            cur = self._db.execute(
                f"SELECT key, text, prompt_tokens, completion_tokens, finish_reason FROM responses WHERE key IN ({marks})",
                chunk,
            )
            for key, text, pt, ct, fr in cur:
                found[key] = Completion(text, pt, ct, fr, cached=True)
        return found

    def put(self, key: str, c: Completion) -> None:
        """Store a response; committed within COMMIT_EVERY seconds (and by `commit`)."""
        if c.error is not None:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            (key, c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason, time.time()),
        )
        # A commit per response costs a disk sync; a kill loses at most this much.
        if time.monotonic() - self._last_commit >= COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        self._db.commit()
        self._last_commit = time.monotonic()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.commit()
        self._db.close()
