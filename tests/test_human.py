"""`human`: a person plays from the terminal (here: a pipe standing in for the keyboard)."""

import json
import subprocess
import sys


def test_a_person_judges_a_game_from_the_terminal(tmp_path):
    typed = "\n".join([
        "Hello there, what is your favourite colour?", "all",   # ask: message, recipients
        "a hunch", "0.7", "0.3", "1",                          # verdict: rationale, p per name, guess #1
    ]) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "persona_arena", "play", "reverse-turing", "--judge", "human",
         "--twin", "scripted", "--candidate", "scripted;seed=5", "--rounds", "1", "--run", "h"],
        cwd=tmp_path, input=typed, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "you play judge" in proc.stderr and "message >" in proc.stderr
    (path,) = (tmp_path / "transcripts" / "h").glob("*.jsonl")
    events = [json.loads(line) for line in path.read_text().splitlines()]
    (message,) = [e for e in events if e["type"] == "judge.message"]
    assert message["payload"]["message"] == "Hello there, what is your favourite colour?"
    assert len(message["payload"]["to"]) == 2
    (verdict,) = [e for e in events if e["type"] == "judge.verdict"]
    assert sorted(verdict["payload"]["probabilities"].values()) == [0.3, 0.7]
    assert verdict["payload"]["rationale"] == "a hunch"
    assert not [e for e in events if e["type"] == "rule.violation"]
    outcome = [e for e in events if e["type"] == "game.outcome"][0]["payload"]
    assert outcome["result"] in ("correct", "wrong") and outcome["guess"] == verdict["payload"]["guess"]


def test_what_a_person_types_wrong_is_a_recorded_violation(tmp_path):
    typed = "\n".join(["", "Nobody", "", "Nobody", "why", "lots", "0.5", "1"]) + "\n" * 20
    proc = subprocess.run(
        [sys.executable, "-m", "persona_arena", "play", "reverse-turing", "--judge", "human",
         "--twin", "scripted", "--candidate", "scripted;seed=5", "--rounds", "1", "--run", "h"],
        cwd=tmp_path, input=typed, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = (tmp_path / "transcripts" / "h").glob("*.jsonl")
    kinds = [json.loads(line)["payload"]["kind"] for line in path.read_text().splitlines()
             if json.loads(line)["type"] == "rule.violation"]
    assert kinds[:3] == ["missing_message", "missing_message", "turn_forfeited"]
    assert "invalid_probabilities" in kinds
