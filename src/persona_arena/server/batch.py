"""Runs many sessions concurrently (bounded), with a live progress bar, and exports them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from persona_arena.games.base import Game
from persona_arena.server.runner import DEFAULT_TURN_TIMEOUT, AgentFactory, SessionResult, run_session
from persona_arena.server.store import Store
from persona_arena.transcripts.jsonl import transcript_path, write_jsonl


@dataclass(frozen=True)
class GameJob:
    game: Game
    config: BaseModel
    seed: int


async def export_session(store: Store, result: SessionResult, root: Path) -> Path:
    return write_jsonl(await store.events(result.session_id), transcript_path(root, result.run_id, result.session_id))


async def run_batch(jobs: list[GameJob], *, store: Store, run_id: str, export_root: Path,
                    agent_factory: AgentFactory, concurrency: int = 2, turn_timeout: float = DEFAULT_TURN_TIMEOUT,
                    console: Console | None = None) -> list[SessionResult]:
    limit = asyncio.Semaphore(concurrency)
    results: list[SessionResult | None] = [None] * len(jobs)
    counts = {"running": 0, "failed": 0}
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("running {task.fields[running]} · failed {task.fields[failed]}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        task = progress.add_task(run_id, total=len(jobs), running=0, failed=0)

        async def one(index: int, job: GameJob) -> None:
            async with limit:
                counts["running"] += 1
                progress.update(task, **counts)
                result = await run_session(job.game, job.config, job.seed, store=store, run_id=run_id,
                                           agent_factory=agent_factory, turn_timeout=turn_timeout)
                await export_session(store, result, export_root)
                counts["running"] -= 1
                counts["failed"] += result.status != "finished"
                results[index] = result
                progress.update(task, advance=1, **counts)

        await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs)))
    return [r for r in results if r is not None]
