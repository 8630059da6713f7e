"""The store on a real PostgreSQL server (`--db postgresql://…`): a throwaway cluster started
on loopback for this module, then tournaments through the CLI and batches through the
runner, with the same checks as on SQLite (gapless logs, one finished session per planned
game, resume)."""

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import agents_toml, arena
from persona_arena.agents.registry import create_agent
from persona_arena.core.specs import AgentSpec
from persona_arena.games.negotiation.config import NegotiationConfig
from persona_arena.games.negotiation.game import Negotiation
from persona_arena.server.batch import GameJob, run_batch
from persona_arena.server.store import Store

TOURNAMENT = """
name = "pg"
seeds = 4
concurrency = 8
[game_options]
rounds = 2
candidates = 3
""" + agents_toml({"a": "scripted", "b": "scripted;seed=7", "c": "eliza"})


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries not installed (.ci/run installs them)")
    # Not under pytest's tmp dirs: those are private to root, and PostgreSQL refuses to run as
    # root, so as root the cluster belongs to the postgres user.
    home = Path(tempfile.mkdtemp(prefix="arena-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = home / "data", _free_port()
    try:
        subprocess.run([*as_owner, initdb, "-D", str(data), "-U", "arena", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True)
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-w", "-l", str(home / "log"), "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} -k {home}", "start"],
                       check=True, capture_output=True)
        yield f"postgresql://arena@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


async def check_sessions(url: str, run_id: str, planned: int) -> None:
    store = await Store.open(url)
    try:
        finished = [s for s in await store.sessions(run_id) if s.status == "finished"]
        assert len(finished) == len({s.job_key for s in finished}) == planned
        for session in finished:
            events = await store.events(session.id)
            assert [e.seq for e in events] == list(range(len(events)))
            assert events[0].type == "game.setup" and events[-1].type == "game.outcome"
            assert session.outcome == events[-1].payload
    finally:
        await store.close()


async def test_a_tournament_runs_resumes_and_reports_on_postgres(postgres_url, tmp_path):
    path = tmp_path / "pg.toml"
    path.write_text(TOURNAMENT)
    first = arena("tournament", "run", str(path), "--db", postgres_url, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    store = await Store.open(postgres_url)
    try:
        (run,) = [r for r in await store.runs() if r["id"].startswith("pg-")]
    finally:
        await store.close()
    run_id = run["id"]
    await check_sessions(postgres_url, run_id, planned=8)  # 2 judges (ELIZA does not judge) x 4 seeds
    assert len(list((tmp_path / "out" / run_id).glob("*.jsonl"))) == 8
    again = arena("tournament", "run", str(path), "--db", postgres_url, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    await check_sessions(postgres_url, run_id, planned=8)  # resumed: nothing played twice
    report = arena("report", run_id, "--json", "--db", postgres_url, cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    games = json.loads(report.stdout)["games"]
    assert games["planned"] == games["finished"] == 8 and games["failed"] == games["running"] == 0


async def test_concurrent_negotiation_batch_with_pipelined_writes(postgres_url, tmp_path):
    scripted = AgentSpec(model="scripted")
    config = NegotiationConfig(parties=[{"agent": scripted}, {"agent": scripted}], rounds=3, end_on_deal=False)
    jobs = [GameJob(Negotiation(), config, seed, session_id=f"neg-{seed}", job_key=f"g{seed}") for seed in range(40)]
    store = await Store.open(postgres_url)
    try:
        results = await run_batch(jobs, store=store, run_id="pg-batch", export_root=tmp_path / "out",
                                  agent_factory=create_agent, concurrency=16)
    finally:
        await store.close()
    assert [r.status for r in results] == ["finished"] * 40
    await check_sessions(postgres_url, "pg-batch", planned=40)


async def test_a_planned_game_is_finished_at_most_once_on_postgres(postgres_url):
    from sqlalchemy.exc import IntegrityError
    store = await Store.open(postgres_url)
    try:
        await store.ensure_run("pg-unique")
        for session_id in ("u-1", "u-2"):
            await store.start_session(session_id, run_id="pg-unique", game="negotiation", seed=0, config={},
                                      players={}, job_key="g0")
        await store.finish_session("u-1", status="finished", outcome={})
        with pytest.raises(IntegrityError):
            await store.finish_session("u-2", status="finished", outcome={})
        assert {s.id: s.status for s in await store.sessions("pg-unique")} == {"u-1": "finished", "u-2": "running"}
    finally:
        await store.close()
