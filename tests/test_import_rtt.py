"""`arena import rtt-json`: external reverse-Turing files become ordinary runs (events,
outcomes, god-view identities) that report, replay and score like games played here."""

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from helpers import arena
from persona_arena.transcripts.import_rtt import import_directory

FIXTURES = Path(__file__).parent / "data" / "rtt_json"
VALID = sorted(p for p in FIXTURES.glob("game_*.json"))
INVALID = {"bad_truncated.json": "not JSON", "bad_correct_mismatch.json": "trajectory.0.correct",
           "bad_unknown_recipient.json": "trajectory.0.recipients.1"}


def judge_id(metadata):
    prompt = metadata.get("judge_system_prompt")
    model = metadata["judge_model"]
    return model if not prompt else f"{model}+{hashlib.sha256(prompt.encode()).hexdigest()[:6]}"


def test_report_counts_equal_counting_correct_in_the_files(tmp_path):
    proc = arena("import", "rtt-json", str(FIXTURES), "--run", "ext", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name, why in INVALID.items():
        assert f"skipped {name}: " in proc.stderr and why in proc.stderr.split(f"skipped {name}: ")[1].splitlines()[0]
    assert f"{len(VALID)} imported" in proc.stdout
    report = json.loads(arena("report", "ext", "--json", cwd=tmp_path).stdout)

    games, correct = Counter(), Counter()
    for path in VALID:
        data = json.loads(path.read_text())
        judge = judge_id(data["metadata"])
        games[judge] += 1
        correct[judge] += any(step.get("correct") is True for step in data["trajectory"])
    assert {j: b["games"] for j, b in report["by_judge"].items()} == dict(games)
    assert {j: b["correct"] for j, b in report["by_judge"].items()} == dict(correct)
    assert report["correct"] == sum(correct.values()) and report["statistics"]["games"] == len(VALID)
    assert report["games"]["finished"] == len(VALID)
    assert report["accuracy"] == pytest.approx(sum(correct.values()) / len(VALID))
    # The judge with a persona is another agent than the same model without one.
    assert len([j for j in games if j.startswith("local/qwen2.5-0.5b")]) == 2

    # Importing again adds nothing.
    again = arena("import", "rtt-json", str(FIXTURES), "--run", "ext", cwd=tmp_path)
    assert again.returncode == 0 and f"0 imported, {len(VALID)} already in the run" in again.stdout
    assert json.loads(arena("report", "ext", "--json", cwd=tmp_path).stdout)["statistics"]["games"] == len(VALID)


async def test_events_outcomes_and_identities(store, tmp_path):
    result = await import_directory(store, FIXTURES, "ext")
    assert len(result.imported) == len(VALID) and len(result.skipped) == len(INVALID)
    sessions = {s.id: s for s in await store.sessions("ext")}
    assert all(s.status == "finished" for s in sessions.values())

    events = await store.events("ext-game_qwen_seed0")
    assert [e.seq for e in events] == list(range(len(events)))
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    setup = events[0].payload
    assert setup["twin"] == "Bob" and [c["kind"] for c in setup["candidates"]] == ["other", "exact", "other"]
    assert events[0].visible_to == [] and next(e for e in events if e.type == "import.source").visible_to == []
    messages = [e for e in events if e.type == "judge.message"]
    assert [m.payload["to"] for m in messages] == [["Alice", "Bob", "Charlie"], ["Alice", "Bob"]]
    assert messages[1].visible_to == ["judge", "candidate-1", "candidate-2"]
    replies = [e for e in events if e.type == "candidate.reply"]
    assert replies[0].visible_to == ["judge", "candidate-1"] and replies[-1].payload["text"] == "s[::-1]"
    verdicts = [e.payload for e in events if e.type == "judge.verdict"]
    # Round r's verdict holds the beliefs of the step after message r.
    assert [v["probabilities"]["Bob"] for v in verdicts] == [0.6, 0.8]
    assert verdicts[-1]["guess"] == "Bob" and verdicts[-1]["final"]
    outcome = sessions["ext-game_qwen_seed0"].outcome
    assert outcome["result"] == "correct" and outcome["p_twin_by_round"] == [0.6, 0.8]
    assert outcome["guess_kind"] == "exact" and outcome["rounds_used"] == 2
    # It ends as a played game does: the public end, then the god-only outcome.
    assert [(e.type, e.visible_to) for e in events[-2:]] == [("game.ended", "public"), ("game.outcome", [])]
    assert events[-2].payload == {"result": "correct", "rounds_used": 2} and events[-1].payload == outcome

    # Percentages are renormalised, with the game's violation.
    seed1 = await store.events("ext-game_qwen_seed1")
    (verdict,) = [e.payload for e in seed1 if e.type == "judge.verdict"]
    assert verdict["probabilities"] == {"Alice": 0.1, "Bob": 0.6, "Charlie": 0.3}
    assert [e.payload["kind"] for e in seed1 if e.type == "rule.violation"] == ["probabilities_not_normalised"]
    assert sessions["ext-game_qwen_seed1"].outcome["result"] == "wrong"

    # Group chat: every candidate hears everything.
    gpt = await store.events("ext-game_gpt_seed0")
    assert all(len(e.visible_to) == 5 for e in gpt if e.type in ("judge.message", "candidate.reply"))

    # No guess at the end: a defaulted uniform verdict; empty replies become "(no reply)".
    gemma = await store.events("ext-game_gemma_seed0")
    assert sessions["ext-game_gemma_seed0"].outcome["result"] == "no-guess"
    assert [e.payload for e in gemma if e.type == "judge.verdict"][-1]["defaulted"] is True
    assert "(no reply)" in [e.payload["text"] for e in gemma if e.type == "candidate.reply"]

    # A persona twin, a weights twin and the context twin of a primed judge are told apart.
    persona = (await store.events("ext-game_persona_seed0"))[0].payload
    assert {c["nickname"]: c["kind"] for c in persona["candidates"]} == {
        "Alice": "exact", "Bob": "context", "Charlie": "weights"}
    assert sessions["ext-game_persona_seed0"].outcome["guess_kind"] == "context"

    # A guess without any message is round 1's verdict.
    immediate = sessions["ext-game_immediate_seed0"].outcome
    assert immediate["result"] == "correct" and immediate["rounds_used"] == 1


async def test_an_invalid_file_writes_nothing(store, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "bad_correct_mismatch.json", folder / "one.json")
    result = await import_directory(store, folder, "only-bad")
    assert result.imported == [] and result.skipped[0][0] == "one.json"
    assert await store.sessions("only-bad") == []
    assert await store.run("only-bad") is None


def test_bad_input_exits_2(tmp_path):
    proc = arena("import", "rtt-json", str(tmp_path / "nope"), "--run", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "not a folder" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.json").write_text("[]")
    proc = arena("import", "rtt-json", str(empty), "--run", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "x.json" in proc.stderr and "Traceback" not in proc.stderr
    assert "rtt-json" in arena("import", "--help", cwd=tmp_path).stdout


async def test_imported_sessions_replay_in_the_tui_and_score(store, tmp_path):
    from persona_arena.tui.games import view_for
    from persona_arena.tui.projection import GOD, Projection
    from persona_arena.tui.sources import ListSource

    await import_directory(store, FIXTURES, "ext")
    events = await store.events("ext-game_qwen_seed0")
    god = Projection(ListSource(events, "ext"), view_for("reverse-turing"), GOD)
    god.fold_all()
    texts = [e.text for e in god.entries]
    assert "s[::-1]" in texts and any("correct" in t for t in texts)
    judge = Projection(ListSource(events, "ext"), view_for("reverse-turing"), "judge")
    judge.fold_all()
    assert not any(e.type in ("game.setup", "import.source", "game.outcome") for e in judge.entries)
    candidate = Projection(ListSource(events, "ext"), view_for("reverse-turing"), "candidate-3")
    candidate.fold_all()
    assert "s[::-1]" not in [e.text for e in candidate.entries]


def test_imported_run_scores_with_the_scorer(tmp_path):
    assert arena("import", "rtt-json", str(FIXTURES), "--run", "ext", cwd=tmp_path).returncode == 0
    proc = arena("score", "ext", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


async def test_games_are_not_imported_into_a_run_played_here(store, tmp_path):
    """A tournament's report and resume count its planned games: imported ones would join them."""
    from persona_arena.transcripts.import_rtt import ImportTargetError

    await store.ensure_run("played-here", {"kind": "tournament", "planned": 4})
    with pytest.raises(ImportTargetError, match="not made by an import"):
        await import_directory(store, FIXTURES, "played-here")
    assert await store.sessions("played-here") == []
    # an import run takes more imports
    first = await import_directory(store, FIXTURES, "ext")
    again = await import_directory(store, FIXTURES, "ext")
    assert first.imported and again.already == first.imported
