"""P4: the local adapter's generation speed (agent → litellm → our provider → llama.cpp, with
the per-model lock and the thread hop) against raw llama-cpp-python on the same prompts: direct
calls on the very model object the adapter plays, in the same process, greedy decoding so both
generate the same tokens, each call from an empty cache so both pay the same prompt work."""

from __future__ import annotations

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
    from persona_arena.agents.local.runtime import RUNTIME, transcript_prompt
    from persona_arena.agents.registry import create_agent
    from persona_arena.core.specs import AgentSpec

    spec = AgentSpec.parse(f"{MODEL};temperature=0;max_tokens={max_tokens}")
    agent = create_agent(spec, 0)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(prompts)]
    try:
        await agent.act(_observation("Hello."))  # loads the model outside the timing
        # The same object, so the two sides differ only by the path to it, not by two copies
        # of the model placed differently in memory.
        raw = RUNTIME.llama(MODEL.removeprefix("local/"))
        chat = RUNTIME.prompt_mode(MODEL.removeprefix("local/")) == "chat"
        adapter_tokens = raw_tokens = 0
        adapter_s = raw_s = 0.0

        async def through_adapter(obs: Observation) -> None:
            nonlocal adapter_tokens, adapter_s
            raw.reset()  # no prompt prefix kept from the call before: full prompt work each time
            started = time.perf_counter()
            response = await agent.act(obs)
            adapter_s += time.perf_counter() - started
            adapter_tokens += int((response.usage or {}).get("completion_tokens", 0))

        def raw_llama(obs: Observation) -> None:
            # the same call the adapter's runtime makes for this model: its chat template, or a
            # plain transcript for a base model
            nonlocal raw_tokens, raw_s
            messages = agent.messages(obs)
            raw.reset()
            started = time.perf_counter()
            if chat:
                out = raw.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0)
            else:
                prompt, stops = transcript_prompt(messages)
                out = raw.create_completion(prompt=prompt, stop=stops, max_tokens=max_tokens, temperature=0)
            raw_s += time.perf_counter() - started
            raw_tokens += out["usage"]["completion_tokens"]

        # Interleaved, so machine noise hits both alike, and in turns (adapter first, then raw
        # first), so neither always runs on a machine the other has just warmed.
        for i, question in enumerate(questions):
            obs = _observation(question)
            if i % 2 == 0:
                await through_adapter(obs)
                raw_llama(obs)
            else:
                raw_llama(obs)
                await through_adapter(obs)
    finally:
        await agent.close()
    return Figure.compare("P4", adapter_tokens / adapter_s, raw_tokens / raw_s, goal=0.95, unit="tokens/s",
                          model=MODEL, prompts=prompts, max_tokens=max_tokens,
                          prompt_mode="chat" if chat else "completion", adapter_tokens=adapter_tokens,
                          raw_tokens=raw_tokens)
