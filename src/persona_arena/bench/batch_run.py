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
    agent_replies: int
    forfeited_turns: int  # replies that were failures (timeouts, provider errors)


async def run_games(jobs: list, agent_factory, *, concurrency: int, turn_timeout: float = 120) -> BatchRun:
    from persona_arena.server.batch import run_batch
    from persona_arena.server.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite")
        try:
            started = time.perf_counter()
            results = await run_batch(jobs, store=store, run_id="bench", export_root=Path(tmp) / "out",
                                      agent_factory=agent_factory, concurrency=concurrency,
                                      turn_timeout=turn_timeout, console=Console(quiet=True))
            wall = time.perf_counter() - started
            replies = forfeits = 0
            for r in results:  # counted after the clock stopped
                for e in await store.events(r.session_id):
                    if e.type == "agent.reply":
                        replies += 1
                        forfeits += bool(e.payload["failure"])
        finally:
            await store.close()
    return BatchRun(wall, len(jobs), sum(r.status == "finished" for r in results), replies, forfeits)
