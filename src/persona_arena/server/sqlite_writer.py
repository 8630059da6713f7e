"""The group commits of a SQLite store, from one thread of their own.

A group commit through SQLAlchemy's async engine takes several trips between the event loop
and the driver's thread (begin, one per statement, commit, the pool's reset). With hundreds of
games in play the loop is busy, and each trip waits its turn behind the games' callbacks: in
the concurrency bench a commit of a few rows took up to 0.3 s, and the games waiting for it
(one turn may be uncommitted, not two) stalled. Here a whole transaction is one call into a
thread that owns a plain `sqlite3` connection: one trip per commit, whatever it holds.

Only the hot writes go this way (session starts, events, session ends); everything else, and
every read, stays on SQLAlchemy. `session_row`, `event_row` and `finish_row` make the rows,
serialised as SQLAlchemy's JSON and DateTime types store them, so both sides read the same
values back.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from pydantic_core import to_json

from persona_arena.core.events import Event

SESSION_COLUMNS = ("id", "run_id", "job_key", "game", "seed", "status", "config", "players", "outcome", "error",
                   "started_at", "finished_at")
EVENT_COLUMNS = ("session_id", "seq", "run_id", "schema", "ts", "type", "actor", "visible_to", "payload")
FINISH_COLUMNS = ("status", "outcome", "error", "finished_at", "id")  # the row's values, then its session
ROWS_PER_STATEMENT = 500  # 500 x 12 values, well under SQLite's 32,766 bound parameters
BUSY_TIMEOUT_S = 30.0  # another process (a worker) may hold the write lock for a commit


def session_row(row: dict[str, Any]) -> tuple:
    """A queued session start (the store's dict) in SESSION_COLUMNS order."""
    return (row["id"], row["run_id"], row["job_key"], row["game"], row["seed"], row["status"], _json(row["config"]),
            _json(row["players"]), _json(row["outcome"]), row["error"], _ts(row["started_at"]),
            _ts(row["finished_at"]))


def event_row(e: Event) -> tuple:
    """An event in EVENT_COLUMNS order."""
    return (e.session_id, e.seq, e.run_id, e.schema_, _ts(e.ts), e.type, e.actor, _json(e.visible_to),
            _json(e.payload))


def finish_row(row: dict[str, Any]) -> tuple:
    """A queued session end (the store's dict) in FINISH_COLUMNS order."""
    return (row["status"], _json(row["outcome"]), row["error"], _ts(row["finished_at"]), row["key_id"])


def _ts(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DateTime text, in UTC: "2026-12-04 14:00:00.123456"
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:  # every stamp the server makes is already in UTC
        value = value.astimezone(timezone.utc)
    return value.isoformat(sep=" ", timespec="microseconds")[:26]


def _json(value: Any) -> str:
    # pydantic-core's encoder (NaN kept as json.dumps writes it): reads back the same, several
    # times faster; None is JSON null, as SQLAlchemy's JSON type stores it
    return to_json(value, inf_nan_mode="constants").decode()


class SqliteWriter:
    """Commits (starts, events, finishes) rows to the SQLite file at `path` in one transaction
    per call, in a dedicated thread; calls are served one at a time, in order."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-sqlite-writer")
        self._conn: sqlite3.Connection | None = None  # opened, used and closed in that thread only

    async def commit(self, starts: Sequence[tuple], events: Sequence[tuple], finishes: Sequence[tuple]) -> int:
        """Rows are tuples in the order of SESSION_COLUMNS, EVENT_COLUMNS and FINISH_COLUMNS.
        Returns the number of sessions the finishes updated."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._commit, starts, events, finishes)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    # -- in the writer thread --------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # autocommit mode: the transactions below are explicit
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        return self._conn

    def _commit(self, starts: Sequence[tuple], events: Sequence[tuple], finishes: Sequence[tuple]) -> int:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")  # the write lock now: no upgrade from a read lock to fail later
        try:
            # sessions before their events (foreign key), ends after them
            _each_chunk(conn, starts, _insert_sessions_sql)
            _each_chunk(conn, events, _insert_events_sql)
            updated = _each_chunk(conn, finishes, _finish_sql)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # some errors (a full disk) have rolled it back already
                conn.execute("ROLLBACK")
            raise
        return updated

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# Many rows per statement, not `executemany`: sqlite3 lets go of the GIL around every step, and
# while the event loop is busy, taking it back costs up to a switch interval (5 ms) each time.
# Row by row, a commit of a few hundred rows took a few hundred ms; a statement per 500 rows
# takes the GIL back once.
def _each_chunk(conn: sqlite3.Connection, rows: Sequence[tuple], sql_for: Callable[[int], str]) -> int:
    changed = 0
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start:start + ROWS_PER_STATEMENT]
        changed += conn.execute(sql_for(len(chunk)), [value for row in chunk for value in row]).rowcount
    return changed


def _values(n_rows: int, n_columns: int) -> str:
    row = "(" + ", ".join("?" * n_columns) + ")"
    return ", ".join([row] * n_rows)


def _insert_sql(table: str, columns: tuple[str, ...]) -> Callable[[int], str]:
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    return functools.lru_cache(maxsize=64)(lambda n_rows: head + _values(n_rows, len(columns)))


_insert_sessions_sql = _insert_sql("sessions", SESSION_COLUMNS)
_insert_events_sql = _insert_sql("events", EVENT_COLUMNS)


@functools.lru_cache(maxsize=64)
def _finish_sql(n_rows: int) -> str:
    # VALUES columns are column1…column5, in FINISH_COLUMNS order
    return ("UPDATE sessions SET status = f.column1, outcome = f.column2, error = f.column3, "
            f"finished_at = f.column4 FROM (VALUES {_values(n_rows, len(FINISH_COLUMNS))}) AS f "
            "WHERE sessions.id = f.column5")
