"""LLM agents through litellm: any provider litellm knows, and `local/…` via our custom provider."""

from __future__ import annotations

from typing import Any

from persona_arena.agents.base import AgentResponse, turn_seed
from persona_arena.agents.litellm_env import litellm
from persona_arena.agents.local.provider import register as register_local_provider
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec

DEFAULT_MAX_TOKENS = 256


class AgentError(RuntimeError):
    """The agent could not produce a reply (after the provider's own retries)."""


class LLMAgent:
    def __init__(self, spec: AgentSpec, seed: int, *, num_retries: int = 2) -> None:
        if spec.kind == "local":
            register_local_provider()
        self.spec = spec
        self.seed = seed
        self.num_retries = 0 if spec.kind == "local" else num_retries

    def messages(self, observation: Observation) -> list[dict[str, str]]:
        # The persona (the spec's system prompt) comes first; the game's brief follows it.
        system = "\n\n".join(p for p in (self.spec.system_prompt, observation.instructions) if p)
        return [{"role": "system", "content": system},
                *({"role": m.role, "content": m.content} for m in observation.messages)]

    async def act(self, observation: Observation) -> AgentResponse:
        params: dict[str, Any] = {
            "model": self.spec.model,
            "messages": self.messages(observation),
            "max_tokens": self.spec.max_tokens or DEFAULT_MAX_TOKENS,
            "seed": self.spec.seed if self.spec.seed is not None
            else turn_seed(self.seed, observation.player, observation.turn_number),
            "num_retries": self.num_retries,
            "drop_params": True,  # e.g. Anthropic takes no seed: drop it rather than fail the turn
        }
        if self.spec.temperature is not None:
            params["temperature"] = self.spec.temperature
        if self.spec.api_base:
            params["api_base"] = self.spec.api_base
        if observation.reply_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": f"{observation.game}_{observation.turn}".replace("-", "_"),
                                "schema": observation.reply_schema, "strict": False},
            }
        try:
            response = await litellm.acompletion(**params)
        except Exception as err:  # provider errors of every kind end up as a forfeited turn
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise AgentError(f"{self.spec.model}: {type(err).__name__}: {first_line}"[:500]) from err
        text = response.choices[0].message.content or ""
        usage = response.usage.model_dump() if getattr(response, "usage", None) else {}
        return AgentResponse(text, {k: usage[k] for k in ("prompt_tokens", "completion_tokens") if k in usage})

    async def close(self) -> None:
        return None
