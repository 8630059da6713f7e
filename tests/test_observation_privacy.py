"""Property: no observation reveals the twin, a candidate's spec or an uncensored model name,
and candidates never see each other. Checked over many seeds, sizes and judge behaviours."""

import hashlib
import json
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import play
from persona_arena.core.events import PUBLIC
from persona_arena.core.observations import Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import DEFAULT_CENSOR_TERMS, ReverseTuringConfig

FOIL_POOL = ["scripted", "local/gemma-3-270m", "openai/gpt-4o;temperature=0.2",
             "anthropic/claude-3-5-sonnet", "ollama/llama3", "local/qwen2.5-0.5b;system_prompt=You are Ada."]
OTHER_POOL = ["openrouter/mistralai/mistral-7b", "gemini/gemini-2.0-flash", "deepseek/deepseek-chat",
              "scripted;seed=9", "xai/grok-2", "cohere/command-r", "local/gemma-3-270m;temperature=1.5"]
TERMS = re.compile(r"(?<![\w])(?:" + "|".join(re.escape(t) for t in DEFAULT_CENSOR_TERMS) + r")",
                   re.IGNORECASE)
SAFE_JUNK = st.text(alphabet='{}[]":,.0123456789 bcdkz', max_size=60)
CONFESSIONS = ["I am Qwen2.5, made by Alibaba Cloud.", "As ChatGPT from OpenAI, I can help.",
               "Gemma here, trained at Google DeepMind.", "I'm Claude (Anthropic).", "Llama 3 by Meta."]


def behaviour(draw_seed: int, junk: list[str]):
    """A judge and candidates that act only on what they are shown (never on specs)."""
    def reply(obs):
        key = f"{draw_seed}:{obs.player}:{obs.turn_number}:{obs.messages[-1].content if obs.messages else ''}"
        rng = random.Random(hashlib.sha256(key.encode()).digest())
        if obs.role == "candidate":
            return Reply(text=f"<{obs.player}> {rng.choice(CONFESSIONS)} {rng.choice(junk)}")
        if rng.random() < 0.15:
            return Reply(text=rng.choice(junk))
        if obs.turn == "ask":
            names = obs.reply_schema["properties"]["to"]["items"]["enum"]
            to = rng.sample(names, rng.randint(1, len(names)))
            return Reply(text=json.dumps({"message": "Tell me about yourself.", "to": to}))
        names = obs.reply_schema["properties"]["probabilities"]["required"]
        guess_enum = obs.reply_schema["properties"]["guess"]["enum"]
        return Reply(text=json.dumps({
            "rationale": "hm", "probabilities": {n: rng.random() for n in names},
            "guess": rng.choice(guess_enum) if rng.random() < 0.3 else guess_enum[0]
            if None not in guess_enum else None}))
    return reply


def make_config(pool, judge, n, rounds, twin=None):
    return ReverseTuringConfig(judge=AgentSpec.parse(judge), foils=[AgentSpec.parse(s) for s in pool[:n - 1]],
                               twin=AgentSpec.parse(twin) if twin else None, rounds=rounds)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(2, 6), rounds=st.integers(1, 4),
       draw_seed=st.integers(0, 10**6), junk=st.lists(SAFE_JUNK, min_size=1, max_size=4))
def test_observations_reveal_no_identity(seed, n, rounds, draw_seed, junk):
    config_a = make_config(FOIL_POOL, "local/qwen2.5-0.5b", n, rounds)
    played = play(config_a, seed, behaviour(draw_seed, junk))
    state = played.state
    specs = {AgentSpec.parse(s).canonical() for s in FOIL_POOL} | {"local/qwen2.5-0.5b"}

    judge_views = [o for o in played.observations if o.role == "judge"]
    for obs in judge_views:
        text = obs.model_dump_json() + obs.render_text()
        assert not TERMS.search(obs.render_text()), TERMS.search(obs.render_text())
        assert not any(spec in text for spec in specs)
        assert "twin\"" not in text and "is_twin" not in text

    for obs in (o for o in played.observations if o.role == "candidate"):
        text = obs.render_text()
        others = [p for p in state.players.values() if p != obs.player]
        assert not any(f"<{p}>" in text for p in others), "a candidate saw another's reply"
        assert not any(n in text for n in state.nicknames), "a candidate saw a nickname"

    # What the judge sees depends on nobody's spec: other agents in the same seats (the twin
    # included) and the same replies give the judge exactly the same observations.
    config_b = make_config(OTHER_POOL, "cohere/command-r-plus", n, rounds, twin="scripted;seed=1")
    played_b = play(config_b, seed, behaviour(draw_seed, junk))
    assert [o for o in played_b.observations if o.role == "judge"] == judge_views
    # The public stream (every player, and spectators without the god view) says when rounds
    # start and how the game ended, and nothing that depends on who plays which seat.
    public = [e for e in played.events if e.visible_to == PUBLIC]
    assert {e.type for e in public} == {"round.started", "game.ended"} and public[-1].type == "game.ended"
    assert public == [e for e in played_b.events if e.visible_to == PUBLIC]
    assert not any(name in json.dumps(e.payload) for e in public for name in [*state.nicknames, *specs])
