"""P3: concurrency efficiency. Many games of scripted agents that each take a fixed simulated
latency per reply, run through the real batch runner with persistence and JSONL export; the
ideal wall time is total reply time / concurrency, and the figure is ideal / measured."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from persona_arena.bench.figures import Figure
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec

TURNS_PER_GAME = 10  # 2 parties x 4 rounds + 2 debriefs (end_on_deal off, so every game has all)


class SlowAgent:
    """A scripted agent whose every reply takes `latency` seconds, like a remote model."""

    def __init__(self, inner: Any, latency: float) -> None:
        self.inner, self.latency = inner, latency

    async def act(self, observation: Observation):
        await asyncio.sleep(self.latency)
        return await self.inner.act(observation)

    async def close(self) -> None:
        await self.inner.close()


async def measure_concurrency(games: int, concurrency: int, latency: float) -> Figure:
    from persona_arena.agents.registry import create_agent
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.game import Negotiation
    from persona_arena.server.batch import GameJob, run_batch
    from persona_arena.server.store import Store

    scripted = AgentSpec(model="scripted")
    config = NegotiationConfig(parties=[{"agent": scripted}, {"agent": scripted}], scenario=None,
                               rounds=4, end_on_deal=False)
    jobs = [GameJob(Negotiation(), config, seed) for seed in range(games)]
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite")
        try:
            started = time.perf_counter()
            results = await run_batch(jobs, store=store, run_id="bench-p3", export_root=Path(tmp) / "out",
                                      agent_factory=lambda spec, seed: SlowAgent(create_agent(spec, seed), latency),
                                      concurrency=concurrency, console=_quiet_console())
            wall = time.perf_counter() - started
            turns = 0
            for r in results:
                turns += sum(e.type == "agent.reply" for e in await store.events(r.session_id))
        finally:
            await store.close()
    ideal = turns * latency / concurrency
    failed = sum(r.status != "finished" for r in results)
    # value: the measured wall time; baseline: the ideal one; ratio = ideal / wall
    return Figure.compare("P3", wall, ideal, goal=0.87, unit="s", lower_is_better=True,
                          games=games, turns=turns, concurrency=concurrency, latency_s=latency,
                          ideal_s=ideal, wall_s=wall, failed=failed)


def _quiet_console():
    from rich.console import Console
    return Console(quiet=True)
