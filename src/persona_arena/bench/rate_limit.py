"""P7: throughput against a rate-limited provider. A fake OpenAI-compatible server on loopback
answers at most `limit` requests at once (a 429 above that) with a fixed latency, so at best it
serves limit/latency replies per second. Many negotiation games of LLM agents play against it
through the real adapter (retries, adaptive concurrency limit); the figure is the replies per
second they got, over that ceiling. Every game must finish with no forfeited turn."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from persona_arena.bench.figures import Figure


async def measure_rate_limit(games: int, limit: int, latency: float) -> Figure:
    from rich.console import Console

    from persona_arena.agents.reliability import limiter_for
    from persona_arena.agents.registry import create_agent
    from persona_arena.bench.fake_openai import FakeOpenAI
    from persona_arena.core.specs import AgentSpec
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.game import Negotiation
    from persona_arena.server.batch import GameJob, run_batch
    from persona_arena.server.store import Store

    async with FakeOpenAI(max_in_flight=limit, latency=latency) as server:
        agent = AgentSpec.parse(f"openai/bench-model;api_base={server.api_base}")
        config = NegotiationConfig(parties=[{"agent": agent}, {"agent": agent}], rounds=2, end_on_deal=False)
        jobs = [GameJob(Negotiation(), config, seed) for seed in range(games)]
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite")
            try:
                started = time.perf_counter()
                results = await run_batch(jobs, store=store, run_id="bench-p7", export_root=Path(tmp) / "out",
                                          agent_factory=create_agent, concurrency=games, turn_timeout=120,
                                          console=Console(quiet=True))
                wall = time.perf_counter() - started
                forfeits = 0
                for r in results:
                    forfeits += sum(1 for e in await store.events(r.session_id)
                                    if e.type == "agent.reply" and e.payload["failure"])
            finally:
                await store.close()
        served = server.outcomes["ok"]
        rejected = server.outcomes.get("429", 0)
        limiter = limiter_for(("openai", server.api_base))
    ceiling = limit / latency
    unfinished = sum(r.status != "finished" for r in results)
    figure = Figure.compare("P7", served / wall, ceiling, goal=0.8, unit="replies/s",
                            games=games, limit_in_flight=limit, latency_s=latency, replies=served,
                            rejected_429=rejected, forfeited_turns=forfeits, unfinished_games=unfinished,
                            limiter_final=limiter.limit, limiter_cuts=limiter.cuts, wall_s=wall)
    if forfeits or unfinished:
        figure.error = f"{forfeits} forfeited turns, {unfinished} unfinished games (goal: 0 failures)"
    return figure
