"""The `arena` command as a user runs it (a real subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLAY = ["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted",
        "--candidate", "scripted;seed=3", "--rounds", "4", "--seed", "42", "--run", "det"]


def arena(*args, cwd: Path, check_exit: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "persona_arena", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    if check_exit is not None:
        assert proc.returncode == check_exit, proc.stdout + proc.stderr
    return proc


def without_timestamps(path: Path) -> list[str]:
    lines = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        assert event.pop("ts")
        lines.append(json.dumps(event))
    return lines


def test_same_play_command_gives_an_identical_event_log(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for where in (first, second):
        where.mkdir()
        out = arena(*PLAY, cwd=where).stdout
        assert "result:" in out and "transcript:" in out
    (a,) = (first / "transcripts" / "det").glob("*.jsonl")
    (b,) = (second / "transcripts" / "det").glob("*.jsonl")
    assert a.name == b.name
    assert without_timestamps(a) == without_timestamps(b)
    assert len(without_timestamps(a)) > 10
    # The database holds the same events as the export.
    assert (first / "transcripts" / "arena.db").exists()
    exported = tmp_path / "export"
    arena("export", "det", "--out", str(exported), cwd=first)
    assert (exported / a.name).read_text() == a.read_text()


def test_another_seed_gives_another_game(tmp_path):
    arena(*PLAY, cwd=tmp_path)
    arena(*PLAY[:-4], "--seed", "43", "--run", "det", cwd=tmp_path)
    a, b = sorted((tmp_path / "transcripts" / "det").glob("*.jsonl"))
    assert without_timestamps(a) != without_timestamps(b)


@pytest.mark.parametrize("args, fragment", [
    (["play", "reverse-turing", "--judge", "no-such-model", "--candidate", "scripted"], "unknown agent spec"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "local/nope"], "unknown local model"),
    (["play", "reverse-turing", "--judge", "scripted;temperature=9", "--candidate", "scripted"], "temperature"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--rounds", "0"], "rounds"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--candidates", "12"],
     "candidates"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--seed", "x"], "seed"),
    (["play", "reverse-turing", "--judge", "scripted"], "candidate"),
    (["play", "chess", "--judge", "scripted", "--candidate", "scripted"], "unknown game"),
    (["play", "reverse-turing", "--judge", "openai/gpt-4o", "--candidate", "scripted"], "OPENAI_API_KEY"),
    (["export", "no-such-run", "--out", "x"], "no database at transcripts/arena.db"),
    (["frobnicate"], "No such command"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--run", "../../escape"], "--run"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--seed", str(10**20)], "--seed"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--turn-timeout", "nan"],
     "--turn-timeout"),
    # a message quoting `[…]` is shown as it is, not read as markup
    (["play", "reverse-turing", "--judge", "scripted;[bold]k=1", "--candidate", "scripted"], "[bold]k"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--db", "notaurl://"],
     "database notaurl://"),
    (["runs", "--db", "mysql://u:secret@x/y"], "database mysql://u:***@x/y"),
    (["report", "r", "--db", "typo.db"], "no database at typo.db"),
    (["play", "negotiation", "--party", "scripted", "--party", "scripted", "--judge", "scripted"],
     "negotiation has no option --judge"),
    (["play", "reverse-turing", "--judge", "scripted", "--candidate", "scripted", "--rounds", "5", "--set", "rounds=1"],
     "--set rounds: already given"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, args, fragment, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    proc = arena(*args, cwd=tmp_path, check_exit=2)
    assert fragment in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written: no database, no transcript


def test_an_out_that_is_a_file_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "afile").write_text("")
    for args in (PLAY, ["export", "det"]):
        proc = arena(*args, "--out", "afile", cwd=tmp_path, check_exit=2)
        assert "--out: afile is a file" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_listing_commands(tmp_path):
    assert "reverse-turing" in arena("games", cwd=tmp_path).stdout
    agents = arena("agents", cwd=tmp_path).stdout
    for spec in ("scripted", "local/qwen2.5-0.5b", "local/gemma-3-270m"):
        assert spec in agents
    arena(*PLAY, cwd=tmp_path)
    assert "det" in arena("runs", cwd=tmp_path).stdout
    schema = json.loads(arena("schema", "transcript", cwd=tmp_path).stdout)
    assert schema["properties"]["schema"]["default"] == "persona-arena/event@1"


def test_every_command_has_help(tmp_path):
    for command in (["games"], ["agents"], ["play"], ["demo"], ["runs"], ["export"], ["schema", "transcript"]):
        assert "Usage" in arena(*command, "--help", cwd=tmp_path).stdout


def test_json_logs(tmp_path):
    proc = arena("--log-json", "--verbose", *PLAY, cwd=tmp_path)
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert {"session.started", "session.finished"} <= {r["event"] for r in records}


def test_specs_and_texts_that_look_like_markup_are_printed_as_they_are(tmp_path):
    """A system prompt (or a model's message) may hold `[/b]`: the summary and the report
    print it, they do not read it as markup (which failed on a closing tag)."""
    play = arena("play", "reverse-turing", "--judge", "scripted;system_prompt=[/b] hi", "--candidate",
                 "scripted;system_prompt=[red]x", "--rounds", "1", "--run", "marked", cwd=tmp_path)
    assert "[/b] hi" in play.stdout
    report = arena("report", "marked", cwd=tmp_path)
    assert "scripted;system_prompt=[red]x" in report.stdout
