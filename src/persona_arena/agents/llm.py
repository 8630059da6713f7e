"""LLM agents through litellm: any provider litellm knows, and `local/…` via our custom provider.

Structured replies (the observation has a `reply_schema`) take one of three routes:

* "tools": providers with function calling (and any `openai/<alias>` with an `api_base`, i.e.
  an OpenAI-compatible server) get one tool `reply` whose parameters are the schema, forced by
  `tool_choice`; the reply text is the tool call's arguments (or the message text when the
  model answered in text anyway).
* "json_schema": `local/…` gets a `response_format` (grammar-constrained decoding).
* "prompt": everything else gets the schema in its prompt; a reply that is not a JSON object
  gets ONE repair request (the bad reply goes back with the parse error).

The agent never checks a reply against the game's rules: the game does that.
Provider calls go through `agents.reliability` (the only retry layer: litellm's own retries
are off), with a per-call timeout and a per-endpoint adaptive concurrency limit. A reply's
`usage` has prompt_tokens, completion_tokens, cost_usd and attempts (provider calls made,
retries and the repair included).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from persona_arena.agents.cache import active_cache
from persona_arena.agents.base import AgentResponse, turn_seed
from persona_arena.agents.litellm_env import litellm
from persona_arena.agents.local.provider import register as register_local_provider
from persona_arena.agents.reliability import (
    AdaptiveLimiter, Attempts, CallFailed, ReliabilitySettings, call_with_retries, limiter_for,
)
from persona_arena.core.jsontext import NotAJsonObject, find_json_object
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec

DEFAULT_MAX_TOKENS = 256
TOOL_NAME = "reply"
StructuredMode = Literal["tools", "json_schema", "prompt"]


class AgentError(RuntimeError):
    """The agent could not produce a reply (after retries)."""


def provider_of(spec: AgentSpec) -> tuple[str, str]:
    """(litellm provider, model name without the provider prefix)."""
    if spec.kind == "local":
        return "local", spec.name
    try:
        model, provider, _, _ = litellm.get_llm_provider(spec.model, api_base=spec.api_base)
        return provider, model
    except Exception:  # unknown to litellm: the call itself will say so
        head, _, rest = spec.model.partition("/")
        return (head, rest) if rest else ("", spec.model)


def structured_mode(spec: AgentSpec) -> StructuredMode:
    """How this agent asks its model for a reply that follows a JSON Schema."""
    if spec.kind == "local":
        return "json_schema"
    provider, model = provider_of(spec)
    if provider == "openai" and spec.api_base:
        return "tools"  # an OpenAI-compatible server: the chat API has tools
    try:
        if litellm.supports_function_calling(model=model, custom_llm_provider=provider or None):
            return "tools"
    except Exception:
        pass
    return "prompt"


def json_object_problem(text: str) -> str | None:
    """None when `text` holds a JSON object (as games read it), else why not."""
    try:
        find_json_object(text)
    except NotAJsonObject as err:
        return err.detail
    return None


def schema_instruction(schema: dict[str, Any]) -> str:
    return ("Reply with one JSON object and nothing else: no prose, no code fence. "
            "It must match this JSON Schema:\n```json\n" + json.dumps(schema) + "\n```")


def repair_prompt(problem: str) -> str:
    return (f"That reply cannot be used: {problem}. Reply again with only the JSON object that "
            "matches the schema, nothing else.")


class LLMAgent:
    def __init__(self, spec: AgentSpec, seed: int, *, settings: ReliabilitySettings | None = None,
                 structured: StructuredMode | None = None) -> None:
        if spec.kind == "local":
            register_local_provider()
        self.spec = spec
        self.seed = seed
        self.settings = settings or ReliabilitySettings.from_env()
        self.provider, self.model_name = provider_of(spec)
        self.structured: StructuredMode = structured or structured_mode(spec)
        # Local models are serialized by their runtime and fail for reasons retries do not fix.
        self.is_local = spec.kind == "local"
        self.limiter: AdaptiveLimiter | None = None if self.is_local else \
            limiter_for((self.provider, spec.api_base or ""), self.settings)

    def messages(self, observation: Observation) -> list[dict[str, str]]:
        # The persona (the spec's system prompt) comes first; the game's brief follows it.
        parts = [self.spec.system_prompt, observation.instructions]
        if observation.reply_schema is not None and self.structured == "prompt":
            parts.append(schema_instruction(observation.reply_schema))
        system = "\n\n".join(p for p in parts if p)
        return [{"role": "system", "content": system},
                *({"role": m.role, "content": m.content} for m in observation.messages)]

    def params(self, observation: Observation) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.spec.model,
            "messages": self.messages(observation),
            "max_tokens": self.spec.max_tokens or DEFAULT_MAX_TOKENS,
            "seed": self.spec.seed if self.spec.seed is not None
            else turn_seed(self.seed, observation.player, observation.turn_number),
            "num_retries": 0,  # reliability.call_with_retries is the only retry layer
            "drop_params": True,  # e.g. Anthropic takes no seed: drop it rather than fail the turn
        }
        if not self.is_local:
            params["timeout"] = self.settings.timeout
        if self.spec.temperature is not None:
            params["temperature"] = self.spec.temperature
        if self.spec.api_base:
            params["api_base"] = self.spec.api_base
        schema = observation.reply_schema
        if schema is None:
            return params
        if self.structured == "tools":
            params["tools"] = [{"type": "function", "function": {
                "name": TOOL_NAME, "description": "Your reply, as the game asks for it.", "parameters": schema}}]
            params["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
            # litellm 1.106 imports its MCP gateway (and the optional `mcp` package) for any
            # request with tools unless told not to; we never pass MCP tools.
            params["_skip_mcp_handler"] = True
        elif self.structured == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": f"{observation.game}_{observation.turn}".replace("-", "_"),
                                "schema": schema, "strict": False},
            }
        return params

    async def act(self, observation: Observation) -> AgentResponse:
        params = self.params(observation)
        cache = active_cache()
        if cache is None:
            return await self._act(observation, params)
        key = cache.key(params)
        hit = cache.get(key)
        if hit is not None:
            return AgentResponse(*hit)
        response = await self._act(observation, params)  # failures raise and are not cached
        cache.put(key, response.text, response.usage)
        return response

    async def _act(self, observation: Observation, params: dict[str, Any]) -> AgentResponse:
        attempts = Attempts()
        usage: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        try:
            response = await self._complete(params, attempts)
        except CallFailed as err:
            raise AgentError(f"{self.spec.model}: {err}") from err.error
        self._account(response, usage)
        text = self._text(response)
        if observation.reply_schema is not None and self.structured == "prompt":
            problem = json_object_problem(text)
            if problem is not None:
                repair = {**params, "messages": [*params["messages"], {"role": "assistant", "content": text},
                                                 {"role": "user", "content": repair_prompt(problem)}]}
                try:
                    response = await self._complete(repair, attempts)
                except CallFailed:
                    pass  # the game gets the first reply and records why it is unusable
                else:
                    self._account(response, usage)
                    text = self._text(response)
        usage["attempts"] = attempts.count
        usage["cost_usd"] = round(usage["cost_usd"], 8)
        return AgentResponse(text, usage)

    async def _complete(self, params: dict[str, Any], attempts: Attempts) -> Any:
        timeout = self.settings.timeout
        return await call_with_retries(
            lambda: litellm.acompletion(**params), settings=self.settings, limiter=self.limiter,
            attempts=attempts, max_attempts=1 if self.is_local else None,
            # a guard for providers that ignore litellm's timeout
            guard_timeout=None if self.is_local else timeout + max(1.0, timeout / 4),
        )

    @staticmethod
    def _text(response: Any) -> str:
        message = response.choices[0].message
        for call in getattr(message, "tool_calls", None) or []:
            function = getattr(call, "function", None)
            if function is not None and function.arguments is not None:
                return function.arguments
        return message.content or ""

    def _account(self, response: Any, usage: dict[str, Any]) -> None:
        counted = getattr(response, "usage", None)
        for key in ("prompt_tokens", "completion_tokens"):
            value = getattr(counted, key, None) if counted is not None else None
            if isinstance(value, int):
                usage[key] += value
        usage["cost_usd"] += self._cost(response)

    def _cost(self, response: Any) -> float:
        if self.is_local:
            return 0.0
        hidden = getattr(response, "_hidden_params", None)
        if isinstance(hidden, dict) and "response_cost" in hidden:
            cost = hidden["response_cost"]  # litellm priced the reply already (None: no cost data)
        else:
            try:  # raises for models without cost data (aliases on private servers, unknown models)
                cost = litellm.completion_cost(completion_response=response)
            except Exception:
                return 0.0
        return float(cost) if isinstance(cost, (int, float)) and cost >= 0 else 0.0

    async def close(self) -> None:
        return None
