"""Registers the local runtime with litellm as the custom provider `local`.

After `register()`, `litellm.acompletion(model="local/qwen2.5-0.5b", ...)` runs on llama.cpp.
A `response_format` with a JSON schema becomes grammar-constrained decoding.
"""

from __future__ import annotations

from typing import Any

from persona_arena.agents.litellm_env import litellm

from persona_arena.agents.local.runtime import RUNTIME

PROVIDER = "local"


def _schema_of(response_format: Any) -> dict | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        return response_format.get("json_schema", {}).get("schema") or {"type": "object"}
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {"type": "object"}
    return None


class LocalProvider(litellm.CustomLLM):
    async def acompletion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                          model_response: Any, print_verbose: Any, encoding: Any, api_key: Any,
                          logging_obj: Any, optional_params: dict, acompletion: Any = None,
                          litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                          timeout: Any = None, client: Any = None) -> Any:
        stop = optional_params.get("stop")
        done = await RUNTIME.complete(
            model,
            [{"role": m["role"], "content": m.get("content") or ""} for m in messages],
            schema=_schema_of(optional_params.get("response_format")),
            max_tokens=optional_params.get("max_tokens"),
            temperature=optional_params.get("temperature"),
            seed=optional_params.get("seed"),
            stop=[stop] if isinstance(stop, str) else stop,
        )
        model_response.choices[0].message.content = done.text
        model_response.choices[0].finish_reason = done.finish_reason
        model_response.model = f"{PROVIDER}/{model}"
        model_response.usage = litellm.Usage(
            prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
            total_tokens=done.prompt_tokens + done.completion_tokens,
        )
        return model_response


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        litellm.custom_provider_map = [
            *[p for p in litellm.custom_provider_map if p["provider"] != PROVIDER],
            {"provider": PROVIDER, "custom_handler": LocalProvider()},
        ]
        _registered = True
