"""What the Runs screen lists: the recorded runs, and the games of one run.

From a SQLite file they are read with the standard library's sqlite3, so the first screen does
not wait for SQLAlchemy to import (a quarter of a second, more than the query); other
databases, and a file that does not exist yet, are read through the Store. Either way the
screen gets the same shapes: `Store.runs()`'s dicts and `GameRow`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from persona_arena.server.db_url import database_url, sqlite_file

if TYPE_CHECKING:
    from persona_arena.server.store import SessionRow, Store


@dataclass(frozen=True)
class GameRow:
    """One session as the Runs screen lists and filters it (the fields of `SessionRow` it uses)."""

    id: str
    run_id: str
    job_key: str | None
    game: str
    seed: int
    status: str
    players: dict[str, str]
    outcome: dict[str, Any] | None

    @classmethod
    def of(cls, row: SessionRow) -> GameRow:
        return cls(row.id, row.run_id, row.job_key, row.game, row.seed, row.status, row.players, row.outcome)


class Catalog(Protocol):
    async def runs(self) -> list[dict[str, Any]]:
        """As `Store.runs()`: id, created_at, sessions, status (count per status), games (its
        sessions' games), meta; oldest first."""
        ...

    async def sessions(self, run_id: str) -> list[GameRow]:
        """The run's sessions in the order they started."""
        ...


class StoreCatalog:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def runs(self) -> list[dict[str, Any]]:
        return await self.store.runs()

    async def sessions(self, run_id: str) -> list[GameRow]:
        return [GameRow.of(row) for row in await self.store.sessions(run_id)]


class SqliteCatalog:
    """Reads the tables `server/store.py` defines; in a thread, so a big run does not freeze the screen."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return conn.execute(sql, params).fetchall()

    def _runs(self) -> list[dict[str, Any]]:
        runs = self._query("SELECT runs.id, runs.created_at, runs.meta, COUNT(sessions.id) FROM runs "
                           "LEFT JOIN sessions ON sessions.run_id = runs.id GROUP BY runs.id ORDER BY runs.created_at")
        by_status: dict[str, dict[str, int]] = {}
        games: dict[str, set[str]] = {}
        for run_id, status, game, count in self._query("SELECT run_id, status, game, COUNT(*) FROM sessions "
                                                       "GROUP BY run_id, status, game"):
            statuses = by_status.setdefault(run_id, {})
            statuses[status] = statuses.get(status, 0) + count
            games.setdefault(run_id, set()).add(game)
        return [{"id": run_id, "created_at": _timestamp(created), "sessions": n,
                 "status": by_status.get(run_id, {}), "games": sorted(games.get(run_id, ())),
                 "meta": _json(meta) or {}}
                for run_id, created, meta, n in runs]

    def _sessions(self, run_id: str) -> list[GameRow]:
        rows = self._query("SELECT id, run_id, job_key, game, seed, status, players, outcome FROM sessions "
                           "WHERE run_id = ? ORDER BY started_at, id", (run_id,))
        return [GameRow(id_, run, job_key, game, seed, status, _json(players) or {}, _json(outcome))
                for id_, run, job_key, game, seed, status, players, outcome in rows]

    async def runs(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._runs)

    async def sessions(self, run_id: str) -> list[GameRow]:
        return await asyncio.to_thread(self._sessions, run_id)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _timestamp(text: str | None) -> datetime | None:
    """As the store returns it: stored in UTC, given back timezone-aware."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def sqlite_catalog(db: str | None) -> SqliteCatalog | None:
    """The fast catalog when `db` is an existing SQLite file; None otherwise (use the Store)."""
    path = sqlite_file(database_url(db))
    return SqliteCatalog(path) if path is not None and path.is_file() else None
