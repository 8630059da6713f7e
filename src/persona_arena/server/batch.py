"""Runs many sessions concurrently (bounded), with a live progress bar, and exports them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)

from persona_arena.games.base import Game
from persona_arena.server.gc_pauses import fewer_gc_pauses
from persona_arena.server.runner import (
    DEFAULT_TURN_TIMEOUT, AgentFactory, EventHook, SessionResult, run_session,
)
from persona_arena.server.store import Store
from persona_arena.transcripts.jsonl import jsonl_bytes, transcript_path, write_bytes_atomically

if TYPE_CHECKING:
    from persona_arena.server.workers import WorkerPool

RunningHook = Callable[[int], None]                  # +1 when a game starts, -1 when it is over
ResultHook = Callable[[int, SessionResult], None]    # a job's index and its stored, exported result


@dataclass(frozen=True)
class GameJob:
    game: Game
    config: BaseModel
    seed: int
    session_id: str | None = None  # default: derived from game, seed and config
    job_key: str | None = None     # the planned game of a tournament this job plays


async def export_session(store: Store, result: SessionResult, root: Path) -> Path:
    """Writes the session's JSONL export; a finished session's events come from the runner
    (exactly what it committed), others are read back from the store."""
    events = result.events or await store.events(result.session_id)
    path = transcript_path(root, result.run_id, result.session_id)
    # In a thread, the file system work and the serialising too: at the end of a wave of games
    # the event loop would otherwise serialise hundreds of transcripts while the next wave starts.
    return await asyncio.to_thread(lambda: write_bytes_atomically(path, jsonl_bytes(events)))


async def play_jobs(jobs: list[tuple[int, GameJob]], *, store: Store, run_id: str, export_root: Path,
                    agent_factory: AgentFactory, concurrency: int, turn_timeout: float,
                    stop: asyncio.Event | None, publish: EventHook | None,
                    on_running: RunningHook, on_result: ResultHook) -> None:
    """Plays the (index, job) pairs in this process, `concurrency` at a time."""
    limit = asyncio.Semaphore(concurrency)

    async def one(index: int, job: GameJob) -> None:
        # The slot bounds the games in play (agent calls in flight); storing a finished
        # game's end and writing its export happen after the next game has started.
        async with limit:
            if stop is not None and stop.is_set():
                return
            on_running(1)
            try:
                result = await run_session(job.game, job.config, job.seed, store=store, run_id=run_id,
                                           agent_factory=agent_factory, session_id=job.session_id,
                                           job_key=job.job_key, turn_timeout=turn_timeout, stop=stop,
                                           publish=publish, wait_for_commit=False)
            finally:
                on_running(-1)
        if result.committed is not None:
            await result.committed
        await export_session(store, result, export_root)
        # The events are in the database and the export now; a long batch must not hold them all.
        on_result(index, replace(result, events=[], committed=None))

    with fewer_gc_pauses():
        await asyncio.gather(*(one(i, job) for i, job in jobs))


async def run_batch(jobs: list[GameJob], *, store: Store, run_id: str, export_root: Path,
                    agent_factory: AgentFactory, concurrency: int = 2,
                    turn_timeout: float = DEFAULT_TURN_TIMEOUT, console: Console | None = None,
                    already_done: int = 0, stop: asyncio.Event | None = None,
                    publish: EventHook | None = None, pool: WorkerPool | None = None) -> list[SessionResult]:
    """Plays `jobs`; `already_done` counts earlier finished games of the run in the bar. Once
    `stop` is set no game starts, and running games end at their next safe point. `publish`
    gets every committed batch of events (see `run_session`). With a worker `pool` the games
    are shared among its processes (`concurrency` in all), each writing to the same database;
    their results carry no events."""
    results: list[SessionResult | None] = [None] * len(jobs)
    stats = {"running": 0, "failed": 0, "tokens": 0, "cost": 0.0}
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("running {task.fields[running]} · failed {task.fields[failed]} · "
                   "{task.fields[tokens]} tokens · ${task.fields[cost]:.4f}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
    ) as progress:
        task = progress.add_task(run_id, total=already_done + len(jobs), completed=already_done, **stats)

        def on_running(delta: int) -> None:
            stats["running"] += delta
            progress.update(task, **stats)

        def on_result(index: int, result: SessionResult) -> None:
            stats["failed"] += result.status == "failed"
            stats["tokens"] += int(result.usage.get("prompt_tokens", 0) + result.usage.get("completion_tokens", 0))
            stats["cost"] += float(result.usage.get("cost_usd", 0.0))
            results[index] = result
            progress.update(task, advance=1, **stats)

        indexed = list(enumerate(jobs))
        # Once here, not in each of the first `concurrency` games: they would all queue behind
        # the first one's database round trip before playing a turn.
        await store.ensure_run(run_id)
        if pool is None:
            await play_jobs(indexed, store=store, run_id=run_id, export_root=export_root,
                            agent_factory=agent_factory, concurrency=concurrency, turn_timeout=turn_timeout,
                            stop=stop, publish=publish, on_running=on_running, on_result=on_result)
        else:
            if publish is not None:
                raise ValueError("worker processes cannot publish to this process's bus")
            await pool.play(indexed, db_url=store.url, run_id=run_id, export_root=export_root,
                            agent_factory=agent_factory, concurrency=concurrency, turn_timeout=turn_timeout,
                            stop=stop, on_running=on_running, on_result=on_result)
    return [r for r in results if r is not None]
