"""P4: the local adapter's generation speed (agent → litellm → our provider → llama.cpp, with
the per-model lock and the thread hop) against raw llama-cpp-python on the same prompts, in
the same process, greedy decoding so both generate the same tokens."""

from __future__ import annotations

import os
import time

from persona_arena.bench.figures import Figure
from persona_arena.core.observations import Message, Observation

QUESTIONS = (
    "Describe a rainy afternoon in a small harbour town.",
    "What do you remember about learning to ride a bicycle?",
    "Explain to a child why the sky looks blue.",
    "Tell me about a meal you would cook for old friends.",
    "What would you pack for a week of hiking in the mountains?",
    "Describe the sound of a busy train station in the morning.",
)
MODEL = "local/gemma-3-270m"


def _observation(question: str) -> Observation:
    return Observation(game="bench", player="p", role="candidate", turn="answer", turn_number=0,
                       instructions="Answer in your own voice, in a few sentences.",
                       messages=[Message(role="user", content=question)])


async def measure_local_adapter(prompts: int, max_tokens: int) -> Figure:
    from llama_cpp import Llama

    from persona_arena.agents.local.models import model_path, resolve
    from persona_arena.agents.local.runtime import _silence_llama_cpp, transcript_prompt
    from persona_arena.agents.registry import create_agent
    from persona_arena.core.specs import AgentSpec

    spec = AgentSpec.parse(f"{MODEL};temperature=0;max_tokens={max_tokens}")
    agent = create_agent(spec, 0)
    local = resolve(MODEL.removeprefix("local/"))
    _silence_llama_cpp()
    raw = Llama(model_path=str(model_path(local)), n_ctx=local.n_ctx,
                n_threads=int(os.environ.get("ARENA_LLAMA_THREADS", os.cpu_count() or 2)), verbose=False)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(prompts)]
    try:
        await agent.act(_observation("Hello."))  # loads the adapter's model outside the timing
        raw.create_completion(prompt="Hello.", max_tokens=4)
        adapter_tokens = raw_tokens = 0
        adapter_s = raw_s = 0.0
        for question in questions:  # interleaved, so machine noise hits both alike
            obs = _observation(question)
            started = time.perf_counter()
            response = await agent.act(obs)
            adapter_s += time.perf_counter() - started
            adapter_tokens += int((response.usage or {}).get("completion_tokens", 0))

            prompt, stops = transcript_prompt(agent.messages(obs))
            started = time.perf_counter()
            out = raw.create_completion(prompt=prompt, stop=stops, max_tokens=max_tokens, temperature=0)
            raw_s += time.perf_counter() - started
            raw_tokens += out["usage"]["completion_tokens"]
    finally:
        raw.close()
        await agent.close()
    return Figure.compare("P4", adapter_tokens / adapter_s, raw_tokens / raw_s, goal=0.95, unit="tokens/s",
                          model=MODEL, prompts=prompts, max_tokens=max_tokens,
                          adapter_tokens=adapter_tokens, raw_tokens=raw_tokens)
