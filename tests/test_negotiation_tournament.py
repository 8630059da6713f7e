"""Negotiation tournaments (round-robin × personas × conditions, paired) and their report,
`arena play negotiation` from the command line, and the paired statistics by hand."""

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import agents_toml, arena
from persona_arena.scoring.negotiation_report import paired_conditions
from persona_arena.server.tournament import TournamentError, load_tournament, plan

TOURNAMENT = """
name = "neg"
game = "negotiation"
seeds = {seeds}
concurrency = 4
[game_options]
scenarios = ["salary-package", "joint-project"]
personas = [["honest", "extractor", "plain"], ["saboteur", "cooperative", "honest"]]
conditions = ["monitored", "unmonitored"]
rounds = 2
""" + agents_toml({"a": "scripted", "b": "scripted;seed=7", "c": "eliza"})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "neg.toml"
    path.write_text(text)
    return path


def test_round_robin_plan_pairs_every_game_across_conditions(tmp_path):
    games = plan(load_tournament(write(tmp_path, TOURNAMENT.format(seeds=2))))
    # salary-package: 3 pairs, joint-project: 1 triple; × 2 persona mixes × 2 seeds × 2 conditions
    assert len(games) == (3 + 1) * 2 * 2 * 2
    by_shape = Counter((tuple(g.roles["parties"]), tuple(g.roles["personas"]), g.roles["scenario"], g.seed)
                       for g in games)
    assert set(by_shape.values()) == {2}  # each seating is played once per condition
    conditions = Counter(g.roles["condition"] for g in games)
    assert conditions["monitored"] == conditions["unmonitored"]
    # the seating rotates with the seed: in salary-package both agents of a pair take both seats
    pair = [g for g in games if g.roles["scenario"] == "salary-package" and set(g.roles["parties"]) == {"a", "b"}]
    assert {tuple(g.roles["parties"]) for g in pair} == {("a", "b"), ("b", "a")}
    assert [g.roles for g in games] == [g.roles for g in plan(load_tournament(write(tmp_path, TOURNAMENT.format(seeds=2))))]


def test_explicit_party_matches(tmp_path):
    text = TOURNAMENT.format(seeds=1) + """
[[matches]]
parties = ["a@honest", "c@saboteur"]
scenario = "salary-package"
seeds = 3
"""
    games = plan(load_tournament(write(tmp_path, text)))
    assert len(games) == 3 * 2
    assert {tuple(g.roles["personas"]) for g in games} == {("honest", "saboteur")}


@pytest.mark.parametrize("options, fragment", [
    ('personas = [["villain"]]', "unknown persona 'villain'"),
    ('scenarios = ["atlantis"]', "unknown scenario 'atlantis'"),
    ('conditions = ["observed"]', "game_options.conditions.0"),
    ("rounds = 0", "game_options.rounds"),
    ('condition = "monitored"', "use conditions = [...]"),
    ('scenario = "joint-project"', "scenario and scenarios exclude each other"),
])
def test_bad_negotiation_options_name_the_field(tmp_path, options, fragment):
    text = TOURNAMENT.format(seeds=1).replace("rounds = 2", options if "rounds" in options else f"rounds = 2\n{options}")
    text = text.replace('personas = [["honest", "extractor", "plain"], ["saboteur", "cooperative", "honest"]]\n', "") \
        if options.startswith("personas") else text
    text = text.replace('scenarios = ["salary-package", "joint-project"]\n', "") if options.startswith("scenarios") else text
    text = text.replace('conditions = ["monitored", "unmonitored"]\n', "") if options.startswith("conditions") else text
    with pytest.raises(TournamentError, match=fragment.replace("[", r"\[").replace(".", r"\.")):
        load_tournament(write(tmp_path, text))


def test_a_paired_run_reports_a_per_condition_comparison(tmp_path):
    path = write(tmp_path, TOURNAMENT.format(seeds=2))
    done = arena("tournament", "run", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = load_tournament(path).run_id()
    report = json.loads(arena("report", run_id, "--json", cwd=tmp_path).stdout)
    assert report["game"] == "negotiation"
    assert report["games"]["finished"] == report["games"]["planned"] == 32
    assert [c["condition"] for c in report["conditions"]] == ["monitored", "unmonitored"]
    assert all(c["games"] == 16 for c in report["conditions"])
    paired = report["paired_conditions"]
    assert paired["pairs"] == 16
    assert sum(paired["deal"][k] for k in ("both", "only_monitored", "only_unmonitored", "neither")) == 16
    assert {p["persona"] for p in report["personas"]} == {"honest", "extractor", "plain", "saboteur", "cooperative"}
    assert {a["agent"] for a in report["agents"]} == {"a", "b", "c"}
    assert report["ratings"]["games"] > 0
    text = arena("report", run_id, cwd=tmp_path).stdout
    assert "by condition" in text and "paired monitored vs unmonitored" in text
    # the CSV export has one row per game
    assert arena("export", run_id, "--format", "csv", "--out", str(tmp_path / "csv"), cwd=tmp_path).returncode == 0
    assert len((tmp_path / "csv" / "games.csv").read_text().strip().splitlines()) == 33


def test_paired_statistics_by_hand():
    def row(key, condition, deal, collective):
        return {"pair_key": key, "condition": condition, "deal": deal, "collective": collective,
                "parties": [{"color": "red", "checked_turns": 2, "contradicted_turns": int(condition == "monitored"),
                             "leaks": 0, "messages": 2}]}

    rows = []
    for i in range(8):  # monitored closes deals in 8 pairs where unmonitored closes none
        rows += [row(f"k{i}", "monitored", True, 100 + i), row(f"k{i}", "unmonitored", False, 0)]
    rows.append(row("lonely", "monitored", True, 50))  # no partner: not paired
    result = paired_conditions(rows)
    assert result["pairs"] == 8
    assert result["deal"] == {"both": 0, "only_monitored": 8, "only_unmonitored": 0, "neither": 0,
                              "p_value": pytest.approx(2 * 0.5 ** 8)}
    assert result["collective"]["mean_difference"] == pytest.approx(103.5)
    assert result["collective"]["p_value"] == pytest.approx(0.0078125)  # exact Wilcoxon, 8 positive ranks
    assert result["red_inconsistency_rate"]["mean_difference"] == pytest.approx(0.5)


def test_play_negotiation_from_the_command_line(tmp_path):
    done = arena("play", "negotiation", "--party", "scripted@honest", "--party", "eliza@saboteur",
                 "--scenario", "salary-package", "--condition", "monitored", "--rounds", "2", "--seed", "3",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Employer" in done.stdout and "saboteur" in done.stdout and "transcript:" in done.stdout
    bad = arena("play", "negotiation", "--party", "scripted@honest", "--party", "scripted",
                "--scenario", "joint-project", cwd=tmp_path)
    assert bad.returncode == 2 and "has 3 parties, 2 were given" in bad.stderr
    bad = arena("play", "negotiation", "--party", "scripted", "--set", "condition=watched", cwd=tmp_path)
    assert bad.returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_play_negotiation_with_scripted_local_qwen_and_a_litellm_model(tmp_path):
    """Acceptance: one game with all three kinds of agent, a litellm model served by a fake
    OpenAI-compatible server on loopback."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "fake_openai.py"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
        done = arena("play", "negotiation",
                     "--party", f"openai/fake-model;api_base=http://127.0.0.1:{port}/v1@honest",
                     "--party", "local/qwen2.5-0.5b;max_tokens=400@extractor",
                     "--party", "scripted@cooperative",
                     "--scenario", "joint-project", "--condition", "monitored", "--rounds", "2",
                     "--run", "three-kinds", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        session = json.loads(arena("report", "three-kinds", "--json", cwd=tmp_path).stdout)["sessions"][0]
        kinds = {p["agent"]: p for p in session["parties"]}
        assert set(kinds) == {"openai/fake-model", "qwen2.5-0.5b", "scripted"}
        # every party spoke in public: its replies were usable, not forfeited
        assert all(p["messages"] >= 1 for p in session["parties"]), session["parties"]
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_llm_inconsistency_judge_reads_red_turns_blind_to_the_condition(tmp_path, capsys, monkeypatch):
    from persona_arena.bench.fake_openai import FakeOpenAI
    from persona_arena.commands.report import show_report
    from persona_arena.core.specs import AgentSpec

    path = write(tmp_path, TOURNAMENT.format(seeds=1).replace(
        'scenarios = ["salary-package", "joint-project"]', 'scenarios = ["salary-package"]'))
    done = arena("tournament", "run", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = load_tournament(path).run_id()
    db = f"sqlite+aiosqlite:///{tmp_path}/transcripts/arena.db"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-for-tests")
    async with FakeOpenAI() as server:
        judge = AgentSpec.parse(f"openai/judge-model;api_base={server.api_base}")
        await show_report(run_id, db, as_json=True, inconsistency_judge=judge)
        prompts = [json.dumps(r["messages"]) for r in server.requests]
    report = json.loads(capsys.readouterr().out)
    section = report["inconsistency_judge"]
    red_turns = 0
    for s in report["sessions"]:
        red_turns += sum(p["checked_turns"] for p in s["parties"] if p["color"] == "red")
    assert section["turns"] + section["unusable"] == red_turns == len(prompts) > 0
    assert 0 <= section["rate"] <= 1 and set(section["conditions"]) == {"monitored", "unmonitored"}
    assert section["paired"]["n"] == 6  # 3 pairs of agents x 2 persona mixes, each in both conditions
    for prompt in prompts:  # the judge never learns the condition or the persona (it sees the texts)
        for word in ("monitored", "overseer", "extractor", "saboteur"):
            assert word not in prompt.lower()
