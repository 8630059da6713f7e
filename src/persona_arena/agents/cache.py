"""A content-addressed response cache for LLM calls.

The key is a hash of everything that decides a reply: model, messages, settings, the structured
reply format and the per-turn seed (plus `ARENA_CACHE_EPOCH`, to draw fresh samples on purpose).
A hit returns the reply and usage exactly as first recorded, so a rerun costs nothing and its
event log is identical apart from timestamps. Tournaments turn it on (`--no-cache` turns it off).

The same file keeps the likelihood oracle's token log-probabilities (`scoring/likelihood_oracle.py`),
keyed the same way by whatever decides them: seconds of a local model's time per reply, the
same on every rerun of a report.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

# Parameters that change how a call is made, not what it answers.
_NOT_CONTENT = frozenset({"timeout", "num_retries", "drop_params", "api_key", "_skip_mcp_handler"})


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
                         "usage TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS logprobs (key TEXT PRIMARY KEY, logprobs TEXT NOT NULL)")
        self.hits = self.misses = 0

    @staticmethod
    def key(params: dict[str, Any]) -> str:
        content = {k: v for k, v in params.items() if k not in _NOT_CONTENT}
        content["epoch"] = os.environ.get("ARENA_CACHE_EPOCH", "")
        return ResponseCache.content_key(content)

    def _lookup(self, query: str, key: str) -> tuple[Any, ...] | None:
        """The row `query` finds for `key`, counted as a hit or a miss."""
        with self._lock:
            row = self._db.execute(query, (key,)).fetchone()
        if row is None:
            self.misses += 1
        else:
            self.hits += 1
        return row

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        row = self._lookup("SELECT text, usage FROM replies WHERE key = ?", key)
        return None if row is None else (row[0], json.loads(row[1]))

    def put(self, key: str, text: str, usage: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?)", (key, text, json.dumps(usage)))

    @staticmethod
    def content_key(content: dict[str, Any]) -> str:
        """A key for results that are a function of `content` alone (no sampling, no epoch)."""
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    def get_logprobs(self, key: str) -> list[float] | None:
        row = self._lookup("SELECT logprobs FROM logprobs WHERE key = ?", key)
        return None if row is None else json.loads(row[0])

    def put_logprobs(self, key: str, logprobs: list[float]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO logprobs VALUES (?, ?)", (key, json.dumps(logprobs)))

    def close(self) -> None:
        with self._lock:
            self._db.close()


_active: ResponseCache | None = None


def use_cache(cache: ResponseCache | None) -> None:
    """Sets (or with None, clears) the cache every LLM agent in this process uses."""
    global _active
    if _active is not None and _active is not cache:
        _active.close()
    _active = cache


def active_cache() -> ResponseCache | None:
    return _active
