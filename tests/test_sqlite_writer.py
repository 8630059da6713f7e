"""The group commits of a SQLite file go through their own thread and a plain sqlite3
connection (server/sqlite_writer.py). What they store must read back through SQLAlchemy exactly
as SQLAlchemy's own writes do (an in-memory database still takes that path)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from persona_arena.core.events import Event
from persona_arena.server import sqlite_writer
from persona_arena.server.store import Store

T0 = datetime(2026, 12, 4, 14, 0, 0, 123456, tzinfo=timezone.utc)


def events_of(session_id: str, n: int, *, start: int = 0) -> list[Event]:
    payloads = [
        {"text": "naïve — ünïcödé ✓ \u2028 line", "nested": {"a": [1, 2.5, None, True]}},
        {"score": float("nan"), "big": 10**18, "neg": -0.0},
        {},
    ]
    return [Event(run_id="r", session_id=session_id, seq=start + i, ts=T0 + timedelta(milliseconds=i),
                  type="turn.request" if i % 2 else "agent.reply", actor="p1",
                  visible_to="public" if i % 3 == 0 else ["p1", "p2"], payload=payloads[i % len(payloads)])
            for i in range(n)]


async def play_one(store: Store, session_id: str, *, outcome) -> None:
    await store.ensure_run("r")
    store.start_session_soon(session_id, run_id="r", game="negotiation", seed=3,
                             config={"rounds": 4, "note": "é"}, players={"p1": "scripted", "p2": "eliza"},
                             job_key="job-1")
    await store.append(events_of(session_id, 7))
    await store.finish_session(session_id, status="finished", outcome=outcome)


def comparable(event: Event) -> dict:
    dumped = event.model_dump()
    dumped["payload"] = {k: "nan" if isinstance(v, float) and math.isnan(v) else v
                         for k, v in dumped["payload"].items()}
    return dumped


@pytest.mark.parametrize("outcome", [None, {"result": "deal", "scores": {"p1": 7.5, "p2": 3}}])
async def test_rows_read_back_as_sqlalchemy_writes_them(tmp_path, outcome):
    by_thread = await Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    by_sqlalchemy = await Store.open("sqlite://")  # in memory: the SQLAlchemy path
    assert by_thread._sqlite_writer is not None and by_sqlalchemy._sqlite_writer is None
    try:
        for store in (by_thread, by_sqlalchemy):
            await play_one(store, "s1", outcome=outcome)
        (a,), (b,) = await by_thread.sessions("r"), await by_sqlalchemy.sessions("r")
        clock = {"started_at", "finished_at"}  # each store stamped its own
        assert a.model_dump(exclude=clock) == b.model_dump(exclude=clock)
        assert a.outcome == outcome
        for stamp in clock:  # the same kind of value, within the test's time
            assert type(getattr(a, stamp)) is type(getattr(b, stamp)) is datetime
            assert abs(getattr(a, stamp) - getattr(b, stamp)) < timedelta(minutes=1)
        events_a, events_b = await by_thread.events("s1"), await by_sqlalchemy.events("s1")
        assert [comparable(e) for e in events_a] == [comparable(e) for e in events_b]
        assert [comparable(e) for e in events_a] == [comparable(e) for e in events_of("s1", 7)]
    finally:
        await by_thread.close()
        await by_sqlalchemy.close()


async def test_a_commit_larger_than_one_statement_lands_whole_and_in_order(store):
    n = 2 * sqlite_writer.ROWS_PER_STATEMENT + 7
    await store.ensure_run("r")
    store.start_session_soon("big", run_id="r", game="g", seed=0, config={}, players={})
    await store.append(events_of("big", n))
    assert [e.seq for e in await store.events("big")] == list(range(n))


async def test_a_bad_write_fails_alone_and_the_writer_goes_on(store):
    await store.ensure_run("r")
    store.start_session_soon("s", run_id="r", game="g", seed=0, config={}, players={})
    await store.append(events_of("s", 3))
    # queued together: one group commit, which fails on the duplicate and is retried write by write
    duplicate = store.append_soon(events_of("s", 1, start=2))
    fine = store.append_soon(events_of("s", 2, start=3))
    with pytest.raises(Exception, match="UNIQUE"):
        await duplicate
    await fine
    assert [e.seq for e in await store.events("s")] == [0, 1, 2, 3, 4]
    await store.finish_session("s", status="finished", outcome=None)
    (session,) = await store.sessions("r")
    assert session.status == "finished"


async def test_finishing_an_unknown_session_is_an_error(store):
    await store.ensure_run("r")
    with pytest.raises(LookupError, match="no session 'ghost'"):
        await store.finish_session("ghost", status="finished", outcome=None)


async def test_events_of_a_session_that_was_never_started_are_refused(store):
    # the foreign key holds on the writer's own connection too
    await store.ensure_run("r")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await store.append(events_of("nobody", 1))
    assert await store.events("nobody") == []
