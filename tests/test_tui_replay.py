"""Replay screen, driven headlessly with Textual's Pilot: stepping, perspectives, private
channels, tags, the position bar; and the lazy sources and projection underneath."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from persona_arena.core.events import Event
from persona_arena.transcripts.jsonl import TranscriptError, read_jsonl
from persona_arena.tui.app import ArenaApp
from persona_arena.tui.games import view_for
from persona_arena.tui.projection import GOD, Projection
from persona_arena.tui.screens.replay import ReplayScreen
from persona_arena.tui.sources import JsonlSource, ListSource, LiveSource

ROOT = Path(__file__).resolve().parents[1]
RT_SAMPLE = ROOT / "transcripts" / "samples" / "quickstart-gemma-judge.jsonl"
NEGOTIATION = ROOT / "tests" / "data" / "tui-negotiation.jsonl"


def replay_app(path: Path) -> ArenaApp:
    return ArenaApp.replay(JsonlSource(path))


def current(screen: ReplayScreen):
    return screen.projection.entries[screen.cursor]


async def switch_to(pilot, screen: ReplayScreen, perspective: str) -> None:
    for _ in screen.perspectives():
        if screen.perspective == perspective:
            return
        await pilot.press("v")
    assert screen.perspective == perspective


async def test_reverse_turing_verdict_then_candidate_view_hides_private_content():
    app = replay_app(RT_SAMPLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.view.game == "reverse-turing"
        # Step one event at a time to the final verdict.
        while not (current(screen).type == "judge.verdict" and "final" in current(screen).note):
            before = screen.cursor
            await pilot.press("right")
            assert screen.cursor == before + 1
        god_text = screen.plain_text()
        assert "guess Grace" in god_text
        assert "TWIN" in god_text and "GOD VIEW" in god_text       # setup: who is the twin
        assert "One long sentence on why." in god_text              # the judge's private rationale
        assert "p(twin) by round" in god_text and "only judge" in god_text
        verdict_seq = current(screen).seq

        await switch_to(pilot, screen, "candidate-2")
        text = screen.plain_text()
        for secret in ("TWIN", "GOD VIEW", "One long sentence", "p(twin)", "Grace", "probabilities"):
            assert secret not in text, secret
        assert "I remember things best when I write them down." in text   # its own last answer
        assert "(you)" in text and "→ you" in text
        # The reader stays at the same point of the game, and sees only what candidate-2 saw.
        assert current(screen).seq <= verdict_seq
        source = screen.source
        assert all(source.event(e.index).visible_for("candidate-2") for e in screen.projection.entries)

        await pilot.press("g")
        assert screen.perspective == GOD and "TWIN" in screen.plain_text()


async def test_negotiation_scratchpads_hidden_from_another_party():
    app = replay_app(NEGOTIATION)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        assert screen.view.game == "negotiation"
        await pilot.press("end")
        assert current(screen).type == "game.outcome"
        god = screen.plain_text()
        assert "SECRET PLAN" in god and "My table" in god            # both scratchpads
        assert "PRIVATE" in god and "hidden goal: keep everyone in the office" in god
        assert "Candidate (party-1): 70 ok" in god and "Employer (party-2): 60 ok" in god

        await switch_to(pilot, screen, "party-1")
        mine = screen.plain_text()
        assert "My table" in mine                                     # its own scratchpad
        assert "SECRET PLAN" not in mine                              # not the other party's
        assert "keep everyone in the office" not in mine              # nor its hidden goal
        assert "Employer: 60" not in mine and "scores of" not in mine
        assert "your score: 70 (minimum 50)" in mine                  # from its own brief

        await switch_to(pilot, screen, "party-2")
        theirs = screen.plain_text()
        assert "SECRET PLAN" in theirs and "My table" not in theirs
        assert "hidden goal: keep everyone in the office" in theirs   # its own brief


async def test_step_keys_jump_and_ends():
    app = replay_app(RT_SAMPLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        assert screen.cursor == 0
        await pilot.press("shift+right")
        assert screen.cursor == 10
        await pilot.press("shift+left", "left")
        assert screen.cursor == 0
        await pilot.press("end")
        last = screen.cursor
        assert current(screen).type == "game.outcome"
        await pilot.press("right")
        assert screen.cursor == last
        await pilot.press("home")
        assert screen.cursor == 0
        await pilot.press("r")  # raw: turn requests and raw replies become entries too
        assert screen.raw
        screen.projection.fold_all()
        assert any(e.type == "agent.reply" for e in screen.projection.entries)


async def test_space_plays_to_the_end_and_stops():
    app = replay_app(NEGOTIATION)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        await pilot.press("space")
        assert screen.playing is not None
        await pilot.press(*["plus"] * 6)  # faster while playing
        assert screen.speed_index == 6
        while screen.playing is not None:
            await pilot.pause(0.05)
        assert current(screen).type == "game.outcome"


async def test_tags_are_highlighted_listed_and_jumped_to():
    app = replay_app(NEGOTIATION)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        await pilot.press("t")
        entry = current(screen)
        assert entry.type == "party.message" and {t.label for t in entry.tags} == {"false-urgency", "anchoring"}
        assert entry.text[entry.tags[0].start:entry.tags[0].end] == "Honestly"
        assert "[false-urgency]" in screen.plain_text()
        await pilot.press("t")
        assert {t.label for t in current(screen).tags} == {"concession"}
        await pilot.press("t")  # no further tagged utterance: the cursor stays
        assert {t.label for t in current(screen).tags} == {"concession"}
        await pilot.press("f")  # filter: the first label in order of appearance
        assert screen.tag_filter == "false-urgency"
        await pilot.press("T")
        assert "false-urgency" in {t.label for t in current(screen).tags}
        legend = screen.query_one("#legend").render()
        assert "filter: false-urgency" in str(legend)


async def test_position_bar_click_seeks_and_footer_keys_are_clickable():
    app = replay_app(RT_SAMPLE)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        bar = screen.query_one("#position")
        await pilot.click("#position", offset=(bar.size.width - 1, 0))
        assert current(screen).type == "game.outcome"
        footer = str(screen.query_one("KeyBar").render())
        for label in ("step", "±10", "start/end", "play/pause", "speed", "view", "god view", "tagged",
                      "tag filter", "raw", "back"):
            assert label in footer
        await pilot.click("#position", offset=(8, 0))
        assert current(screen).index < 10


def test_jsonl_source_is_lazy_and_names_bad_lines(tmp_path):
    source = JsonlSource(RT_SAMPLE)
    assert len(source) == 42
    assert sum(e is not None for e in source._parsed) == 1  # only the first line, checked on open
    lines = RT_SAMPLE.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], lines[2], ""]) + "\n")  # seq 0 then seq 2
    # the order of the whole file is checked on open (plain JSON), before any screen opens
    with pytest.raises(TranscriptError, match=r"broken.jsonl:2: .*expected seq 1, found 2"):
        JsonlSource(broken)
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("\n".join([*lines[:5], "garbage", *lines[5:10]]) + "\n")
    with pytest.raises(TranscriptError, match=r"garbage.jsonl:6: not a valid event"):
        JsonlSource(garbage)
    other = json.loads(lines[1])
    other["session_id"] = "another"
    joined = tmp_path / "joined.jsonl"
    joined.write_text("\n".join([lines[0], json.dumps(other)]) + "\n")
    with pytest.raises(TranscriptError, match="a second session"):
        JsonlSource(joined)
    not_json = tmp_path / "not-json.jsonl"
    not_json.write_text("{oops\n")
    with pytest.raises(TranscriptError, match="not-json.jsonl:1: not a valid event"):
        JsonlSource(not_json)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(TranscriptError, match="no events"):
        JsonlSource(empty)


def test_live_source_keeps_order_and_drops_resends():
    events = read_jsonl(RT_SAMPLE)
    live = LiveSource(events[0].session_id)
    assert live.add(events[3])                  # a late joiner starts where it joins
    assert not live.add(events[3])              # at-least-once delivery: a resend
    assert live.add(events[5])                  # a gap: seq 4 was not on this topic
    assert not live.add(events[4])              # older than the last kept: a resend
    assert [live.event(i).seq for i in range(len(live))] == [3, 5]
    assert not live.finished
    assert live.add(events[-1]) and live.finished


@pytest.mark.parametrize("path", [RT_SAMPLE, NEGOTIATION])
def test_every_perspective_shows_only_what_it_could_see(path):
    events = read_jsonl(path)
    source = ListSource(events, title=path.name)
    game = json.loads(path.read_text().splitlines()[0])["payload"]["game"]
    view = view_for(game)
    players = view.players(events[0].payload)
    assert len(players) >= 2
    god = Projection(source, view, GOD, raw=True)
    god.fold_all()
    assert len(god.entries) == len(events)      # raw god view: one entry per event
    for player in players:
        projection = Projection(source, view, player, raw=True)
        projection.fold_all()
        shown = {e.seq for e in projection.entries}
        assert shown == {e.seq for e in events if e.visible_for(player)}


def test_tags_that_do_not_fit_the_text_are_ignored():
    events = read_jsonl(RT_SAMPLE)
    reply = events[8]
    tagged = Event.model_validate({**reply.model_dump(by_alias=True), "payload": {**reply.payload, "tags": [
        {"label": "hedge", "start": 0, "end": 9},          # fits
        {"label": "whole"},                                # no offsets: the whole utterance
        {"label": "bad", "start": 5, "end": 999},          # past the end
        {"label": 3, "start": 0, "end": 1},                # not a label
    ]}})
    source = ListSource([*events[:8], tagged], title="t")
    projection = Projection(source, view_for("reverse-turing"), GOD)
    projection.fold_all()
    tags = projection.entries[-1].tags
    assert [(t.label, t.start, t.end) for t in tags] == [("hedge", 0, 9), ("whole", 0, len(reply.payload["text"]))]


def test_a_negotiation_played_here_shows_its_briefs_and_goals_as_text():
    """The game records a persona's rules as one text and the setup's hidden goal as a whole
    goal (kind, text, …): shown as text, not one rule per character or a Python dict."""
    from persona_arena.core.specs import AgentSpec
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.game import Negotiation

    scripted = AgentSpec(model="scripted")
    config = NegotiationConfig(parties=[{"agent": scripted, "persona": "honest"},
                                        {"agent": scripted, "persona": "saboteur"},
                                        {"agent": scripted, "persona": "plain"}], scenario="joint-project")
    start = Negotiation().setup(config, 3)
    events = [Event.stamp(d, run_id="r", session_id="s", seq=i) for i, d in enumerate(start.events)]
    goal = next(p["hidden_goal"] for p in events[0].payload["parties"] if p["hidden_goal"])
    god = Projection(ListSource(events, title="played"), view_for("negotiation"), GOD, raw=True)
    god.fold_all()
    text = "\n".join(e.text for e in god.entries)
    assert "rule: " in text and not any(len(line) == len("rule: x") for line in text.splitlines()
                                        if line.startswith("rule: "))
    assert f"hidden goal: {goal['text']}" in text and "{'kind'" not in text


def test_in_a_group_chat_a_candidate_sees_who_a_question_was_for():
    """Every candidate hears every judge message in a group chat: the view names the addressees
    (as the game shows them) instead of saying the message was for the viewer."""
    from helpers import config, play
    from persona_arena.core.observations import Reply

    def judge_asks_only_the_first(obs):
        if obs.role == "candidate":
            return Reply(text="an answer")
        names = (obs.reply_schema["properties"].get("to") or {}).get("items", {}).get("enum")
        if obs.turn == "ask":
            return Reply(text=json.dumps({"message": "just you", "to": names[:1]}))
        names = obs.reply_schema["properties"]["probabilities"]["required"]
        return Reply(text=json.dumps({"rationale": "", "probabilities": {n: 1 / len(names) for n in names},
                                      "guess": names[0]}))

    for group_chat in (True, False):
        played = play(config(rounds=1, group_chat=group_chat), 4, judge_asks_only_the_first)
        events = [Event.stamp(d, run_id="r", session_id="s", seq=i) for i, d in enumerate(played.events)]
        (message,) = [e for e in events if e.type == "judge.message"]
        addressed = message.payload["to"]
        for player in [p for p in message.visible_to if p != "judge"]:
            view = Projection(ListSource(events, title="s"), view_for("reverse-turing"), player)
            view.fold_all()
            (entry,) = [e for e in view.entries if e.type == "judge.message"]
            assert entry.note == (f"→ {', '.join(addressed)}" if group_chat else "→ you")


def test_an_informed_and_primed_judge_reads_as_text():
    """The introduction informed candidates read, and the history a primed judge starts with,
    are shown as what they say (not as the generic raw-payload fallback)."""
    from helpers import config, play
    from persona_arena.core.observations import Reply

    def replies(obs):
        if obs.role == "candidate":
            return Reply(text="an answer")
        if obs.turn == "introduce":
            return Reply(text="I am a careful interviewer.")
        if obs.turn == "ask":
            return Reply(text=json.dumps({"message": "hello", "to": obs.reply_schema["properties"]["to"]["items"]["enum"]}))
        names = obs.reply_schema["properties"]["probabilities"]["required"]
        return Reply(text=json.dumps({"rationale": "", "probabilities": {n: 1 / len(names) for n in names},
                                      "guess": names[0]}))

    played = play(config(rounds=1, informed_candidates=True,
                         primed_judge={"messages": [{"role": "user", "content": "earlier words"}]}), 1, replies)
    events = [Event.stamp(d, run_id="r", session_id="s", seq=i) for i, d in enumerate(played.events)]
    god = Projection(ListSource(events, title="s"), view_for("reverse-turing"), GOD)
    god.fold_all()
    by_type = {e.type: e for e in god.entries}
    assert by_type["judge.introduction"].text == "I am a careful interviewer."
    assert by_type["judge.primed"].text == "user: earlier words" and "primed with 1" in by_type["judge.primed"].note
