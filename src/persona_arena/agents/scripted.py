"""`scripted`: a deterministic, seeded baseline that plays every role of every game legally.

It knows no game: a structured turn is answered by sampling a value that satisfies the
turn's JSON Schema (honouring the `x-sum` annotation on objects of numbers), a free-text
turn by a sentence drawn from a small bank. The same seed gives the same replies.
"""

from __future__ import annotations

import json
import random
from typing import Any

from persona_arena.agents.base import AgentResponse, turn_seed
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec

_SENTENCES = (
    "I like quiet mornings and a good cup of tea.",
    "Honestly, I try to answer as clearly as I can.",
    "That is a good question; I would say it depends on the context.",
    "I enjoy puzzles, especially ones with words.",
    "My favourite season is autumn, for the colours.",
    "I do not have a strong opinion on that.",
    "I would describe myself as curious and careful.",
    "Let me think... I would probably choose the simpler option.",
    "I remember things best when I write them down.",
    "Could you tell me more about what you mean?",
)
_WORDS = ("what", "do", "you", "think", "about", "music", "memory", "yourself", "today",
          "why", "how", "would", "describe", "favourite", "colour", "dream", "name")


class ScriptedAgent:
    def __init__(self, spec: AgentSpec, seed: int) -> None:
        self.spec = spec
        self.seed = spec.seed if spec.seed is not None else seed

    async def act(self, observation: Observation) -> AgentResponse:
        rng = random.Random(turn_seed(self.seed, observation.player, observation.turn_number))
        if observation.reply_schema is None:
            return AgentResponse(rng.choice(_SENTENCES))
        return AgentResponse(json.dumps(sample(observation.reply_schema, rng)))

    async def close(self) -> None:
        return None


def sample(schema: dict[str, Any], rng: random.Random) -> Any:
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props: dict[str, dict] = schema.get("properties", {})
        value = {name: sample(sub, rng) for name, sub in props.items()}
        if "x-sum" in schema and value:
            total = sum(value.values()) or 1.0
            value = {k: round(v / total * schema["x-sum"], 4) for k, v in value.items()}
            # the rounding remainder goes to the largest value, so the sum is exact and no value
            # turns negative
            largest = max(value, key=value.__getitem__)
            value[largest] = round(value[largest] + schema["x-sum"] - sum(value.values()), 4)
        return value
    if kind == "array":
        lo = schema.get("minItems", 0)
        hi = schema.get("maxItems", lo + 3)
        items = [sample(schema.get("items", {}), rng) for _ in range(rng.randint(lo, hi))]
        return list(dict.fromkeys(items)) if all(isinstance(i, str) for i in items) else items
    if kind == "number":
        return round(rng.uniform(schema.get("minimum", 0.0), schema.get("maximum", 1.0)), 4) or 0.0001
    if kind == "integer":
        return rng.randint(schema.get("minimum", 0), schema.get("maximum", 100))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        lo, hi = schema.get("minLength", 1), schema.get("maxLength", 120)
        words = [rng.choice(_WORDS) for _ in range(rng.randint(3, 10))]
        text = (" ".join(words).capitalize() + "?")[:hi]
        return text.ljust(lo, ".")
    return None
