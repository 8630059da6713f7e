"""Which database a command uses (`--db`, else `ARENA_DB`, else SQLite under transcripts/),
decided without importing SQLAlchemy: the TUI reads a SQLite file before it needs it."""

from __future__ import annotations

import os
import re
from pathlib import Path

DEFAULT_DB_PATH = Path("transcripts") / "arena.db"
_SQLITE_FILE = re.compile(r"^sqlite(?:\+\w+)?:///(?P<path>[^?]+)$")


class DatabaseUnavailable(Exception):
    """A database that cannot be opened (the message names it, without its password)."""


def database_url(db: str | None = None) -> str:
    """`--db`, else `ARENA_DB`, else SQLite under transcripts/; sync URLs get an async driver."""
    url = db or os.environ.get("ARENA_DB") or f"sqlite:///{DEFAULT_DB_PATH}"
    if "://" not in url:  # a bare path
        url = f"sqlite:///{url}"
    for sync, async_ in (("sqlite://", "sqlite+aiosqlite://"), ("postgresql://", "postgresql+asyncpg://"),
                         ("postgres://", "postgresql+asyncpg://")):
        if url.startswith(sync):
            return async_ + url[len(sync):]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases, in-memory ones and URLs with options."""
    match = _SQLITE_FILE.match(url)
    if match is None or match["path"] == ":memory:":
        return None
    return Path(match["path"])
