"""P3: concurrency efficiency. Many games of scripted agents that each take a fixed simulated
latency per reply, run through the real batch runner with persistence and JSONL export. The
ideal wall time is what a server with no overhead at all would take: the games' reply time,
scheduled `concurrency` at a time in the batch's order (a game's replies come one after the
other, so 1,000 games of 2 s at 256 take four rounds, 8 s, not 1,000 x 2 s / 256 = 7.8 s).
The figure is ideal / measured; the total reply time / concurrency is reported too."""

from __future__ import annotations

import asyncio
import heapq
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


class SlowAgents:
    """The agent factory: scripted agents behind `SlowAgent` (a class, so worker processes can
    receive it)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __call__(self, spec: AgentSpec, seed: int) -> SlowAgent:
        from persona_arena.agents.registry import create_agent

        return SlowAgent(create_agent(spec, seed), self.latency)


async def measure_concurrency(games: int, concurrency: int, latency: float, workers: int = 1) -> Figure:
    from persona_arena.bench.batch_run import run_games
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.game import Negotiation
    from persona_arena.server.batch import GameJob

    scripted = AgentSpec(model="scripted")
    config = NegotiationConfig(parties=[{"agent": scripted}, {"agent": scripted}], scenario=None,
                               rounds=4, end_on_deal=False)
    # session ids given, as a tournament gives them (no lookup for a free id per game)
    jobs = [GameJob(Negotiation(), config, seed, session_id=f"p3-{seed}") for seed in range(games)]
    run = await run_games(jobs, SlowAgents(latency), concurrency=concurrency, workers=workers)
    game_seconds = [run.replies_by_session.get(job.session_id, 0) * latency for job in jobs]
    ideal = ideal_wall_time(game_seconds, concurrency)
    work_bound = sum(game_seconds) / concurrency
    # value: the measured wall time; baseline: the ideal one; ratio = ideal / wall
    return Figure.compare("P3", run.wall_s, ideal, goal=0.87, unit="s", lower_is_better=True,
                          games=games, turns=run.agent_replies, concurrency=concurrency, workers=workers, latency_s=latency,
                          ideal_s=ideal, wall_s=run.wall_s, failed=run.games - run.finished,
                          work_bound_s=work_bound, work_bound_ratio=work_bound / run.wall_s)


def ideal_wall_time(game_seconds: list[float], concurrency: int) -> float:
    """The wall time of games that take exactly their reply time, started in order, each as
    soon as one of `concurrency` slots is free (as the batch runner starts them)."""
    slots = [0.0] * min(concurrency, len(game_seconds))
    for seconds in game_seconds:
        heapq.heappush(slots, heapq.heappop(slots) + seconds)
    return max(slots, default=0.0)
