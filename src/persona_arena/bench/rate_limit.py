"""P7: throughput against a rate-limited provider. A fake OpenAI-compatible server on loopback,
in a process of its own (as a provider is), answers at most `limit` requests at once (a 429
above that) with a fixed latency, so at best it serves limit/latency replies per second. Many
negotiation games of LLM agents play against it through the real adapter (retries, adaptive
concurrency limit); the figure is the replies per second they got, over that ceiling. Every
game must finish with no forfeited turn."""

from __future__ import annotations

from persona_arena.bench.figures import Figure


async def measure_rate_limit(games: int, limit: int, latency: float) -> Figure:
    from persona_arena.agents.registry import check_spec, create_agent
    from persona_arena.agents.reliability import limiter_for
    from persona_arena.bench.batch_run import run_games
    from persona_arena.bench.fake_openai import FakeOpenAIProcess
    from persona_arena.core.specs import AgentSpec
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.game import Negotiation
    from persona_arena.server.batch import GameJob

    async with FakeOpenAIProcess(max_in_flight=limit, latency=latency) as server:
        agent = AgentSpec.parse(f"openai/bench-model;api_base={server.api_base}")
        # Validated before the clock starts, as a tournament validates its file before playing
        # (this imports litellm: seconds that a run pays once, not per reply).
        check_spec(agent)
        config = NegotiationConfig(parties=[{"agent": agent}, {"agent": agent}], rounds=2, end_on_deal=False)
        jobs = [GameJob(Negotiation(), config, seed) for seed in range(games)]
        run = await run_games(jobs, create_agent, concurrency=games)
        outcomes = (await server.stats())["outcomes"]
        served, rejected = outcomes.get("ok", 0), outcomes.get("429", 0)
        limiter = limiter_for(("openai", server.api_base))
    ceiling = limit / latency
    unfinished = run.games - run.finished
    figure = Figure.compare("P7", served / run.wall_s, ceiling, goal=0.8, unit="replies/s",
                            games=games, limit_in_flight=limit, latency_s=latency, replies=served,
                            rejected_429=rejected, forfeited_turns=run.forfeited_turns, unfinished_games=unfinished,
                            limiter_final=limiter.limit, limiter_cuts=limiter.cuts, wall_s=run.wall_s)
    if run.forfeited_turns or unfinished:
        figure.error = f"{run.forfeited_turns} forfeited turns, {unfinished} unfinished games (goal: 0 failures)"
    return figure
