"""Drives games without the runner (pure, synchronous) and stands in agents for tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from persona_arena.agents.base import AgentResponse
from persona_arena.core.events import EventDraft
from persona_arena.core.observations import Observation, Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.negotiation.config import NegotiationConfig
from persona_arena.games.negotiation.game import Negotiation
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring

SCRIPTED = AgentSpec(model="scripted")


def agents_toml(models: dict[str, str], *, not_judging: tuple[str, ...] = ()) -> str:
    """A tournament file's `[[agents]]` tables, one per id: model spec."""
    return "".join(f'[[agents]]\nid = "{agent}"\nmodel = "{model}"\n'
                   + ("judge = false\n" if agent in not_judging else "") for agent, model in models.items())


# A reverse-turing tournament of scripted agents (.format(n=…, seeds=…)): 3 judges x seeds games.
SCRIPTED_TOURNAMENT = """
name = "scripted-{n}"
seeds = {seeds}
concurrency = 8
[game_options]
rounds = 3
candidates = 3
""" + agents_toml({"a": "scripted", "b": "scripted;seed=7", "c": "scripted;seed=8", "d": "scripted;seed=9"},
                  not_judging=("d",))


def arena(*args: str, cwd: Path | None = None, timeout: float = 600,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs the CLI in a fresh interpreter, as a researcher would."""
    return subprocess.run([sys.executable, "-m", "persona_arena", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


@dataclass
class Played:
    state: object
    events: list[EventDraft]
    observations: list[Observation] = field(default_factory=list)

    def of_type(self, kind: str) -> list[EventDraft]:
        return [e for e in self.events if e.type == kind]

    @property
    def outcome(self) -> dict:
        return self.state.outcome


def play(config: ReverseTuringConfig | NegotiationConfig, seed: int, reply: Callable[[Observation], Reply],
         max_turns: int = 1000) -> Played:
    game = Negotiation() if isinstance(config, NegotiationConfig) else ReverseTuring()
    start = game.setup(config, seed)
    played = Played(start.state, list(start.events))
    for _ in range(max_turns):
        obs = game.next_turn(start.state)
        if obs is None:
            return played
        played.observations.append(obs)
        played.events += game.apply(start.state, obs.player, reply(obs))
    raise AssertionError("game did not end")


def config(**overrides) -> ReverseTuringConfig:
    base = {"judge": AgentSpec(model="local/qwen2.5-0.5b"), "foils": [SCRIPTED, AgentSpec(model="local/gemma-3-270m")],
            "rounds": 3}
    return ReverseTuringConfig(**{**base, **overrides})


class ListAgent:
    """Replies from a fixed list, then repeats the last one; records what it was shown."""

    def __init__(self, spec: AgentSpec, replies: list[str | Exception]) -> None:
        self.spec = spec
        self.replies = list(replies)
        self.seen: list[Observation] = []

    async def act(self, observation: Observation) -> AgentResponse:
        self.seen.append(observation)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return AgentResponse(reply)

    async def close(self) -> None:
        return None
