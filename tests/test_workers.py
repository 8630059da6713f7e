"""Worker processes (`run_batch(pool=...)`, `arena tournament run --workers N`): the games of a
batch are shared among spawned processes writing to one database. They must play exactly what
one process plays, stop on Ctrl-C, report a worker that dies, and die with a killed parent."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import agents_toml, arena
from persona_arena.agents.registry import create_agent
from persona_arena.bench.concurrency import SlowAgents
from persona_arena.core.specs import AgentSpec
from persona_arena.games.negotiation.config import NegotiationConfig
from persona_arena.games.negotiation.game import Negotiation
from persona_arena.server.batch import GameJob, run_batch
from persona_arena.server.store import Store
from persona_arena.server.workers import WorkerError, WorkerPool, WorkerSetup

SCRIPTED = AgentSpec(model="scripted")


def negotiation_jobs(games: int, rounds: int = 3) -> list[GameJob]:
    config = NegotiationConfig(parties=[{"agent": SCRIPTED}, {"agent": AgentSpec.parse("scripted;seed=7")}],
                               rounds=rounds, end_on_deal=False)
    return [GameJob(Negotiation(), config, seed, session_id=f"neg-{seed}", job_key=f"g{seed}")
            for seed in range(games)]


class DieOnSeed:
    """An agent factory that ends its worker process abruptly when asked for one seed's agents."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, spec: AgentSpec, seed: int):
        if seed == self.seed:
            os._exit(3)
        return create_agent(spec, seed)


async def play(jobs: list[GameJob], db: Path, out: Path, *, workers: int, run_id: str = "run",
               agent_factory=create_agent, concurrency: int = 6, stop: asyncio.Event | None = None):
    store = await Store.open(str(db))
    try:
        if workers == 1:
            return await run_batch(jobs, store=store, run_id=run_id, export_root=out, agent_factory=agent_factory,
                                   concurrency=concurrency, stop=stop)
        async with WorkerPool(workers, WorkerSetup(db_url=store.url)) as pool:
            return await run_batch(jobs, store=store, run_id=run_id, export_root=out, agent_factory=agent_factory,
                                   concurrency=concurrency, stop=stop, pool=pool)
    finally:
        await store.close()


async def logs_by_session(db: Path, run_id: str = "run") -> dict[str, tuple[str, list[tuple]]]:
    """Each session's status and its events without timestamps (what must not depend on workers)."""
    store = await Store.open(str(db))
    try:
        found = {}
        for session in await store.sessions(run_id):
            events = await store.events(session.id)
            assert [e.seq for e in events] == list(range(len(events)))  # gapless
            found[session.id] = (session.status, [(e.type, e.actor, e.visible_to, e.payload) for e in events])
        return found
    finally:
        await store.close()


async def test_workers_play_exactly_what_one_process_plays(tmp_path):
    jobs = negotiation_jobs(14)
    one = await play(jobs, tmp_path / "one.sqlite", tmp_path / "one", workers=1)
    shared = await play(jobs, tmp_path / "two.sqlite", tmp_path / "two", workers=2)

    assert sorted(r.session_id for r in shared) == sorted(r.session_id for r in one)
    assert {r.session_id: (r.status, r.outcome) for r in shared} == {r.session_id: (r.status, r.outcome) for r in one}
    assert all(r.status == "finished" and r.events == [] for r in shared)  # events stay in the workers
    assert await logs_by_session(tmp_path / "two.sqlite") == await logs_by_session(tmp_path / "one.sqlite")
    exports = sorted(p.name for p in (tmp_path / "two" / "run").glob("*.jsonl"))
    assert exports == sorted(f"neg-{seed}.jsonl" for seed in range(14))
    first = [json.loads(line) for line in (tmp_path / "two" / "run" / "neg-0.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in first] == list(range(len(first)))


async def test_a_stop_reaches_the_workers_and_a_rerun_finishes_the_rest(tmp_path):
    jobs = negotiation_jobs(24, rounds=2)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.0, stop.set)
    factory = SlowAgents(latency=0.2)  # a game takes about 1.2 s: the stop lands mid-game
    results = await play(jobs, tmp_path / "db.sqlite", tmp_path / "out", workers=2, agent_factory=factory,
                         concurrency=4, stop=stop)

    statuses = [r.status for r in results]
    assert "abandoned" in statuses and len(results) < len(jobs)
    assert set(statuses) <= {"finished", "abandoned"}
    sessions = await logs_by_session(tmp_path / "db.sqlite")
    assert {s: status for s, (status, _) in sessions.items()} == {r.session_id: r.status for r in results}

    done = {r.session_id for r in results if r.status == "finished"}
    rest = [GameJob(j.game, j.config, j.seed, session_id=f"{j.session_id}-again", job_key=j.job_key)
            for j in jobs if j.session_id not in done]
    again = await play(rest, tmp_path / "db.sqlite", tmp_path / "out", workers=2)
    assert [r.status for r in again] == ["finished"] * len(rest)
    finished = [s for s, (status, _) in (await logs_by_session(tmp_path / "db.sqlite")).items() if status == "finished"]
    assert len(finished) == len(jobs)


async def test_a_worker_that_dies_is_an_error_naming_the_resume(tmp_path):
    with pytest.raises(WorkerError, match=r"exit code 3.*run the same command again"):
        await play(negotiation_jobs(8), tmp_path / "db.sqlite", tmp_path / "out", workers=2,
                   agent_factory=DieOnSeed(5))
    sessions = await logs_by_session(tmp_path / "db.sqlite")
    # the other worker played its whole share (the dead one took its unfinished games with it)
    assert {f"neg-{seed}" for seed in (0, 2, 4, 6)} <= {s for s, (status, _) in sessions.items() if status == "finished"}
    assert "neg-5" not in sessions or sessions["neg-5"][0] != "finished"


async def test_a_share_a_worker_cannot_read_is_an_error_not_a_hang(tmp_path, monkeypatch):
    store = await Store.open(str(tmp_path / "db.sqlite"))
    try:
        async with WorkerPool(2, WorkerSetup(db_url=store.url)) as pool:
            # a factory from a module the workers cannot import (added to the path after they started)
            (tmp_path / "late_factory.py").write_text(
                "from persona_arena.agents.registry import create_agent\n"
                "class Factory:\n"
                "    def __call__(self, spec, seed):\n"
                "        return create_agent(spec, seed)\n")
            monkeypatch.syspath_prepend(str(tmp_path))
            from late_factory import Factory

            with pytest.raises(WorkerError, match="No module named 'late_factory'"):
                async with asyncio.timeout(60):
                    await run_batch(negotiation_jobs(4), store=store, run_id="run", export_root=tmp_path / "out",
                                    agent_factory=Factory(), concurrency=4, pool=pool)
    finally:
        await store.close()


async def test_a_pool_cannot_start_with_a_broken_setup(tmp_path):
    (tmp_path / "blocker").write_text("a file where the cache's folder should be")
    setup = WorkerSetup(cache_path=tmp_path / "blocker" / "llm-cache.sqlite")
    with pytest.raises(WorkerError, match="failed to start"):
        async with WorkerPool(2, setup):
            pass


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import asyncio, sys\n"
        "from persona_arena.server.workers import WorkerPool\n"
        "async def main():\n"
        "    pool = WorkerPool(2)\n"
        "    await pool.start()\n"
        "    print(' '.join(str(w.process.pid) for w in pool._workers), flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "asyncio.run(main())\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


TOURNAMENT = """
name = "workers"
game = "negotiation"
seeds = 5
concurrency = 6
[game_options]
rounds = 2
""" + agents_toml({"a": "scripted", "b": "scripted;seed=7"})


def test_tournament_with_workers_matches_one_process_and_resumes(tmp_path):
    (tmp_path / "t.toml").write_text(TOURNAMENT)
    reports = {}
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.sqlite"
        run = arena("tournament", "run", "t.toml", "--workers", str(workers), "--db", str(db),
                    "--out", f"out{workers}", cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        run_id = run.stdout.split("run ", 1)[1].split(":", 1)[0].strip()
        again = arena("tournament", "run", "t.toml", "--workers", str(workers), "--db", str(db),
                      "--out", f"out{workers}", cwd=tmp_path)
        assert again.returncode == 0 and "0 to play" in again.stdout, again.stdout[-2000:]
        report = arena("report", run_id, "--json", "--db", str(db), cwd=tmp_path)
        assert report.returncode == 0, report.stderr[-2000:]
        reports[workers] = json.loads(report.stdout)
        assert len(list((tmp_path / f"out{workers}" / run_id).glob("*.jsonl"))) == reports[workers]["games"]["planned"]
    assert reports[1]["games"] == reports[2]["games"]
    assert reports[2]["games"]["finished"] == reports[2]["games"]["planned"] > 0
    differing = {key for key in reports[1] if reports[1][key] != reports[2].get(key)}
    assert differing <= {"run"}, differing  # games in planned order: even the ratings agree


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "0"], "--workers must be at least 1"),
    (["--workers", "2", "--db", "sqlite+aiosqlite://"], "in-memory"),
])
def test_bad_worker_options_exit_2_writing_nothing(tmp_path, args, message):
    (tmp_path / "t.toml").write_text(TOURNAMENT)
    run = arena("tournament", "run", "t.toml", *args, "--out", "out", cwd=tmp_path)
    assert run.returncode == 2 and message in run.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "transcripts").exists()
