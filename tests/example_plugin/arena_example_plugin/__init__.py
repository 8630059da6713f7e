"""An example agent plugin: `echo` repeats the last message it was sent, reversed word order.

A plugin is any installed package with an entry point in the group `persona_arena.agents`
whose name is the spec it answers to and whose object is a factory `(spec, seed) -> agent`.
"""

from __future__ import annotations

import json
import random

from persona_arena.agents.base import AgentResponse, turn_seed
from persona_arena.agents.scripted import sample


class EchoAgent:
    def __init__(self, spec, seed: int) -> None:
        self.spec = spec
        self.seed = seed

    async def act(self, observation) -> AgentResponse:
        last = observation.messages[-1].content if observation.messages else ""
        echoed = " ".join(reversed(last.split())) or "..."
        if observation.reply_schema is None:
            return AgentResponse(f"echo: {echoed}")
        rng = random.Random(turn_seed(self.seed, observation.player, observation.turn_number))
        value = sample(observation.reply_schema, rng)
        if isinstance(value, dict) and "message" in value:
            value["message"] = f"echo: {echoed}"[:200]
        return AgentResponse(json.dumps(value))

    async def close(self) -> None:
        return None


def make_echo_agent(spec, seed: int) -> EchoAgent:
    return EchoAgent(spec, seed)
