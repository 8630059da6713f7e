"""Rules of the reverse-turing engine, driven without the runner."""

import json
from collections import Counter

import pytest
from pydantic import ValidationError

from helpers import SCRIPTED, config, play
from persona_arena.core.observations import Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig


def ask_all(obs):
    names = obs.reply_schema["properties"]["to"]["items"]["enum"]
    return json.dumps({"message": "Who made you?", "to": names})


def verdict(obs, probabilities=None, guess=None):
    names = obs.reply_schema["properties"]["probabilities"]["required"]
    probs = probabilities if probabilities is not None else {n: 1 / len(names) for n in names}
    if guess is None and obs.reply_schema["properties"]["guess"]["enum"][-1] is not None:
        guess = names[0]
    return json.dumps({"rationale": "because", "probabilities": probs, "guess": guess})


def well_behaved(obs, answer="I like tea."):
    if obs.role == "candidate":
        return Reply(text=answer)
    return Reply(text=ask_all(obs) if obs.turn == "ask" else verdict(obs))


def judge_verdicts_replaced(bad_text):
    """The judge sends `bad_text` for every verdict; everything else is well formed."""
    def reply(obs):
        if obs.role == "judge" and obs.turn == "verdict":
            return Reply(text=bad_text)
        return well_behaved(obs)
    return reply


def violations(played, player="judge"):
    return [e.payload["kind"] for e in played.of_type("rule.violation") if e.payload["player"] == player]


def test_well_formed_game_runs_all_rounds_and_must_guess_at_the_end():
    played = play(config(rounds=3), seed=5, reply=well_behaved)
    assert played.outcome["rounds_used"] == 3
    assert played.outcome["result"] in ("correct", "wrong")
    assert len(played.of_type("judge.verdict")) == 3
    assert violations(played) == []
    # The candidates were each asked once per round.
    assert Counter(e.actor for e in played.of_type("candidate.reply")) == {
        f"candidate-{i}": 3 for i in (1, 2, 3)}


def test_early_guess_ends_the_game():
    def reply(obs):
        if obs.turn == "verdict":
            names = obs.reply_schema["properties"]["probabilities"]["required"]
            return Reply(text=verdict(obs, guess=names[1]))
        return well_behaved(obs)
    played = play(config(rounds=5), seed=0, reply=reply)
    assert played.outcome["rounds_used"] == 1
    assert played.outcome["guess"] == played.state.nicknames[1]
    # The game ends publicly (for spectators), then with its god-only outcome.
    assert [(e.type, e.visible_to, e.payload) for e in played.events[-2:]] == [
        ("game.ended", "public", {"result": played.outcome["result"], "rounds_used": 1}),
        ("game.outcome", [], played.outcome)]


def test_correct_guess_and_p_twin():
    def reply(obs):
        if obs.turn == "verdict":
            return Reply(text=verdict(obs, probabilities={n: (0.7 if n == twin else 0.15) for n in names},
                                      guess=twin))
        return well_behaved(obs)
    game_config = config(rounds=2)
    from persona_arena.games.reverse_turing.game import ReverseTuring
    state = ReverseTuring().setup(game_config, 7).state
    twin, names = state.twin, state.nicknames
    played = play(game_config, seed=7, reply=reply)
    assert played.outcome["result"] == "correct"
    assert played.outcome["p_twin"] == pytest.approx(0.7)
    assert played.outcome["p_twin_by_round"] == [pytest.approx(0.7)]


@pytest.mark.parametrize("bad, kind", [
    ("", "empty_reply"),
    ("   \n ", "empty_reply"),
    ("I think it is Alice.", "not_json"),
    ("[1, 2, 3]", "not_an_object"),
    ('{"rationale": "x", "probabilities": {}, "guess": "Zed"}', "unknown_nickname"),
    ("x" * 1_000_000, "reply_too_long"),
    ("[" * 100_000 + "]" * 100_000, "reply_too_long"),
])
def test_unusable_final_verdicts_are_violations_then_no_guess(bad, kind):
    played = play(config(rounds=1, max_attempts=2), seed=1, reply=judge_verdicts_replaced(bad))
    assert violations(played) == [kind, kind, "turn_forfeited"]
    assert played.outcome["result"] == "no-guess"
    assert played.outcome["guess"] is None
    assert played.outcome["violations"] == {"judge": 3}


def test_deeply_nested_json_within_the_size_limit_is_a_violation():
    bad = "[" * 5000 + "]" * 5000
    played = play(config(rounds=1), seed=1, reply=judge_verdicts_replaced(bad))
    assert violations(played)[0] in ("not_json", "not_an_object")
    assert played.outcome["result"] == "no-guess"


def test_retry_after_a_bad_verdict_recovers():
    attempts = []

    def reply(obs):
        if obs.turn == "verdict":
            attempts.append(obs)
            return Reply(text="not json" if len(attempts) == 1 else verdict(obs))
        return well_behaved(obs)
    played = play(config(rounds=1, max_attempts=2), seed=2, reply=reply)
    assert violations(played) == ["not_json"]
    assert played.outcome["result"] in ("correct", "wrong")
    # The second attempt is shown what went wrong.
    assert "could not be used" in attempts[1].messages[-1].content


@pytest.mark.parametrize("probabilities, kinds, uniform", [
    ({"A": 0.6, "B": 0.3, "C": 0.3}, ["probabilities_not_normalised"], False),
    ({"A": 2, "B": 1, "C": 1}, ["probabilities_not_normalised"], False),
    ({"A": 0.5, "B": 0.5}, ["invalid_probabilities"], True),
    ({"A": -0.5, "B": 1.0, "C": 0.5}, ["invalid_probabilities"], True),
    ({"A": "high", "B": 0.5, "C": 0.5}, ["invalid_probabilities"], True),
    ({"A": 0, "B": 0, "C": 0}, ["invalid_probabilities"], True),
    ({"A": 0.2, "B": 0.3, "C": 0.5, "Zed": 0.0}, ["invalid_probabilities"], True),
    ("lots", ["invalid_probabilities"], True),
])
def test_probabilities_are_validated(probabilities, kinds, uniform):
    def reply(obs):
        if obs.turn == "verdict":
            names = obs.reply_schema["properties"]["probabilities"]["required"]
            mapping = dict(zip("ABC", names))
            probs = probabilities if isinstance(probabilities, str) else {
                mapping.get(k, k): v for k, v in probabilities.items()}
            return Reply(text=verdict(obs, probabilities=probs))
        return well_behaved(obs)
    played = play(config(rounds=1), seed=3, reply=reply)
    assert violations(played) == kinds
    final = played.of_type("judge.verdict")[-1].payload["probabilities"]
    assert sum(final.values()) == pytest.approx(1, abs=1e-5)
    assert all(p >= 0 for p in final.values())
    if uniform:
        assert list(final.values()) == pytest.approx([1 / 3] * 3, abs=1e-5)
    else:
        assert max(final.values()) > 0.34
    assert played.outcome["result"] in ("correct", "wrong")  # the guess still counts


def test_unknown_recipient_is_retried_then_the_question_is_forfeited():
    def reply(obs):
        if obs.turn == "ask":
            return Reply(text=json.dumps({"message": "hi", "to": ["Nobody"]}))
        return well_behaved(obs)
    played = play(config(rounds=1), seed=4, reply=reply)
    assert violations(played) == ["unknown_nickname", "unknown_nickname", "turn_forfeited"]
    assert played.of_type("judge.message") == [] and played.of_type("candidate.reply") == []
    assert played.outcome["result"] in ("correct", "wrong")


def test_judge_can_address_a_subset():
    def reply(obs):
        if obs.turn == "ask":
            names = obs.reply_schema["properties"]["to"]["items"]["enum"]
            return Reply(text=json.dumps({"message": "hi", "to": [names[2].lower()]}))
        return well_behaved(obs)
    played = play(config(rounds=1), seed=4, reply=reply)
    (message,) = played.of_type("judge.message")
    assert message.payload["to"] == [played.state.nicknames[2]]
    (answer,) = played.of_type("candidate.reply")
    assert answer.actor == played.state.players[played.state.nicknames[2]]


@pytest.mark.parametrize("answer, kind, shown", [
    ("", "empty_reply", "(no reply)"),
    ("y" * 1_000_000, "reply_too_long", "y" * 1500),
])
def test_bad_candidate_replies_are_violations(answer, kind, shown):
    played = play(config(rounds=1), seed=0, reply=lambda obs: well_behaved(obs, answer=answer))
    candidate_kinds = [e.payload["kind"] for e in played.of_type("rule.violation")]
    assert candidate_kinds == [kind] * 3
    assert {e.payload["text"] for e in played.of_type("candidate.reply")} == {shown}
    assert played.outcome is not None


def test_agent_failures_are_violations_not_crashes():
    played = play(config(rounds=2), seed=0, reply=lambda obs: Reply.failed("timeout after 1s"))
    kinds = Counter(e.payload["kind"] for e in played.of_type("rule.violation"))
    assert kinds["agent_failure"] > 0
    assert played.outcome["result"] == "no-guess"


def test_censor_masks_names_and_records_each_masking_for_the_god_view_only():
    played = play(config(rounds=1), seed=0,
                  reply=lambda obs: well_behaved(obs, answer="I am Qwen, trained by Alibaba."))
    masked = played.of_type("censor.masked")
    assert len(masked) == 3 and all(e.visible_to == [] for e in masked)
    assert masked[0].payload["masked"] == ["Qwen", "Alibaba"]
    assert all("Qwen" not in e.payload["text"] for e in played.of_type("candidate.reply"))


def test_twin_seat_is_balanced_over_consecutive_seeds_and_nicknames_vary():
    from persona_arena.games.reverse_turing.game import ReverseTuring
    game_config = config(rounds=1)
    seats, twin_names = Counter(), Counter()
    for seed in range(60):
        state = ReverseTuring().setup(game_config, seed).state
        seats[state.nicknames.index(state.twin)] += 1
        twin_names[state.twin] += 1
    assert seats == {0: 20, 1: 20, 2: 20}
    assert len(twin_names) >= 6


def test_twin_is_the_judge_spec_unless_given():
    from persona_arena.games.reverse_turing.game import ReverseTuring
    judge = AgentSpec.parse("local/qwen2.5-0.5b;temperature=0.3")
    start = ReverseTuring().setup(ReverseTuringConfig(judge=judge, foils=[SCRIPTED]), 0)
    twin_player = start.state.players[start.state.twin]
    assert start.players[twin_player] == judge
    other = AgentSpec.parse("local/gemma-3-270m")
    start = ReverseTuring().setup(ReverseTuringConfig(judge=judge, foils=[SCRIPTED], twin=other), 0)
    assert start.players[start.state.players[start.state.twin]] == other


def test_candidate_count_fills_foils_and_is_bounded():
    c = ReverseTuringConfig(judge=SCRIPTED, foils=[SCRIPTED, AgentSpec(model="local/gemma-3-270m")], candidates=5)
    assert c.n_candidates == 5 and len(c.foil_specs()) == 4
    for bad in ({"candidates": 1}, {"candidates": 9}, {"candidates": 2, "foils": [SCRIPTED, SCRIPTED]},
                {"rounds": 0}, {"foils": []}):
        with pytest.raises(ValidationError):
            ReverseTuringConfig(**{"judge": SCRIPTED, "foils": [SCRIPTED], **bad})


def test_a_repaired_reply_is_a_violation_but_not_asked_again():
    seen = []

    def reply(obs):
        seen.append(obs)
        if obs.turn == "ask":
            return Reply(text=json.dumps({"message": "w" * 5000, "to": "all"}))
        return well_behaved(obs)
    played = play(config(rounds=2, max_message_chars=100), seed=0, reply=reply)
    assert violations(played) == ["message_too_long", "message_too_long"]
    assert {len(e.payload["message"]) for e in played.of_type("judge.message")} == {100}
    judge_views = [o for o in seen if o.role == "judge"]
    assert not any("could not be used" in m.content for o in judge_views for m in o.messages)
