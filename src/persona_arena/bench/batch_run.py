"""A batch of games through the real batch runner (persistence and JSONL export included),
in a throwaway SQLite database: what P3 and P7 time."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console


@dataclass
class BatchRun:
    wall_s: float
    games: int
    finished: int
    forfeited_turns: int  # replies that were failures (timeouts, provider errors)
    replies_by_session: dict[str, int]

    @property
    def agent_replies(self) -> int:
        return sum(self.replies_by_session.values())


async def run_games(jobs: list, agent_factory, *, concurrency: int, turn_timeout: float = 120,
                    workers: int = 1) -> BatchRun:
    """With `workers` > 1 the games are shared among that many worker processes, started (and
    done importing) before the clock, as a tournament starts them while it plans the run."""
    from persona_arena.server.batch import run_batch
    from persona_arena.server.store import Store
    from persona_arena.server.workers import WorkerPool, WorkerSetup

    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite")
        pool = WorkerPool(workers, WorkerSetup(db_url=store.url)) if workers > 1 else None
        try:
            # Before the clock, as a tournament records its run while it plans it.
            await store.ensure_run("bench")
            if pool is not None:
                await pool.start()
            started = time.perf_counter()
            results = await run_batch(jobs, store=store, run_id="bench", export_root=Path(tmp) / "out",
                                      agent_factory=agent_factory, concurrency=concurrency,
                                      turn_timeout=turn_timeout, console=Console(quiet=True), pool=pool)
            wall = time.perf_counter() - started
            replies: dict[str, int] = {}
            forfeits = 0
            for r in results:  # counted after the clock stopped
                for e in await store.events(r.session_id):
                    if e.type == "agent.reply":
                        replies[r.session_id] = replies.get(r.session_id, 0) + 1
                        forfeits += bool(e.payload["failure"])
        finally:
            if pool is not None:
                await pool.close()
            await store.close()
    return BatchRun(wall, len(jobs), sum(r.status == "finished" for r in results), forfeits, replies)
