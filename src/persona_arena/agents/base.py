"""The `Agent` protocol: anything that answers an observation with raw text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec


@dataclass
class AgentResponse:
    text: str
    usage: dict[str, Any] = field(default_factory=dict)  # tokens, cost: whatever the agent knows


@runtime_checkable
class Agent(Protocol):
    spec: AgentSpec

    async def act(self, observation: Observation) -> AgentResponse:
        """Return the raw reply; the game, not the agent, decides whether it is valid."""

    async def close(self) -> None: ...


def turn_seed(seed: int, player: str, turn_number: int) -> int:
    """A stable per-turn seed, so that seeded agents replay identically."""
    digest = hashlib.sha256(f"{seed}:{player}:{turn_number}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
