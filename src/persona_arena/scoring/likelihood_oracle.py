"""The likelihood oracle of the reverse Turing test.

For a judge whose weights are local, every candidate reply is scored by its mean token
log-likelihood under the judge's own model, given the context that reply was written in (the
candidate's brief and conversation up to it, behind the judge's persona, exactly as an agent
of the judge's spec would have been prompted). The oracle picks the candidate whose replies
are most likely. Set beside the judge's verbal pick on the same games, the difference in
accuracy measures how much of what the model "knows" about its own output distribution it
can access and report (the introspection gap; see `scoring.rtt_analysis.oracle_comparison`).

The model is the one the local runtime has loaded (one instance per model, shared with the
agents) and is used under that model's lock. llama.cpp's public API returns logits only for
the last token unless a model is loaded with `logits_all=True`, which would need a second copy
of it; so the reply tokens are decoded here in small batches that ask for every token's
logits (llama-cpp-python's batch and context objects; pinned to <0.4 in pyproject.toml).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from persona_arena.core.events import Event
from persona_arena.core.specs import AgentSpec, SpecError
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import candidate_view
from persona_arena.games.reverse_turing.prompts import NO_REPLY

LOGIT_CHUNK = 32  # tokens decoded per batch with every logit kept: 32 × vocabulary floats at once
CONTEXT_MARGIN = 8
# Part of the cache key: what decides the numbers besides the model and the text (the batch
# shape changes the last digits: llama.cpp's quantized kernels round differently).
ORACLE_METHOD = f"token-logprobs@1/chunk={LOGIT_CHUNK}/margin={CONTEXT_MARGIN}"


@dataclass(frozen=True)
class ScoredReply:
    nickname: str
    round: int
    tokens: int
    logprob_sum: float


def token_logprobs(model_name: str, messages: list[dict[str, str]], reply: str) -> list[float]:
    """log p(token | everything before it) for each token of `reply`, which follows the chat
    `messages` as the assistant's turn, under the local model `model_name`. From the active
    response cache when it has them (a hit does not even load the model)."""
    from persona_arena.agents.cache import active_cache

    cache = active_cache()
    if cache is None:
        return _token_logprobs(model_name, messages, reply)
    key = cache.content_key({"oracle": ORACLE_METHOD, "model": _model_identity(model_name),
                             "messages": messages, "reply": reply})
    logprobs = cache.get_logprobs(key)
    if logprobs is None:
        logprobs = _token_logprobs(model_name, messages, reply)
        cache.put_logprobs(key, logprobs)
    return logprobs


def _model_identity(model_name: str) -> str:
    """What the weights are: a shipped model's pinned checksum, else the file's path, size and time."""
    from persona_arena.agents.local.models import chunk_paths, resolve

    model = resolve(model_name)
    if model.sha256 is not None:
        return model.sha256
    path = chunk_paths(model)[0]
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _token_logprobs(model_name: str, messages: list[dict[str, str]], reply: str) -> list[float]:
    from persona_arena.agents.local.runtime import RUNTIME, transcript_prompt

    loaded = RUNTIME._get(model_name)  # the runtime's shared instance (loaded once per process)
    llama = loaded.llama
    with loaded.lock:
        if loaded.prompt_mode == "chat":
            prompt = _chat_prompt(llama, messages)
            reply_tokens = llama.tokenize(reply.encode(), add_bos=False, special=False)
        else:
            text, _ = transcript_prompt(messages)
            prompt = llama.tokenize(text.encode(), add_bos=True, special=True)
            # The transcript ends on "Assistant:"; the model's reply followed after a space.
            reply_tokens = llama.tokenize((" " + reply).encode(), add_bos=False, special=False)
        if not reply_tokens:
            return []
        budget = llama.n_ctx() - CONTEXT_MARGIN - len(reply_tokens)
        if budget < 1:
            reply_tokens = reply_tokens[: llama.n_ctx() // 2]
            budget = llama.n_ctx() - CONTEXT_MARGIN - len(reply_tokens)
        if len(prompt) > budget:
            # Keep the start (system text, template header) and the most recent turns.
            head = min(64, budget // 2)
            prompt = prompt[:head] + prompt[len(prompt) - (budget - head):]
        try:
            return _decode_logprobs(llama, prompt, reply_tokens)
        finally:
            llama.reset()  # the next generation re-evaluates its prompt from scratch


def _chat_prompt(llama: Any, messages: list[dict[str, str]]) -> list[int]:
    """The prompt tokens llama-cpp-python's chat completion would build from the GGUF's template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos_id, bos_id = llama.token_eos(), llama.token_bos()
    formatter = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=llama.detokenize([eos_id], special=True).decode(errors="replace") if eos_id != -1 else "",
        bos_token=llama.detokenize([bos_id], special=True).decode(errors="replace") if bos_id != -1 else "",
        stop_token_ids=[eos_id])
    result = formatter(messages=messages)
    return llama.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)


def _decode_logprobs(llama: Any, prompt: list[int], reply: list[int]) -> list[float]:
    llama.reset()
    llama.eval(prompt[:-1])  # the context: only the KV cache is needed
    inputs = [prompt[-1], *reply[:-1]]  # the token at position k predicts reply token k
    n_vocab = llama.n_vocab()
    logprobs: list[float] = []
    for start in range(0, len(inputs), LOGIT_CHUNK):
        chunk = inputs[start:start + LOGIT_CHUNK]
        n_past = llama.n_tokens
        llama._batch.set_batch(batch=chunk, n_past=n_past, logits_all=True)
        llama._ctx.decode(llama._batch)
        llama.input_ids[n_past:n_past + len(chunk)] = chunk
        llama.n_tokens += len(chunk)
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(len(chunk) * n_vocab,))
        rows = logits.reshape(len(chunk), n_vocab).astype(np.float64)
        peak = rows.max(axis=1)
        log_norm = peak + np.log(np.exp(rows - peak[:, None]).sum(axis=1))
        targets = reply[start:start + len(chunk)]
        logprobs += (rows[np.arange(len(chunk)), targets] - log_norm).tolist()
    return logprobs


def _judge_spec(setup: dict[str, Any]) -> AgentSpec | None:
    config = setup.get("config") or {}
    judge = config.get("judge")
    try:
        if isinstance(judge, dict):
            return AgentSpec.model_validate(judge)
        return AgentSpec.parse(setup["judge"])
    except (SpecError, ValueError):
        return None


def _view_config(setup: dict[str, Any], judge: AgentSpec) -> ReverseTuringConfig:
    """The config the candidates' briefs were made from; imported games get the plain brief
    (or the group-chat one), since their own prompts are not known."""
    config = setup.get("config") or {}
    if "imported" not in config:
        try:
            return ReverseTuringConfig.model_validate(config)
        except ValueError:
            pass
    return ReverseTuringConfig(judge=judge, foils=[AgentSpec(model="scripted")],
                               group_chat=bool(config.get("group_chat")))


def score_session(events: Sequence[Event]) -> dict[str, Any]:
    """The oracle's result for one finished session: per-candidate mean log-likelihoods and
    its pick, or `pick: null` with the reason it could not score the game."""
    setup = next(e.payload for e in events if e.type == "game.setup")
    judge = _judge_spec(setup)
    if judge is None or judge.kind != "local":
        return {"pick": None, "reason": "the judge's weights are not local"}
    config = _view_config(setup, judge)
    originals = {(e.payload["round"], e.payload["player"]): e.payload["original"]
                 for e in events if e.type == "censor.masked"}
    nickname_of = {c["player"]: c["nickname"] for c in setup["candidates"]}
    scored: list[ScoredReply] = []
    for i, event in enumerate(events):
        if event.type != "candidate.reply" or event.payload["text"] == NO_REPLY:
            continue
        player, round_no = event.actor, event.payload["round"]
        text = originals.get((round_no, player), event.payload["text"])
        visible = [e for e in events[:i] if e.visible_for(player)]
        instructions, history = candidate_view(config, nickname_of[player], player, visible)
        system = "\n\n".join(p for p in (judge.system_prompt, instructions) if p)
        messages = [{"role": "system", "content": system}, *({"role": m.role, "content": m.content} for m in history)]
        logprobs = token_logprobs(judge.name, messages, text)
        if logprobs:
            scored.append(ScoredReply(nickname_of[player], round_no, len(logprobs), sum(logprobs)))
    per_candidate: dict[str, dict[str, Any]] = {}
    for s in scored:
        entry = per_candidate.setdefault(s.nickname, {"replies": 0, "tokens": 0, "logprob_sum": 0.0})
        entry["replies"] += 1
        entry["tokens"] += s.tokens
        entry["logprob_sum"] += s.logprob_sum
    for entry in per_candidate.values():
        entry["mean_logprob"] = entry["logprob_sum"] / entry["tokens"]
    if not per_candidate:
        return {"pick": None, "reason": "no candidate reply to score", "model": judge.model, "scores": {}}
    ranked = sorted(per_candidate.items(), key=lambda kv: -kv[1]["mean_logprob"])
    tie = len(ranked) > 1 and math.isclose(ranked[0][1]["mean_logprob"], ranked[1][1]["mean_logprob"],
                                           rel_tol=0, abs_tol=1e-9)
    return {"pick": None if tie else ranked[0][0], "reason": "tie" if tie else None, "model": judge.model,
            "scores": per_candidate}


def score_run(sessions: dict[str, Sequence[Event]]) -> dict[str, dict[str, Any]]:
    """The oracle's results by session id, for finished reverse-turing sessions."""
    results = {}
    for session_id, events in sessions.items():
        if any(e.type == "game.outcome" for e in events) and \
                next((e.payload.get("game") for e in events if e.type == "game.setup"), None) == "reverse-turing":
            results[session_id] = score_session(events)
    return results
