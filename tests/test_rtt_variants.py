"""Reverse-turing research variants: what each player sees under each, and that every variant
runs through the real runner and CLI (scripted agents here; local models in the slow test)."""

import json

import pytest
from pydantic import ValidationError

from helpers import SCRIPTED, arena, config, play
from persona_arena.agents.base import AgentResponse
from persona_arena.core.observations import Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.games.reverse_turing.prompts import CANDIDATE_BRIEF, INTRODUCE_PROMPT
from persona_arena.server.runner import run_session

QWEN = AgentSpec.parse("local/qwen2.5-0.5b;system_prompt=You are Ada, a retired sailor.")
GEMMA = AgentSpec(model="local/gemma-3-270m")


def judge_and_candidates(obs):
    """A judge that asks everyone and guesses the first name; candidates sign their answers."""
    if obs.role == "candidate":
        return Reply(text=f"answer from {obs.player} at turn {obs.turn_number}")
    if obs.turn == "introduce":
        return Reply(text="I am the interviewer; I speak tersely and like boats.")
    if obs.turn == "ask":
        names = obs.reply_schema["properties"]["to"]["items"]["enum"]
        return Reply(text=json.dumps({"message": f"question {obs.turn_number}", "to": names}))
    names = obs.reply_schema["properties"]["probabilities"]["required"]
    last = None not in obs.reply_schema["properties"]["guess"]["enum"]
    return Reply(text=json.dumps({"rationale": "r", "probabilities": {n: 1 / len(names) for n in names},
                                  "guess": names[0] if last else None}))


def candidate_views(played, player):
    return [o for o in played.observations if o.player == player]


def test_defaults_are_todays_game():
    base = config(rounds=2)
    assert json.loads(base.model_dump_json()).keys() == {
        "judge", "foils", "twin", "candidates", "rounds", "max_attempts", "max_message_chars",
        "max_reply_chars", "max_raw_chars", "censor_terms", "extra_censor_terms"}
    played = play(base, 1, judge_and_candidates)
    for obs in played.observations:
        if obs.role == "candidate":
            assert obs.instructions == CANDIDATE_BRIEF
            assert all(m.role == "assistant" or m.content.startswith("question") for m in obs.messages)
    assert [e.type for e in played.events[:3]] == ["game.setup", "game.started", "round.started"]


def test_group_chat_candidates_see_every_question_and_answer_and_their_own_name():
    played = play(config(rounds=2, group_chat=True), 3, judge_and_candidates)
    state = played.state
    names = {p: n for n, p in state.players.items()}
    for player in state.players.values():
        views = candidate_views(played, player)
        last = views[-1]
        assert f"You are {names[player]}" in last.instructions
        text = last.render_text()
        # Every other candidate's answer of round 1 is there, labelled by its nickname.
        for other, nick in names.items():
            if other != player:
                assert f"{nick}: answer from {other} at turn 0" in text
        assert "Interviewer (to " in text
    # Replies and questions are addressed to everyone in the god view too.
    reply = played.of_type("candidate.reply")[0]
    assert set(reply.visible_to) == {"judge", *state.players.values()}
    # The judge is told.
    judge_view = next(o for o in played.observations if o.role == "judge")
    assert "group chat" in judge_view.instructions


def test_without_group_chat_candidates_never_see_each_other():
    played = play(config(rounds=2), 3, judge_and_candidates)
    for player in played.state.players.values():
        text = "".join(o.render_text() for o in candidate_views(played, player))
        others = [p for p in played.state.players.values() if p != player]
        assert not any(f"answer from {o}" in text for o in others)
        assert not any(n in text for n in played.state.nicknames)


def test_informed_candidates_get_the_judges_introduction_to_imitate():
    played = play(config(rounds=1, informed_candidates=True), 2, judge_and_candidates)
    first = played.observations[0]
    assert first.role == "judge" and first.turn == "introduce" and first.reply_schema is None
    assert first.messages[-1].content == INTRODUCE_PROMPT
    assert "read your introduction" in first.instructions
    (intro,) = played.of_type("judge.introduction")
    assert intro.payload["text"].startswith("I am the interviewer")
    assert set(intro.visible_to) == {"judge", *played.state.players.values()}
    types = [e.type for e in played.events]
    assert types.index("judge.introduction") < types.index("round.started")
    for player in played.state.players.values():
        (view,) = candidate_views(played, player)
        assert "I speak tersely and like boats." in view.instructions
        assert "Imitate the interviewer" in view.instructions
    # The judge's later turns show its introduction as its own earlier message.
    ask = next(o for o in played.observations if o.turn == "ask")
    assert [m.role for m in ask.messages[:2]] == ["user", "assistant"]
    assert ask.messages[1].content.startswith("I am the interviewer")


def test_a_failed_introduction_is_a_violation_and_the_game_goes_on():
    def reply(obs):
        if obs.turn == "introduce":
            return Reply.failed("timeout after 1s")
        return judge_and_candidates(obs)
    played = play(config(rounds=1, informed_candidates=True), 2, reply)
    kinds = [(e.payload["turn"], e.payload["kind"]) for e in played.of_type("rule.violation")]
    assert kinds == [("introduce", "agent_failure")]
    assert played.of_type("judge.introduction")[0].payload["text"] == "(no reply)"
    assert played.outcome["result"] in ("correct", "wrong")


def test_adversarial_hiding_tells_every_candidate_the_twin_included():
    played = play(config(rounds=1, adversarial_hiding=True), 4, judge_and_candidates)
    twin_player = played.state.players[played.state.twin]
    for player in played.state.players.values():
        (view,) = candidate_views(played, player)
        assert "do not let it pick you" in view.instructions
    assert candidate_views(played, twin_player)
    judge_view = played.observations[0]
    assert "told to avoid being picked" in judge_view.instructions


def test_partial_twins_take_seats_and_the_picked_kind_is_recorded():
    game_config = ReverseTuringConfig(
        judge=QWEN, foils=[SCRIPTED], rounds=1,
        partial_twins=[{"kind": "weights", "system_prompt": "You are Bob, a baker."},
                       {"kind": "persona", "model": "local/gemma-3-270m"}, {"kind": "exact"}])
    start = ReverseTuring().setup(game_config, 5)
    roster = {c["player"]: c for c in start.events[0].payload["candidates"]}
    kinds = sorted(c["kind"] for c in roster.values())
    assert kinds == ["exact", "exact", "other", "persona", "weights"]
    by_kind = {c["kind"]: c for c in roster.values() if not c["is_twin"]}
    assert by_kind["weights"]["agent"] == "local/qwen2.5-0.5b;system_prompt=You are Bob, a baker."
    assert by_kind["persona"]["agent"] == "local/gemma-3-270m;system_prompt=You are Ada, a retired sailor."
    assert sum(c["is_twin"] for c in roster.values()) == 1
    # The judge guesses each seat in turn: the outcome names the kind it picked.
    seen = {}
    for target in range(5):
        def reply(obs, target=target):
            if obs.role == "judge" and obs.turn == "verdict":
                names = obs.reply_schema["properties"]["probabilities"]["required"]
                return Reply(text=json.dumps({"rationale": "", "probabilities": {n: 0.2 for n in names},
                                              "guess": names[target]}))
            return judge_and_candidates(obs)
        played = play(game_config, 5, reply)
        guess_player = played.outcome["guess_player"]
        seen[roster[guess_player]["kind"]] = played.outcome["guess_kind"]
    assert seen == {k: k for k in ("exact", "other", "persona", "weights")}


def test_partial_twin_options_are_validated():
    for bad in ({"kind": "weights"}, {"kind": "persona"}, {"kind": "exact", "model": "scripted"},
                {"kind": "brother"}):
        with pytest.raises(ValidationError):
            ReverseTuringConfig(judge=QWEN, foils=[SCRIPTED], partial_twins=[bad])
    with pytest.raises(ValidationError, match="at most 8"):
        ReverseTuringConfig(judge=QWEN, foils=[SCRIPTED], candidates=7, partial_twins=[{"kind": "exact"}] * 2)
    # Partial twins come in addition to the twin and the foil seats…
    extra = ReverseTuringConfig(judge=QWEN, foils=[SCRIPTED], candidates=3, partial_twins=[{"kind": "exact"}])
    assert extra.n_candidates == 4 and len(extra.foil_specs()) == 3
    # …and may be the only other candidates.
    only = ReverseTuringConfig(judge=QWEN, partial_twins=[{"kind": "exact"}, {"kind": "persona", "model": "eliza"}])
    assert only.n_candidates == 3 and len(only.foil_specs()) == 2
    with pytest.raises(ValidationError, match="no foil seats"):
        ReverseTuringConfig(judge=QWEN, candidates=3, partial_twins=[{"kind": "exact"}])


def test_which_seat_holds_which_kind_does_not_change_what_the_judge_sees():
    """The judge's observations depend on replies only, never on the agents behind them."""
    a = ReverseTuringConfig(judge=QWEN, foils=[SCRIPTED], rounds=2,
                            partial_twins=[{"kind": "weights", "system_prompt": "You are Bob."}])
    b = ReverseTuringConfig(judge=QWEN, foils=[GEMMA], rounds=2,
                            partial_twins=[{"kind": "persona", "model": "scripted"}])
    views = [[o for o in play(c, 9, judge_and_candidates).observations if o.role == "judge"] for c in (a, b)]
    assert views[0] == views[1]


def test_primed_judge_starts_with_the_history_and_its_source_is_the_context_twin():
    history = [{"role": "user", "content": "What do you like?"},
               {"role": "assistant", "content": "Sailing, mostly, and the smell of tar."}]
    game_config = ReverseTuringConfig(judge=QWEN, foils=[GEMMA, SCRIPTED], rounds=1,
                                      primed_judge={"messages": history, "source": "local/gemma-3-270m"})
    played = play(game_config, 0, judge_and_candidates)
    first = played.observations[0]
    assert [m.content for m in first.messages[:2]] == [h["content"] for h in history]
    assert first.messages[2].content.startswith("Round 1")
    (primed,) = played.of_type("judge.primed")
    assert primed.visible_to == ["judge"]
    for obs in played.observations:
        if obs.role == "candidate":
            assert "smell of tar" not in obs.render_text()
    kinds = {c["agent"]: c["kind"] for c in played.events[0].payload["candidates"]}
    assert kinds == {"local/gemma-3-270m": "context", "scripted": "other", QWEN.canonical(): "exact"}


def test_variant_options_change_the_config_digest_only_when_on():
    from persona_arena.server.runner import session_base_id
    off = config(rounds=2)
    assert session_base_id(ReverseTuring(), off, 1) == session_base_id(
        ReverseTuring(), config(rounds=2, group_chat=False, partial_twins=[]), 1)
    assert session_base_id(ReverseTuring(), off, 1) != session_base_id(ReverseTuring(), config(rounds=2, group_chat=True), 1)


class Delayed:
    """An agent that answers after a given (simulated work) delay."""

    def __init__(self, spec, delay):
        self.spec, self.delay = spec, delay

    async def act(self, observation):
        import asyncio
        await asyncio.sleep(self.delay)
        return AgentResponse(judge_and_candidates(observation).text)

    async def close(self):
        return None


async def test_equalize_latency_releases_replies_on_a_common_schedule(store):
    slot = 0.2
    delays = {"scripted": 0.0, "scripted;seed=1": 0.25}
    game_config = ReverseTuringConfig(judge=SCRIPTED, foils=[AgentSpec.parse("scripted;seed=1")], rounds=1,
                                      equalize_latency=slot)
    seen = []

    def factory(spec, seed):
        agent = Delayed(spec, delays[spec.canonical()])
        original = agent.act

        async def act(obs):
            seen.append(obs)
            return await original(obs)
        agent.act = act
        return agent

    result = await run_session(ReverseTuring(), game_config, 0, store=store, run_id="eq", agent_factory=factory)
    assert result.status == "finished", result.error
    events = await store.events(result.session_id)
    replies = [e for e in events if e.type == "agent.reply"]
    assert replies and all(e.visible_to == [] for e in replies)
    for e in replies:
        raw, released = e.payload["raw_latency_s"], e.payload["released_after_s"]
        assert released >= raw and released >= slot
        assert released / slot == pytest.approx(round(released / slot))  # a whole number of slots
    slow = [e.payload for e in replies if result.players[e.payload["player"]] == "scripted;seed=1"]
    assert all(p["raw_latency_s"] >= 0.25 and p["released_after_s"] == pytest.approx(2 * slot) for p in slow)
    # The request-to-reply time in the log is the equalized one (a lower bound: the sleep).
    requests = [e for e in events if e.type == "turn.request"]
    for req, rep in zip(requests, replies):
        assert (rep.ts - req.ts).total_seconds() >= rep.payload["released_after_s"] - 1e-3
    # Nothing about timing reaches any player.
    assert not any("latency" in o.model_dump_json() for o in seen)


async def test_without_equalize_latency_replies_carry_no_timing(store):
    result = await run_session(ReverseTuring(), config(rounds=1, judge=SCRIPTED), 0, store=store, run_id="eq",
                               agent_factory=lambda spec, seed: Delayed(spec, 0))
    events = await store.events(result.session_id)
    assert all("raw_latency_s" not in e.payload for e in events if e.type == "agent.reply")


def test_variants_from_the_command_line(tmp_path):
    proc = arena("play", "reverse-turing", "--judge", "scripted", "--candidate", "eliza", "--rounds", "2",
                 "--set", "group_chat=true", "--set", "informed_candidates=true", "--set", "adversarial_hiding=true",
                 "--set", 'partial_twins=[{"kind": "weights", "system_prompt": "You are Bob."}]',
                 "--set", 'primed_judge={"messages": [{"role": "user", "content": "hi"}], "source": "eliza"}',
                 "--set", "equalize_latency=0.01", "--run", "variants", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (path,) = (tmp_path / "transcripts" / "variants").glob("*.jsonl")
    events = [json.loads(line) for line in path.read_text().splitlines()]
    types = {e["type"] for e in events}
    assert {"judge.primed", "judge.introduction", "game.outcome"} <= types
    config_json = events[0]["payload"]["config"]
    assert config_json["group_chat"] and config_json["informed_candidates"] and config_json["adversarial_hiding"]
    assert {c["kind"] for c in events[0]["payload"]["candidates"]} == {"exact", "weights", "context"}
    bad = arena("play", "reverse-turing", "--judge", "scripted", "--candidate", "eliza",
                "--set", 'partial_twins=[{"kind": "persona"}]', cwd=tmp_path)
    assert bad.returncode == 2 and "partial_twins.0" in bad.stderr and "Traceback" not in bad.stderr


def test_variants_from_a_tournament_file(tmp_path):
    from persona_arena.server.tournament import load_tournament, plan
    path = tmp_path / "t.toml"
    path.write_text('''
name = "variants"
seeds = 2
[game_options]
rounds = 1
candidates = 3
group_chat = true
adversarial_hiding = true
equalize_latency = 0.5
[[game_options.partial_twins]]
kind = "weights"
system_prompt = "You are Bob."
[[agents]]
id = "a"
model = "scripted"
[[agents]]
id = "b"
model = "scripted;seed=4"
judge = false
''')
    games = plan(load_tournament(path))
    assert len(games) == 2
    cfg = games[0].job.config
    assert cfg.n_candidates == 4  # the twin, 2 foils from the balanced plan, the partial twin
    assert cfg.group_chat and cfg.adversarial_hiding and cfg.equalize_latency == 0.5
    assert cfg.partial_twins[0].spec_for(cfg.judge).system_prompt == "You are Bob."


def test_report_tells_the_twin_from_a_foil_with_its_spec_and_keeps_settings_apart():
    """An exact copy of the judge beside its twin: picking the copy is a miss and must not look
    like a hit in the confusion matrix; a partial twin (the judge's model with another system
    prompt) must not be merged with the model's plain name."""
    from persona_arena.core.events import Event
    from persona_arena.scoring.report import SessionInfo, build_report

    game_config = ReverseTuringConfig(judge=QWEN, foils=[GEMMA], rounds=1,
                                      partial_twins=[{"kind": "weights", "system_prompt": "You are Bob."},
                                                     {"kind": "exact"}])
    sessions = []
    for target in ("exact", "twin"):
        roster = ReverseTuring().setup(game_config, 2).events[0].payload["candidates"]
        pick = next(c["nickname"] for c in roster if (c["is_twin"] if target == "twin"
                                                       else c["kind"] == "exact" and not c["is_twin"]))

        def reply(obs, pick=pick):
            if obs.role == "judge" and obs.turn == "verdict":
                names = obs.reply_schema["properties"]["probabilities"]["required"]
                return Reply(text=json.dumps({"rationale": "", "probabilities": {n: 1 / len(names) for n in names},
                                              "guess": pick}))
            return judge_and_candidates(obs)
        played = play(game_config, 2, reply)
        events = [Event.stamp(d, run_id="r", session_id=target, seq=i) for i, d in enumerate(played.events)]
        sessions.append(SessionInfo(id=target, status="finished", job_key=None, events=events))
    report = build_report("r", {}, sessions)
    judge = QWEN.canonical().removeprefix("local/")
    assert [s["result"] for s in report["sessions"]] == ["wrong", "correct"]
    assert report["confusion"] == {judge: {judge: 1, f"{judge} (twin)": 1}}
    columns = set(report["probability_matrix"][judge])
    assert columns == {judge, f"{judge} (twin)", "qwen2.5-0.5b;system_prompt=You are Bob.", "gemma-3-270m"}


def test_a_report_without_finished_games_has_no_chance_line():
    from persona_arena.scoring.report import SessionInfo, build_report

    report = build_report("r", {}, [SessionInfo(id="s", status="abandoned", job_key="g0", events=[])])
    assert report["overall"]["n"] == 0 and report["overall"]["chance"] is None
    assert report["games"]["abandoned"] == 1
