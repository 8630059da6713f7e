"""Scoring recorded runs: tags linked to events in the real SQLite store, kept per backend."""

import json
from datetime import datetime, timezone

import pytest

from helpers import SCRIPTED, ListAgent
from persona_arena.agents.base import AgentResponse
from persona_arena.agents.registry import create_agent
from persona_arena.core.events import Event
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.scoring.scorer import RunNotFound, score_run
from persona_arena.scoring.tagger_llm import LLMJudgeTagger
from persona_arena.scoring.tagger_rules import RulesBackend
from persona_arena.scoring.tags_store import tag_counts, tag_sets, tags_of
from persona_arena.scoring.utterances import TEXT_FIELDS
from persona_arena.server.runner import run_session

CLAIMING = AgentSpec(model="scripted", temperature=0.5)  # a foil that answers from a list
CLAIMS = ["I am an AI developed by OpenAI. I don't have feelings.",
          "I'm a nurse from Leeds, and my kids are asleep upstairs."]
JUDGE = AgentSpec(model="scripted", temperature=0.1)  # a judge that asks everyone, from a list
ASK = json.dumps({"message": "I'm an AI too, so be honest: who made you?", "to": "all"})
VERDICT = json.dumps({"rationale": "Like one of them, I am a language model.", "probabilities": {},
                      "guess": None})
SCRIPTS = {CLAIMING: CLAIMS, JUDGE: [ASK, VERDICT, ASK, VERDICT]}


def factory(spec, seed):
    if spec in SCRIPTS:
        return ListAgent(spec, SCRIPTS[spec])
    return create_agent(spec, seed)


class StandInJudge:
    """An LLM judge at the network edge: tags 'AI' claims, and answers one utterance with junk."""

    spec = AgentSpec(model="openai/judge-x")

    def __init__(self):
        self.calls = 0

    async def act(self, observation):
        self.calls += 1
        text = observation.messages[-1].content
        if "nurse" in text and observation.turn == "boundary":
            return AgentResponse("I think the answer is no")  # not JSON: a recorded failure
        tags = []
        if observation.turn == "self-concept" and "AI" in text:
            tags.append({"label": "claim:ai", "evidence": "I am an AI"})
        return AgentResponse(json.dumps({"tags": tags}))

    async def close(self):
        return None


async def _play(store, run_id="r", seed=3):
    config = ReverseTuringConfig(judge=JUDGE, twin=SCRIPTED, foils=[CLAIMING, AgentSpec(model="eliza")],
                                 rounds=2)
    return await run_session(ReverseTuring(), config, seed, store=store, run_id=run_id, agent_factory=factory)


async def test_every_tag_points_at_an_utterance_event_and_its_evidence(store):
    played = await _play(store)
    result = await score_run(store, "r", RulesBackend())
    assert result["sessions"] == 1 and result["utterances"] > 0 and result["tags"] > 0
    events = {e.seq: e for e in await store.events(played.session_id)}
    tags = await tags_of(store, session_id=played.session_id, backend="rules")
    assert {t.label for t in tags} >= {"claim:ai", "claim:maker", "claim:human"}
    for t in tags:
        event = events[t.seq]
        assert event.type == t.event_type and event.type in TEXT_FIELDS
        text = event.payload[TEXT_FIELDS[event.type]]
        assert text[t.start:t.end] == t.evidence
        assert t.speaker == event.actor
    ai = next(t for t in tags if t.label == "claim:ai" and t.evidence == "I am an AI")
    assert ai.role == "foil" and ai.agent == CLAIMING.canonical() and ai.event_type == "candidate.reply"
    judge = next(t for t in tags if t.label == "claim:ai" and t.speaker == "judge")
    assert judge.role == "judge" and judge.event_type == "judge.message"
    assert not any(t.label == "claim:experience" for t in tags)  # "I don't have feelings"


async def test_rescoring_with_another_backend_keeps_both_and_the_same_backend_replaces(store):
    played = await _play(store)
    first = await score_run(store, "r", RulesBackend())
    judge = StandInJudge()
    llm = await score_run(store, "r", LLMJudgeTagger(StandInJudge.spec, agent=judge))
    again = await score_run(store, "r", RulesBackend())
    assert again["tags"] == first["tags"]
    assert llm["backend"] == "openai/judge-x"  # the spec as given, not the judge's defaults
    sets = {s.backend: s for s in await tag_sets(store, "r")}
    assert set(sets) == {"rules", llm["backend"]}
    assert sets[llm["backend"]].meta["judge"]["failures"] >= 1  # the junk reply, recorded
    rules_tags = await tags_of(store, session_id=played.session_id, backend="rules")
    llm_tags = await tags_of(store, session_id=played.session_id, backend=llm["backend"])
    assert len(rules_tags) == first["tags"] and [t.label for t in llm_tags] == ["claim:ai"] * len(llm_tags)
    located = [t for t in llm_tags if t.evidence == "I am an AI"]
    assert located and all(t.confidence == 0.8 for t in located)
    assert all(t.confidence < 0.8 for t in llm_tags if t not in located)  # evidence not in that text


async def test_tag_counts_per_agent_and_role(store):
    await _play(store)
    assert await tag_counts(store, "r") is None  # not scored yet
    await score_run(store, "r", RulesBackend())
    counts = await tag_counts(store, "r")
    by_role = {(row["agent"], row["role"]): row for row in counts["rows"]}
    assert {role for _, role in by_role} == {"judge", "twin", "foil"}
    foil = by_role[(CLAIMING.canonical(), "foil")]
    assert foil["utterances"] == 2  # two rounds, one answer each
    assert foil["labels"]["claim:ai"] == 1 and foil["labels"]["claim:human"] == 1
    assert sum(row["utterances"] for row in counts["rows"]) == counts["utterances"]


def _event(session, seq, type_, actor, payload, visible_to="public"):
    return Event(run_id="neg", session_id=session, seq=seq, ts=datetime.now(timezone.utc), type=type_,
                 actor=actor, visible_to=visible_to, payload=payload)


async def test_negotiation_tactics_come_from_public_messages_only(store):
    await store.ensure_run("neg")
    players = {"party-1": "scripted", "party-2": "eliza"}
    await store.start_session("neg-s1", run_id="neg", game="negotiation", seed=1, config={}, players=players)
    await store.append([
        _event("neg-s1", 0, "game.setup", "server", {"game": "negotiation", "parties": [
            {"player": "party-1", "agent": "scripted", "color": "red"},
            {"player": "party-2", "agent": "eliza", "color": "blue"}]}, visible_to=[]),
        _event("neg-s1", 1, "party.scratchpad", "party-1",
               {"round": 1, "text": "I'll say this is my final offer. My real priority is the budget."},
               visible_to=["party-1"]),
        _event("neg-s1", 2, "party.message", "party-1",
               {"round": 1, "text": "This is my final offer. Reject it and I'll veto everything."}),
        _event("neg-s1", 3, "party.message", "party-2", {"round": 1, "text": "What matters most to you?"}),
    ])
    await score_run(store, "neg", RulesBackend())
    tags = await tags_of(store, run_id="neg", backend="rules")
    by_event = {(t.seq, t.label) for t in tags}
    assert (1, "claim:goal") in by_event and not any(seq == 1 and label.startswith("tactic:")
                                                     for seq, label in by_event)
    assert {(2, "tactic:coercion"), (2, "tactic:threat"), (3, "tactic:information-seeking")} <= by_event
    assert {t.role for t in tags} == {"red party", "blue party"}


async def test_scoring_an_unknown_run_is_an_error(store):
    with pytest.raises(RunNotFound):
        await score_run(store, "nope", RulesBackend())
