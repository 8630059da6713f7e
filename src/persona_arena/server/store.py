"""The database: the source of truth for runs, sessions and their event logs.

SQLite (WAL) under `transcripts/` by default; any SQLAlchemy URL via `--db` / `ARENA_DB`
(`sqlite:///…`, `postgresql://…`; the async driver is chosen here).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import JSON, Column, DateTime, Index, bindparam, event, func, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from persona_arena.core.events import Event
from persona_arena.server.db_url import DatabaseUnavailable, database_url, sqlite_file
from persona_arena.server.sqlite_writer import SqliteWriter, event_row, finish_row, session_row



def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without a zone; everything stored here is UTC.
    return value.replace(tzinfo=timezone.utc) if value and value.tzinfo is None else value


def _ts_column() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True)))


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"
    id: str = Field(primary_key=True)
    created_at: datetime | None = _ts_column()
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (
        # A planned game of a run is finished at most once, whatever crashes and resumes did.
        Index("one_finished_per_job", "run_id", "job_key", unique=True,
              sqlite_where=text("status = 'finished'"), postgresql_where=text("status = 'finished'")),
    )
    id: str = Field(primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True)
    job_key: str | None = Field(default=None, description="the planned game this session plays")
    game: str
    seed: int
    status: str = "running"  # running | finished | failed | abandoned (superseded by a rerun)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    players: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON))
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = None
    started_at: datetime | None = _ts_column()
    finished_at: datetime | None = _ts_column()


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    session_id: str = Field(primary_key=True, foreign_key="sessions.id")
    seq: int = Field(primary_key=True)
    run_id: str = Field(index=True)
    schema_: str = Field(sa_column_kwargs={"name": "schema"})
    ts: datetime | None = _ts_column()
    type: str = Field(index=True)
    actor: str
    visible_to: Any = Field(sa_column=Column(JSON))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))

    @classmethod
    def of(cls, e: Event) -> EventRow:
        return cls(session_id=e.session_id, seq=e.seq, run_id=e.run_id, schema_=e.schema_, ts=e.ts,
                   type=e.type, actor=e.actor, visible_to=e.visible_to, payload=e.payload)

    def to_event(self) -> Event:
        return Event(schema=self.schema_, run_id=self.run_id, session_id=self.session_id, seq=self.seq,
                     ts=_utc(self.ts), type=self.type, actor=self.actor, visible_to=self.visible_to,
                     payload=self.payload)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: shown as given
        return url


def is_in_memory(url: str) -> bool:
    """An in-memory SQLite database lives in one process only (no other can open it)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


WriteKind = Literal["start", "events", "finish"]


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._queue: list[tuple[WriteKind, Any, asyncio.Future[None]]] = []
        self._known_runs: set[str] = set()
        self._run_check = asyncio.Lock()  # many sessions of a new run start at once: one looks it up
        self._writer: asyncio.Task[None] | None = None
        # SQLite has one writer at a time; writers from several pooled connections would wait
        # on its file lock in threads (busy timeouts). Taking turns here is much faster.
        self._write_lock = asyncio.Lock() if engine.url.get_backend_name() == "sqlite" else None
        # A SQLite file: the group commits from a thread of their own (see sqlite_writer).
        path = engine.url.database if self._write_lock is not None and not engine.url.query else None
        self._sqlite_writer = SqliteWriter(path) if path and path != ":memory:" else None

    @classmethod
    async def open(cls, db: str | None = None, *, existing: bool = False) -> Store:
        """`existing`: a SQLite file must be there already (commands that only read a run
        must not leave an empty database behind a mistyped path). Raises DatabaseUnavailable
        for a database that cannot be used."""
        url = database_url(db)
        shown = _shown(url)
        file = sqlite_file(url)
        if file is not None:
            if existing and not file.exists():
                raise DatabaseUnavailable(f"no database at {file} (--db or ARENA_DB; `arena runs` lists a database's runs)")
            if file.is_dir():
                raise DatabaseUnavailable(f"database {shown}: {file} is a folder")
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise DatabaseUnavailable(f"database {shown}: {err.strerror or err}") from None
        try:
            engine = create_async_engine(url)
        except Exception as err:  # an unknown dialect, a driver that is not installed, a malformed URL
            raise DatabaseUnavailable(f"database {shown}: {type(err).__name__}: {err}") from None
        if url.startswith("sqlite"):
            @event.listens_for(engine.sync_engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()
        try:
            async with engine.begin() as conn:
                await conn.run_sync(SQLModel.metadata.create_all)
        except (OSError, ImportError, SQLAlchemyError) as err:  # unreachable server, bad login, unopenable file
            await engine.dispose()
            raise DatabaseUnavailable(f"database {shown}: cannot open it: {type(err).__name__}: {err}") from None
        return cls(engine)

    @property
    def url(self) -> str:
        """The database URL with its password: what another process opens to share this database."""
        return self.engine.url.render_as_string(hide_password=False)

    async def close(self) -> None:
        if self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)  # appends in flight finish before the engine goes
        if self._sqlite_writer is not None:
            await self._sqlite_writer.close()
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
        else:
            async with self._write_lock:
                yield

    def _session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False)

    # -- writing ---------------------------------------------------------------------------
    async def ensure_run(self, run_id: str, meta: dict[str, Any] | None = None) -> None:
        # Every session of a run calls this: after the first, a set lookup (runs are never deleted).
        if run_id in self._known_runs:
            return
        async with self._run_check:
            if run_id in self._known_runs:
                return
            if await self.run(run_id) is None:
                async with self._writing(), self._session() as s:
                    if await s.get(RunRow, run_id) is None:
                        s.add(RunRow(id=run_id, created_at=datetime.now(timezone.utc), meta=meta or {}))
                        try:
                            await s.commit()
                        except IntegrityError:  # another process created it first
                            await s.rollback()
            self._known_runs.add(run_id)

    async def run(self, run_id: str) -> RunRow | None:
        async with self._session() as s:
            return await s.get(RunRow, run_id)

    async def start_session(self, session_id: str, *, run_id: str, game: str, seed: int,
                            config: dict[str, Any], players: dict[str, str],
                            job_key: str | None = None) -> None:
        await self.start_session_soon(session_id, run_id=run_id, game=game, seed=seed, config=config,
                                      players=players, job_key=job_key)

    def start_session_soon(self, session_id: str, *, run_id: str, game: str, seed: int,
                           config: dict[str, Any], players: dict[str, str],
                           job_key: str | None = None) -> asyncio.Future[None]:
        """Queues the session row; events appended after it are committed after it (or with it)."""
        return self._enqueue("start", {
            "id": session_id, "run_id": run_id, "job_key": job_key, "game": game, "seed": seed,
            "status": "running", "config": config, "players": players, "outcome": None, "error": None,
            "started_at": datetime.now(timezone.utc), "finished_at": None})

    async def abandon_unfinished(self, run_id: str) -> int:
        """Marks a run's running/failed sessions abandoned (their events stay); returns how many."""
        async with self._writing(), self._session() as s:
            result = await s.exec(
                update(SessionRow).where(SessionRow.run_id == run_id,
                                         SessionRow.status.in_(("running", "failed")))
                .values(status="abandoned"))
            await s.commit()
        return result.rowcount or 0

    async def append(self, events: Sequence[Event]) -> None:
        """Returns once the events are committed."""
        if events:
            await self.append_soon(events)

    def append_soon(self, events: Sequence[Event]) -> asyncio.Future[None]:
        """Queues the events and returns a future that is done once they are committed.
        Writes are committed in the order they were queued, so awaiting a later append of
        the same session implies this one is committed too (unless it failed: check it)."""
        return self._enqueue("events", list(events))  # rows made when committed, for the database at hand

    async def finish_session(self, session_id: str, *, status: str, outcome: dict[str, Any] | None,
                             error: str | None = None) -> None:
        await self.finish_session_soon(session_id, status=status, outcome=outcome, error=error)

    def finish_session_soon(self, session_id: str, *, status: str, outcome: dict[str, Any] | None,
                            error: str | None = None) -> asyncio.Future[None]:
        return self._enqueue("finish", {"key_id": session_id, "status": status, "outcome": outcome, "error": error,
                                        "finished_at": datetime.now(timezone.utc)})

    # -- group commit ----------------------------------------------------------------------
    # The hot writes (session starts, events, session ends) are queued and committed together:
    # whatever arrives while a transaction is in flight goes into the next one, as one bulk
    # statement per kind (each statement is a round trip to the database's thread). With many
    # concurrent games that turns thousands of small transactions into a few large ones. Each
    # write's future is done once it is committed; the `*_soon` methods hand it to the caller.
    def _enqueue(self, kind: WriteKind, rows: Any) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        self._queue.append((kind, rows, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        return done

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self._transaction([(kind, rows) for kind, rows, _ in batch])
                outcomes: list[BaseException | None] = [None] * len(batch)
            except Exception:
                # One caller's bad write (say, a duplicate seq) must not fail the others: retry alone.
                outcomes = []
                for kind, rows, _ in batch:
                    try:
                        await self._transaction([(kind, rows)])
                        outcomes.append(None)
                    except Exception as err:
                        outcomes.append(err)
            for (_, _, done), error in zip(batch, outcomes):
                if done.done():  # the caller was cancelled
                    continue
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

    async def _transaction(self, writes: list[tuple[WriteKind, Any]]) -> None:
        starts = [rows for kind, rows in writes if kind == "start"]
        events = [row for kind, rows in writes if kind == "events" for row in rows]
        finishes = [rows for kind, rows in writes if kind == "finish"]
        if self._sqlite_writer is not None:
            # the rows made here, on the loop: the writer thread only commits them
            rows = ([session_row(r) for r in starts], [event_row(e) for e in events], [finish_row(r) for r in finishes])
            async with self._writing():
                updated = await self._sqlite_writer.commit(*rows)
            if len(finishes) == 1 and updated != 1:
                raise LookupError(f"no session {finishes[0]['key_id']!r} to finish")
            return
        async with self._writing(), self.engine.begin() as conn:
            # sessions before their events (foreign key), ends after them
            if starts:
                await conn.execute(SessionRow.__table__.insert(), starts)
            if events:
                await conn.execute(EventRow.__table__.insert(), [
                    {"session_id": e.session_id, "seq": e.seq, "run_id": e.run_id, "schema": e.schema_, "ts": e.ts,
                     "type": e.type, "actor": e.actor, "visible_to": e.visible_to, "payload": e.payload}
                    for e in events])
            if finishes:
                table = SessionRow.__table__
                result = await conn.execute(
                    update(table).where(table.c.id == bindparam("key_id"))
                    .values(status=bindparam("status"), outcome=bindparam("outcome"), error=bindparam("error"),
                            finished_at=bindparam("finished_at")), finishes)
                if len(finishes) == 1 and result.rowcount != 1:
                    raise LookupError(f"no session {finishes[0]['key_id']!r} to finish")

    async def write_session(self, session: SessionRow, events: Sequence[Event], run_meta: dict[str, Any]) -> None:
        """Writes a whole, already finished session (its row and every event) in one
        transaction, so an importer never leaves half a game behind. Creates the run with
        `run_meta` if needed; otherwise merges `run_meta["agents"]` into the run's agent ids."""
        async with self._writing(), self._session() as s:
            run = await s.get(RunRow, session.run_id)
            if run is None:
                s.add(RunRow(id=session.run_id, created_at=datetime.now(timezone.utc), meta=run_meta))
            elif run_meta.get("agents"):
                agents = {**run_meta["agents"], **(run.meta or {}).get("agents", {})}
                run.meta = {**(run.meta or {}), "agents": agents}  # a new dict: JSON columns track assignment
                s.add(run)
            s.add(session)
            await s.flush()  # the session row before the events that reference it
            s.add_all(EventRow.of(e) for e in events)
            await s.commit()

    async def free_session_id(self, base: str) -> str:
        """`base`, or `base-2`, `base-3`… when a session of that id was already played."""
        async with self._session() as s:
            taken = set((await s.exec(select(SessionRow.id).where(SessionRow.id.startswith(base)))).all())
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    # -- reading ---------------------------------------------------------------------------
    async def runs(self) -> list[dict[str, Any]]:
        async with self._session() as s:
            rows = (await s.exec(
                select(RunRow, func.count(SessionRow.id))
                .join(SessionRow, SessionRow.run_id == RunRow.id, isouter=True)
                .group_by(RunRow.id).order_by(RunRow.created_at)
            )).all()
            status_rows = (await s.exec(
                select(SessionRow.run_id, SessionRow.status, SessionRow.game, func.count()).group_by(
                    SessionRow.run_id, SessionRow.status, SessionRow.game)
            )).all()
        by_status: dict[str, dict[str, int]] = {}
        games: dict[str, set[str]] = {}
        for run_id, status, game, count in status_rows:
            statuses = by_status.setdefault(run_id, {})
            statuses[status] = statuses.get(status, 0) + count
            games.setdefault(run_id, set()).add(game)
        return [{"id": run.id, "created_at": _utc(run.created_at), "sessions": n,
                 "status": by_status.get(run.id, {}), "games": sorted(games.get(run.id, ())), "meta": run.meta}
                for run, n in rows]

    async def usage_by_run(self) -> dict[str, dict[str, float]]:
        """Tokens and cost per run, summed over its agent replies (all sessions, any status:
        what was spent, including on games that were later replayed)."""
        totals: dict[str, dict[str, float]] = {}
        async with self._session() as s:
            result = await s.exec(select(EventRow.run_id, EventRow.payload).where(EventRow.type == "agent.reply"))
            for run_id, payload in result:
                usage = (payload or {}).get("usage") or {}
                row = totals.setdefault(run_id, {"tokens": 0, "cost_usd": 0.0})
                for key in ("prompt_tokens", "completion_tokens"):
                    if isinstance(usage.get(key), (int, float)):
                        row["tokens"] += usage[key]
                if isinstance(usage.get("cost_usd"), (int, float)):
                    row["cost_usd"] += usage["cost_usd"]
        return totals

    async def sessions(self, run_id: str) -> list[SessionRow]:
        async with self._session() as s:
            rows = (await s.exec(select(SessionRow).where(SessionRow.run_id == run_id)
                                 .order_by(SessionRow.started_at, SessionRow.id))).all()
        return list(rows)

    async def events(self, session_id: str) -> list[Event]:
        async with self._session() as s:
            rows = (await s.exec(select(EventRow).where(EventRow.session_id == session_id)
                                 .order_by(EventRow.seq))).all()
        return [r.to_event() for r in rows]
