"""Tags in the database: sparse findings linked to event ids, one set per (run, backend).

Two tables of their own, created on first use with the store's engine (`ensure_tables`):

* `tags`: one row per finding — run_id, session_id, seq (the event), event type, speaker,
  agent, role, backend, label, span (start, end), confidence, evidence;
* `tag_sets`: one row per (run_id, backend) that was scored — when, how many utterances and
  tags, the speakers' utterance counts (so counts can be turned into rates) and the label
  families that were scored (so a report can tell "none found" from "never looked").

Scoring a run again with the same backend replaces that backend's tags; another backend's
tags are kept, so backends can be compared on the same events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, delete
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from persona_arena.scoring.taxonomy import Tag
from persona_arena.scoring.utterances import Utterance
from persona_arena.server.store import Store


class TagRow(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (Index("tags_by_run_backend", "run_id", "backend"),
                      Index("tags_by_event", "session_id", "seq"))
    id: int | None = Field(default=None, primary_key=True)
    run_id: str
    session_id: str = Field(foreign_key="sessions.id")
    seq: int
    event_type: str
    speaker: str
    agent: str
    role: str
    backend: str
    label: str = Field(index=True)
    start: int
    end: int
    confidence: float
    evidence: str


class TagSetRow(SQLModel, table=True):
    __tablename__ = "tag_sets"
    run_id: str = Field(primary_key=True)
    backend: str = Field(primary_key=True)
    scored_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    utterances: int = 0
    tags: int = 0
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


async def ensure_tables(store: Store) -> None:
    """Creates the tag tables if missing (the hook the scorer calls on an opened store)."""
    async with store.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all,
                            tables=[TagRow.__table__, TagSetRow.__table__])  # type: ignore[attr-defined]


def _session(store: Store) -> AsyncSession:
    return AsyncSession(store.engine, expire_on_commit=False)


def speaker_counts(utterances: Sequence[Utterance]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for u in utterances:
        counts[(u.agent, u.role)] += 1
    return [{"agent": a, "role": r, "utterances": n} for (a, r), n in sorted(counts.items())]


async def save_tags(store: Store, run_id: str, backend: str, utterances: Sequence[Utterance],
                    tags: Sequence[Sequence[Tag]], meta: dict[str, Any] | None = None) -> int:
    """Replaces `backend`'s tags of `run_id` with these; returns how many were stored."""
    if len(utterances) != len(tags):
        raise ValueError("one list of tags per utterance")
    rows = [TagRow(run_id=run_id, session_id=u.session_id, seq=u.seq, event_type=u.event_type,
                   speaker=u.speaker, agent=u.agent, role=u.role, backend=backend, label=t.label,
                   start=t.start, end=t.end, confidence=t.confidence, evidence=t.evidence)
            for u, found in zip(utterances, tags, strict=True) for t in found]
    async with _session(store) as s:
        await s.exec(delete(TagRow).where(TagRow.run_id == run_id, TagRow.backend == backend))
        old = await s.get(TagSetRow, (run_id, backend))
        if old is not None:
            await s.delete(old)
        s.add_all(rows)
        s.add(TagSetRow(run_id=run_id, backend=backend, scored_at=datetime.now(timezone.utc),
                        utterances=len(utterances), tags=len(rows),
                        meta={**(meta or {}), "speakers": speaker_counts(utterances),
                              "families": sorted(set().union(*(u.families for u in utterances)))}))
        await s.commit()
    return len(rows)


async def tag_set(store: Store, run_id: str, backend: str) -> TagSetRow | None:
    await ensure_tables(store)
    async with _session(store) as s:
        return await s.get(TagSetRow, (run_id, backend))


async def tag_sets(store: Store, run_id: str) -> list[TagSetRow]:
    async with _session(store) as s:
        return list((await s.exec(select(TagSetRow).where(TagSetRow.run_id == run_id)
                                  .order_by(TagSetRow.backend))).all())


async def tags_of(store: Store, *, run_id: str | None = None, session_id: str | None = None,
                  backend: str | None = None) -> list[TagRow]:
    """Stored tags, in event order (for the TUI's inline highlights and for exports)."""
    query = select(TagRow)
    if run_id is not None:
        query = query.where(TagRow.run_id == run_id)
    if session_id is not None:
        query = query.where(TagRow.session_id == session_id)
    if backend is not None:
        query = query.where(TagRow.backend == backend)
    async with _session(store) as s:
        rows = (await s.exec(query.order_by(TagRow.session_id, TagRow.seq, TagRow.start,
                                            TagRow.label))).all()
    return list(rows)


def count_tags(rows: Sequence[TagRow], speakers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (agent, role): utterances scored, and for each label how many utterances carry it."""
    carrying: dict[tuple[str, str], dict[str, set[tuple[str, int]]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        carrying[(r.agent, r.role)][r.label].add((r.session_id, r.seq))
    totals = {(s["agent"], s["role"]): s["utterances"] for s in speakers}
    out = []
    for key in sorted(set(totals) | set(carrying)):
        labels = {label: len(events) for label, events in sorted(carrying[key].items())}
        out.append({"agent": key[0], "role": key[1], "utterances": totals.get(key, 0), "labels": labels})
    return out


async def tag_counts(store: Store, run_id: str, backend: str = "rules") -> dict[str, Any] | None:
    """Tag counts per agent and role for a scored run (None if `backend` never scored it).

    `{"backend", "scored_at", "utterances", "rows": [{"agent", "role", "utterances",
    "labels": {label: utterances carrying it}}]}` — what `arena report` shows.
    """
    await ensure_tables(store)
    async with _session(store) as s:
        tag_set = await s.get(TagSetRow, (run_id, backend))
    if tag_set is None:
        return None
    rows = await tags_of(store, run_id=run_id, backend=backend)
    return {"backend": backend, "scored_at": tag_set.scored_at.isoformat() if tag_set.scored_at else None,
            "utterances": tag_set.utterances, "rows": count_tags(rows, tag_set.meta.get("speakers", []))}
