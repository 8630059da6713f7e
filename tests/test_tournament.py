"""Tournament files, the game plan, resume after kills, and the report."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import SCRIPTED_TOURNAMENT, agents_toml, arena
from persona_arena.server.tournament import load_tournament, plan

def write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_balanced_plan_is_deterministic(tmp_path):
    path = write(tmp_path, SCRIPTED_TOURNAMENT.format(n=12, seeds=6))
    games = plan(load_tournament(path))
    assert [g.key for g in games] == [f"g{i:04d}" for i in range(18)]  # 3 judges x 6 seeds
    assert [g.roles for g in games] == [g.roles for g in plan(load_tournament(path))]
    for judge in "abc":
        mine = [g for g in games if g.roles["judge"] == judge]
        foils = Counter(f for g in mine for f in g.roles["foils"])
        assert judge not in foils and max(foils.values()) - min(foils.values()) <= 1
        assert sorted(g.seed for g in mine) == list(range(6))
    assert not any(g.roles["judge"] == "d" for g in games)


def test_run_identity_is_content_not_layout(tmp_path):
    a = load_tournament(write(tmp_path, SCRIPTED_TOURNAMENT.format(n=1, seeds=2), "a.toml"))
    b = load_tournament(write(tmp_path, "# a comment\n" + SCRIPTED_TOURNAMENT.format(n=1, seeds=2)
                              .replace("concurrency = 8", "concurrency = 1"), "b.toml"))
    c = load_tournament(write(tmp_path, SCRIPTED_TOURNAMENT.format(n=1, seeds=3), "c.toml"))
    assert a.run_id() == b.run_id() != c.run_id()


def test_explicit_matches(tmp_path):
    text = SCRIPTED_TOURNAMENT.format(n=1, seeds=2) + """
[[matches]]
judge = "d"
candidates = ["a", "b"]
seeds = 3
"""
    games = plan(load_tournament(write(tmp_path, text)))
    assert len(games) == 3 and {g.roles["judge"] for g in games} == {"d"}


@pytest.mark.parametrize("change, fragment", [
    (("seeds = 1", "seeds = 1\ncolour = 'red'"), "colour"),
    (("seeds = 1", "seeds = 'many'"), "seeds"),
    (("rounds = 3", "roundz = 3"), "game_options.roundz"),
    (("rounds = 3", "rounds = 0"), "game_options.rounds"),
    (('model = "scripted;seed=7"', 'model = "local/nope"'), "agents.1.model"),
    (('model = "scripted;seed=7"', 'model = "no-such-model"'), "agents.1.model"),
    (('id = "b"', 'id = "a"'), "unique"),
    (("name =", "game = 'chess'\nname ="), "unknown game"),
    (("[[agents]]", "[[agents]\n"), "not valid TOML"),
    (("rounds = 3", "rounds = 3\njudge = 'a'"), "judge come from [[agents]] and [[matches]]"),
    (("candidates = 3", "candidates = 'three'"), "candidates"),
    # TOML has types: a string or a boolean is not a count
    (("seeds = 1", "seeds = '3'"), "seeds: Input should be a valid integer"),
    (("seeds = 1", "seeds = true"), "seeds: Input should be a valid integer"),
    (("seeds = 1", "seeds = 1\nfirst_seed = 99999999999999999999"), "first_seed"),
    (("seeds = 1", "seeds = 1\nturn_timeout = inf"), "turn_timeout"),
    (("candidates = 3", "candidates = 1"), "game_options.candidates: 1; a game has at least 2"),
])
def test_bad_tournament_files_exit_2_naming_the_field_and_write_nothing(tmp_path, change, fragment):
    text = SCRIPTED_TOURNAMENT.format(n=1, seeds=1).replace(*change, 1)
    path = write(tmp_path, text)
    proc = arena("tournament", "run", str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "transcripts").exists()


@pytest.mark.parametrize("match, fragment", [
    # one match shape's errors, without the shape's class name in the path
    ("judge = 'a'\ncandidates = ['b']\nextra = 1", "matches.0.extra: Extra inputs are not permitted"),
    ("parties = ['a', 'b']", "judge = ID, candidates = [ID, …]"),
])
def test_a_bad_match_is_named_once(tmp_path, match, fragment):
    path = write(tmp_path, SCRIPTED_TOURNAMENT.format(n=1, seeds=1) + f"\n[[matches]]\n{match}\n")
    proc = arena("tournament", "run", str(path), cwd=tmp_path)
    assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    assert "PartyMatch" not in proc.stderr and "MatchEntry" not in proc.stderr


def test_run_report_and_resume_without_replaying(tmp_path):
    path = write(tmp_path, SCRIPTED_TOURNAMENT.format(n=9, seeds=3))
    first = arena("tournament", "run", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "9 to play" in first.stdout and "accuracy by judge" in first.stdout
    again = arena("tournament", "run", str(path), cwd=tmp_path)
    assert "9 already finished, 0 to play" in again.stdout
    run_id = load_tournament(path).run_id()
    report = json.loads(arena("report", run_id, "--json", cwd=tmp_path).stdout)
    assert report["schema"] == "persona-arena/report@1"
    assert report["games"] == {"planned": 9, "finished": 9, "failed": 0, "running": 0, "abandoned": 0}
    assert len(report["sessions"]) == 9
    overall = report["overall"]
    assert overall["n"] == 9 and overall["chance"] == pytest.approx(1 / 3)
    assert overall["ci95"][0] <= overall["accuracy"] <= overall["ci95"][1]
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 9
    assert {r["agent"] for r in report["ratings"]["table"]} <= {"a", "b", "c", "d"}
    for judge, row in report["probability_matrix"].items():
        assert f"{judge} (twin)" in row
    assert f"{run_id}" in arena("runs", cwd=tmp_path).stdout

    import csv
    assert arena("export", run_id, "--format", "csv", "--out", "tables", cwd=tmp_path).returncode == 0
    games = list(csv.DictReader((tmp_path / "tables" / "games.csv").open()))
    assert len(games) == 9 and {g["result"] for g in games} <= {"correct", "wrong", "no-guess"}
    assert {g["session_id"] for g in games} == {s["session_id"] for s in report["sessions"]}
    events = list(csv.DictReader((tmp_path / "tables" / "events.csv").open()))
    assert {e["type"] for e in events} >= {"game.setup", "judge.verdict", "game.outcome"}
    assert json.loads(events[0]["payload"])["game"] == "reverse-turing"
    assert {e["session_status"] for e in events} == {"finished"}
    # every audience is JSON text, the public one too
    assert {json.dumps(json.loads(e["visible_to"])) for e in events if e["type"] == "round.started"} == {'"public"'}


def check_database(db: Path, run_id: str, planned: int) -> None:
    con = sqlite3.connect(db)
    finished = con.execute("select job_key, id from sessions where run_id=? and status='finished'",
                           (run_id,)).fetchall()
    keys = [k for k, _ in finished]
    assert len(keys) == len(set(keys)) == planned, (len(keys), len(set(keys)))
    for _, session_id in finished:
        seqs = [s for (s,) in con.execute("select seq from events where session_id=? order by seq", (session_id,))]
        assert seqs == list(range(len(seqs)))
        last = con.execute("select type from events where session_id=? order by seq desc limit 1",
                           (session_id,)).fetchone()
        assert last == ("game.outcome",)
    con.close()


def test_sigkill_at_random_moments_then_resume_loses_and_duplicates_nothing(tmp_path):
    path = write(tmp_path, SCRIPTED_TOURNAMENT.format(n=450, seeds=150))  # 3 judges x 150
    planned = len(plan(load_tournament(path)))
    rng = random.Random(1234)
    killed = 0
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-m", "persona_arena", "tournament", "run", str(path)],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
    assert killed >= 2, "the tournament finished before it could be killed; make it longer"
    final = arena("tournament", "run", str(path), cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    run_id = load_tournament(path).run_id()
    check_database(tmp_path / "transcripts" / "arena.db", run_id, planned)
    report = json.loads(arena("report", run_id, "--json", cwd=tmp_path).stdout)
    assert report["games"]["finished"] == planned


NEGOTIATION_200 = """
name = "chaos-200"
game = "negotiation"
seeds = 100
concurrency = 8
[game_options]
scenario = "joint-project"
personas = [["honest", "saboteur", "cooperative"]]
conditions = ["monitored", "unmonitored"]
rounds = 8
end_on_deal = false
""" + agents_toml({"a": "scripted", "b": "scripted;seed=7", "c": "eliza"})


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_ten_sigkill_trials_on_a_200_game_tournament(tmp_path, workers):
    """The reliability suite's chaos figure: 10 kills at random moments, then a resume; the
    run ends with exactly 200 finished games, none lost, none duplicated, all gapless. With
    worker processes the kill hits the parent, and its workers must end with it."""
    path = write(tmp_path, NEGOTIATION_200)
    planned = len(plan(load_tournament(path)))
    assert planned == 200
    rng = random.Random(99)
    db = tmp_path / "transcripts" / "arena.db"

    def finished() -> int:
        if not db.exists():
            return 0
        con = sqlite3.connect(db, timeout=30)
        try:
            return con.execute("select count(*) from sessions where status = 'finished'").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0
        finally:
            con.close()

    killed = 0
    for _ in range(10):
        # Kill at a random moment *inside* the run: after a random number of new games have
        # finished in this trial (and a random fraction of a second more).
        # (Small numbers: ten trials must leave work for the resume, however fast games go.)
        before, target = finished(), rng.randint(2, 10)
        proc = subprocess.Popen([sys.executable, "-m", "persona_arena", "tournament", "run", str(path),
                                 "--workers", str(workers)],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and finished() < before + target and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.1))
        orphans = _children(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        assert workers == 1 or len(orphans) == workers
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in orphans) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(pid) for pid in orphans), "a worker outlived its killed parent"
    assert killed == 10, f"only {killed} of 10 trials were killed while running"
    con = sqlite3.connect(tmp_path / "transcripts" / "arena.db")
    statuses = Counter(status for (status,) in con.execute("select status from sessions"))
    con.close()
    # the kills landed mid-run: some games finished, some were cut off, work was left to resume
    assert 0 < statuses["finished"] < planned and statuses["running"] + statuses["abandoned"] > 0, statuses
    final = arena("tournament", "run", str(path), "--workers", str(workers), cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    check_database(tmp_path / "transcripts" / "arena.db", load_tournament(path).run_id(), planned)


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path):
    path = write(tmp_path, SCRIPTED_TOURNAMENT.format(n=300, seeds=100))
    # A shell or CI runner may start us with SIGINT ignored, which children inherit: a terminal's
    # Ctrl-C reaches a process that has the default handler, so give the child that.
    proc = subprocess.Popen([sys.executable, "-m", "persona_arena", "tournament", "run", str(path)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:  # it may have finished before the signal
        assert proc.returncode == 130 and "resume" in err, err
    final = arena("tournament", "run", str(path), cwd=tmp_path)
    assert final.returncode == 0
    check_database(tmp_path / "transcripts" / "arena.db", load_tournament(path).run_id(), 300)


def test_eliza_does_not_judge_by_default_whatever_its_settings(tmp_path):
    text = SCRIPTED_TOURNAMENT.format(n=1, seeds=1) + '[[agents]]\nid = "e"\nmodel = "eliza;seed=3"\n'
    assert "e" not in {g.roles["judge"] for g in plan(load_tournament(write(tmp_path, text)))}
