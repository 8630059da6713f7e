"""`arena score`: both interfaces, the evaluation command and bad input (exit 2, field named)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from persona_arena.cli import app

GOLD = Path(__file__).parent / "data" / "gold_tags.jsonl"
TAG_KEYS = {"label", "start", "end", "confidence"}


def arena(*args, cwd: Path, check_exit: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "persona_arena", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    if check_exit is not None:
        assert proc.returncode == check_exit, proc.stdout + proc.stderr
    return proc


def arena_in_process(*args: str, cwd: Path, check_exit: int):
    """The same CLI in this process (quicker for the many bad-input cases)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == check_exit, result.output
    return result


def test_file_interface_writes_tags_in_input_order(tmp_path):
    lines = [{"id": "b", "text": "I'm an AI made by [redacted]. I don't have feelings."},
             {"id": "a", "text": "Bob says he is a nurse."},
             {"id": 7, "text": "This is my final offer. What matters most to you?", "kind": "party.message"},
             {"id": "c", "text": "This is my final offer.", "kind": "candidate.reply"}]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    arena("score", "--input", str(src), "--output", str(tmp_path / "out.jsonl"), cwd=tmp_path)
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in out] == ["b", "a", "7", "c"]
    assert all(set(x) == {"id", "tags"} and all(set(t) == TAG_KEYS for t in x["tags"]) for x in out)
    assert {t["label"] for t in out[0]["tags"]} == {"claim:ai", "claim:maker"}
    first = out[0]["tags"][0]
    assert lines[0]["text"][first["start"]:first["end"]].startswith("I'm an AI")
    assert out[1]["tags"] == [] and out[3]["tags"] == []
    assert {t["label"] for t in out[2]["tags"]} == {"tactic:coercion", "tactic:information-seeking"}


@pytest.mark.parametrize("line, field", [
    ('{"id": "x"}', "text"), ('{"text": "hello"}', "id"), ("[1, 2]", "JSON object"), ("{oops", "not JSON"),
    ('{"id": "x", "text": "hi", "kind": 3}', "kind"),
])
def test_a_bad_input_line_exits_2_naming_line_and_field(tmp_path, line, field):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "ok", "text": "fine"}\n' + line + "\n")
    result = arena_in_process("score", "--input", str(src), "--output", str(tmp_path / "o.jsonl"), cwd=tmp_path,
                              check_exit=2)
    assert field in result.stderr and "in.jsonl:2" in result.stderr.replace("\n", "")


@pytest.mark.parametrize("args", [
    [], ["some-run", "--input", "x.jsonl", "--output", "y.jsonl"], ["--input", "x.jsonl"],
    ["some-run", "--compare", "rules"], ["--evaluate", "g.jsonl", "--input", "x.jsonl", "--output", "y"],
    ["--evaluate", str(GOLD), "--backend", "scripted"], ["--evaluate", str(GOLD), "--backend", "nosuch"],
    ["--evaluate", str(GOLD), "--split", "nosuch"], ["--evaluate", "missing.jsonl"],
])
def test_bad_invocations_exit_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    assert "error" in arena_in_process("score", *args, cwd=tmp_path, check_exit=2).stderr


def test_an_input_that_is_not_utf8_or_an_output_that_is_a_folder_exits_2(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'\xff\xfe{"id": "a"}\n')
    result = arena_in_process("score", "--input", str(src), "--output", str(tmp_path / "o.jsonl"), cwd=tmp_path,
                              check_exit=2)
    assert "not UTF-8" in result.stderr
    src.write_text('{"id": "a", "text": "I am a language model."}\n')
    result = arena_in_process("score", "--input", str(src), "--output", str(tmp_path), cwd=tmp_path, check_exit=2)
    assert "is a folder" in result.stderr


def test_score_a_recorded_run_and_rescore_it(tmp_path):
    db = str(tmp_path / "arena.db")
    arena("play", "reverse-turing", "--judge", "scripted", "--candidate", "eliza", "--rounds", "2",
          "--run", "demo", "--db", db, "--out", str(tmp_path / "t"), cwd=tmp_path)
    first = arena("score", "demo", "--db", db, cwd=tmp_path).stdout
    again = arena("score", "demo", "--db", db, cwd=tmp_path).stdout
    assert "utterances" in first and "tags stored (backend rules)" in first and first == again
    missing = arena("score", "nope", "--db", db, cwd=tmp_path, check_exit=2)
    assert "no run 'nope'" in missing.stderr


def test_evaluate_prints_per_label_figures_macro_f1_and_kappa(tmp_path):
    table = arena("score", "--evaluate", str(GOLD), "--split", "heldout-2", cwd=tmp_path).stdout
    assert "macro-F1" in table and "Cohen's kappa" in table and "tactic:information-seeking" in table
    result = json.loads(arena("score", "--evaluate", str(GOLD), "--compare", "rules", "--json", cwd=tmp_path).stdout)
    vs = result["vs_gold"]
    assert result["n"] == len(GOLD.read_text().splitlines())
    assert set(vs) >= {"macro_f1", "micro_f1", "kappa", "labels"}
    assert set(vs["labels"]["claim:ai"]) == {"support", "predicted", "precision", "recall", "f1", "kappa"}
    assert result["other"]["agreement"]["kappa"] == 1.0  # rules against itself
    assert all(set(e) == {"id", "text", "missed", "extra"} for e in result["errors"])


def test_report_shows_tag_counts_after_scoring(tmp_path):
    import json as _json
    import subprocess as _sp
    import sys as _sys

    def run(*args):
        done = _sp.run([_sys.executable, "-m", "persona_arena", *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("play", "negotiation", "--party", "eliza@honest", "--party", "scripted;seed=3@saboteur", "--rounds", "2",
        "--run", "tagged")
    assert _json.loads(run("report", "tagged", "--json"))["tags"] is None  # not scored yet
    run("score", "tagged")
    report = _json.loads(run("report", "tagged", "--json"))
    rows = {(r["agent"], r["role"]): r for r in report["tags"]["rows"]}
    # under the report's names, as in its other tables (the scorer stores the specs)
    assert set(rows) == {("eliza", "blue party"), ("scripted", "red party")}
    assert report["agent_specs"] == {"eliza": "eliza", "scripted": "scripted;seed=3"}
    assert all(r["utterances"] > 0 for r in rows.values())
    assert "scorer tags (rules" in run("report", "tagged")
