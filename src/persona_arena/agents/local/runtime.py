"""Loaded llama.cpp models: one instance per model, calls serialized and run off the event loop.

A `Llama` instance is not thread-safe, so every call on it holds that model's lock; the
blocking call runs in a worker thread. A cancelled call (a turn timeout) stops generating at
the next token instead of holding the model until `max_tokens`.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import functools
import json
import os
import threading
from dataclasses import dataclass
from typing import Any

from persona_arena.agents.local.models import LocalModel, model_path, resolve

DEFAULT_MAX_TOKENS = 256


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


@functools.cache
def _silence_llama_cpp() -> None:
    """llama.cpp writes diagnostics to stderr even with verbose=False; they would break the
    progress bar and tables. ARENA_LLAMA_LOG=1 keeps them."""
    if os.environ.get("ARENA_LLAMA_LOG"):
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _drop(_level: int, _text: bytes, _user_data: ctypes.c_void_p) -> None:
        return None

    _silence_llama_cpp.callback = _drop  # type: ignore[attr-defined]  # must outlive the C side
    llama_cpp.llama_log_set(_drop, ctypes.c_void_p(0))


class _Loaded:
    def __init__(self, model: LocalModel) -> None:
        from llama_cpp import Llama  # heavy import, only when a local model is used

        _silence_llama_cpp()
        self.model = model
        self.lock = threading.Lock()
        self.llama = Llama(
            model_path=str(model_path(model)),
            n_ctx=model.n_ctx,
            n_threads=int(os.environ.get("ARENA_LLAMA_THREADS", os.cpu_count() or 2)),
            verbose=False,
        )
        self.prompt_mode = model.prompt_mode
        if self.prompt_mode == "auto":  # a file without a chat template is a base model
            self.prompt_mode = "chat" if "tokenizer.chat_template" in self.llama.metadata else "completion"


class LocalRuntime:
    def __init__(self) -> None:
        self._loaded: dict[str, _Loaded] = {}
        self._load_lock = threading.Lock()

    def close(self) -> None:
        """Frees the models before interpreter shutdown (llama.cpp's finalizers fail after it)."""
        with self._load_lock:
            for loaded in self._loaded.values():
                loaded.llama.close()
            self._loaded.clear()

    def _get(self, name: str) -> _Loaded:
        with self._load_lock:
            if name not in self._loaded:
                self._loaded[name] = _Loaded(resolve(name))
            return self._loaded[name]

    def llama(self, name: str) -> Any:
        """The llama-cpp-python model this runtime plays `name` with (loaded on first use): what
        `arena bench` P4 calls directly as the adapter's raw baseline."""
        return self._get(name).llama

    def prompt_mode(self, name: str) -> str:
        """"chat" (the file's chat template) or "completion" (a plain transcript)."""
        return self._get(name).prompt_mode

    async def complete(self, name: str, messages: list[dict[str, str]], *, schema: dict | None,
                       max_tokens: int | None, temperature: float | None, seed: int | None,
                       stop: list[str] | None = None) -> Completion:
        abort = threading.Event()
        task = asyncio.to_thread(self._complete_blocking, name, messages, schema,
                                 max_tokens or DEFAULT_MAX_TOKENS, temperature, seed, stop or [], abort)
        try:
            return await task
        except asyncio.CancelledError:
            abort.set()
            raise

    def _complete_blocking(self, name: str, messages: list[dict[str, str]], schema: dict | None,
                           max_tokens: int, temperature: float | None, seed: int | None,
                           stop: list[str], abort: threading.Event) -> Completion:
        from llama_cpp import LlamaGrammar, StoppingCriteriaList

        loaded = self._get(name)
        grammar = LlamaGrammar.from_json_schema(json.dumps(grammar_schema(schema)), verbose=False) if schema else None
        params: dict[str, Any] = {"max_tokens": max_tokens, "grammar": grammar}
        if temperature is not None:
            params["temperature"] = temperature
        if seed is not None:
            params["seed"] = seed
        with loaded.lock:
            if abort.is_set():
                raise asyncio.CancelledError
            messages = self._fit(loaded, messages, max_tokens)
            if loaded.prompt_mode == "chat":
                out = loaded.llama.create_chat_completion(messages=messages, stop=stop, **params)
                text = out["choices"][0]["message"]["content"] or ""
            else:
                prompt, stops = transcript_prompt(messages)
                # Only plain completion takes stopping criteria: a cancelled turn ends here at
                # the next token; a chat completion runs to max_tokens at worst.
                out = loaded.llama.create_completion(
                    prompt=prompt, stop=[*stops, *stop],
                    stopping_criteria=StoppingCriteriaList([lambda _ids, _logits: abort.is_set()]),
                    **params)
                text = out["choices"][0]["text"]
        usage = out.get("usage") or {}
        return Completion(text=text.strip(), prompt_tokens=usage.get("prompt_tokens", 0),
                          completion_tokens=usage.get("completion_tokens", 0),
                          finish_reason=out["choices"][0].get("finish_reason") or "stop")

    @staticmethod
    def _fit(loaded: _Loaded, messages: list[dict[str, str]], max_tokens: int) -> list[dict[str, str]]:
        """Drops the oldest turns (never the system message or the last one) to fit the context."""
        budget = loaded.model.n_ctx - max_tokens - 64  # room for template tokens

        def size(msgs: list[dict[str, str]]) -> int:
            text = "\n".join(m["content"] for m in msgs)
            return len(loaded.llama.tokenize(text.encode(), add_bos=False))

        msgs = list(messages)
        first = 1 if msgs and msgs[0]["role"] == "system" else 0
        while len(msgs) - first > 1 and size(msgs) > budget:
            del msgs[first]
        return msgs


USER_LABEL, ASSISTANT_LABEL = "User", "Assistant"


# llama.cpp expands a string's maxLength into that many nested optional rules; past a few
# hundred it refuses the grammar (and can crash). Longer limits are lowered to this: still a
# bound (so a small model cannot ramble until max_tokens cuts its JSON) and within the game's.
MAX_GRAMMAR_STRING_LENGTH = 400


def grammar_schema(schema: Any) -> Any:
    """The schema for grammar-constrained decoding: string limits capped, the rest kept."""
    if isinstance(schema, dict):
        out = {k: grammar_schema(v) for k, v in schema.items()}
        if out.get("type") == "string" and out.get("maxLength", 0) > MAX_GRAMMAR_STRING_LENGTH:
            out["maxLength"] = MAX_GRAMMAR_STRING_LENGTH
        return out
    if isinstance(schema, list):
        return [grammar_schema(v) for v in schema]
    return schema


def transcript_prompt(messages: list[dict[str, str]]) -> tuple[str, list[str]]:
    """Renders a chat as a plain transcript for base models, ending on the assistant's cue."""
    parts: list[str] = []
    for m in messages:
        if m["role"] == "system":
            parts.append(m["content"].strip() + "\n")
        else:
            label = USER_LABEL if m["role"] == "user" else ASSISTANT_LABEL
            parts.append(f"{label}: {m['content'].strip()}")
    parts.append(f"{ASSISTANT_LABEL}:")
    return "\n".join(parts), [f"\n{USER_LABEL}:", f"\n{ASSISTANT_LABEL}:"]


RUNTIME = LocalRuntime()
atexit.register(RUNTIME.close)
