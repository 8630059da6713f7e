"""`arena demo`: the quickstart batch on the local models (no API key, under 10 minutes)."""

from __future__ import annotations

from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.batch import GameJob

# max_tokens leaves room for a whole JSON verdict (rationale <= 300 characters).
QWEN = AgentSpec(model="local/qwen2.5-0.5b", temperature=0.7, max_tokens=200)
GEMMA = AgentSpec(model="local/gemma-3-270m", temperature=0.7, max_tokens=200)
SCRIPTED = AgentSpec(model="scripted")


def demo_jobs(rounds: int = 2, seeds: int = 3) -> list[GameJob]:
    """Qwen judging {Qwen twin, Gemma, scripted}, Gemma judging {Gemma twin, Qwen, scripted}."""
    game = ReverseTuring()
    jobs = []
    for judge, other in ((QWEN, GEMMA), (GEMMA, QWEN)):
        config = ReverseTuringConfig(judge=judge, foils=[other, SCRIPTED], rounds=rounds)
        jobs += [GameJob(game, config, seed) for seed in range(seeds)]
    return jobs
