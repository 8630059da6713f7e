"""`arena tournament run` on a broker: its events reach live spectators (god view and public
topics) and `remote/NAME` agents are played by `arena agent serve` workers; an embedded amqtt
broker by default, mosquitto when `--broker` names one; bad broker options exit 2."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import pytest
from mqtt_support import WorkerProcess, credentials, free_port, mosquitto, remote_tournament  # noqa: F401 (fixtures)
from typer.testing import CliRunner

from helpers import SCRIPTED_TOURNAMENT

from persona_arena.cli import app
from persona_arena.commands.serve import running_broker
from persona_arena.core.events import PUBLIC, Event
from persona_arena.server.broker import Credentials
from persona_arena.server.mqtt import BrokerUrl, MqttLink
from persona_arena.server.protocol import ADMIN_USER, GOD_FILTER, PUBLIC_FILTER, QOS, SPECTATOR_USER
from persona_arena.server.store import Store

REMOTE_TOURNAMENT = remote_tournament("live-remote")
SCRIPTED = SCRIPTED_TOURNAMENT.format(n="on-mqtt", seeds=3)  # 9 games

class Spectator:
    """A subscriber on the god-view or the public topics that keeps every event it receives."""

    def __init__(self, url: BrokerUrl, creds: Credentials, *, god: bool) -> None:
        self.events: list[Event] = []
        who = ADMIN_USER if god else SPECTATOR_USER
        self.link = MqttLink(url, creds.login(who), client_id=f"test-{who}-{os.getpid()}",
                             subscriptions=[(GOD_FILTER if god else PUBLIC_FILTER, QOS)],
                             on_message=lambda m: self.events.append(Event.model_validate_json(m.payload)))

    def seen(self) -> set[tuple[str, int]]:
        return {(e.session_id, e.seq) for e in self.events}


async def stored_events(db: Path) -> list[Event]:
    store = await Store.open(f"sqlite:///{db}")
    try:
        (run,) = await store.runs()
        assert run["status"] == {"finished": run["sessions"]}
        return [e for s in await store.sessions(run["id"]) for e in await store.events(s.id)]
    finally:
        await store.close()


async def until(condition, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.05)


async def arena_process(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "persona_arena", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
async def test_embedded_broker_carries_remote_agents_and_spectators(tmp_path, credentials):  # noqa: F811
    creds_file, db, port = tmp_path / "credentials.json", tmp_path / "arena.db", free_port()
    (tmp_path / "t.toml").write_text(REMOTE_TOURNAMENT)
    run = await arena_process("tournament", "run", str(tmp_path / "t.toml"), "--broker-port", str(port),
                              "--credentials", str(creds_file), "--agent-wait", "120",
                              "--db", f"sqlite:///{db}", "--out", str(tmp_path / "out"))
    workers: list[WorkerProcess] = []
    spectators: list[Spectator] = []
    output: list[str] = []
    try:
        assert run.stdout is not None
        while not output or not output[-1].startswith("live "):
            line = (await asyncio.wait_for(run.stdout.readline(), 60)).decode()
            assert line, "".join(output)
            output.append(line)
        url = BrokerUrl.parse(re.search(r"embedded broker (mqtt://\S+)\)", output[-1]).group(1))
        assert url.port == port and f"arena watch --broker {url} --credentials {creds_file}" in output[-1]
        # Subscribed before any game starts: the run waits for its remote workers.
        spectators = [Spectator(url, credentials, god=True), Spectator(url, credentials, god=False)]
        for spectator in spectators:
            await spectator.link.start(wait=10)
        workers = [WorkerProcess("scripted", "alpha", url, creds_file, tmp_path),
                   WorkerProcess("eliza", "beta", url, creds_file, tmp_path)]
        rest, _ = await asyncio.wait_for(run.communicate(), 300)
        output.append(rest.decode())
        assert run.returncode == 0, "".join(output)
        events = await stored_events(db)
        god, public = spectators
        await until(lambda: god.seen() >= {(e.session_id, e.seq) for e in events})
        await until(lambda: public.seen() >= {(e.session_id, e.seq) for e in events if e.visible_to == PUBLIC})
    finally:
        answered = sum(int(m.group(1)) for w in workers if w.stop() == 0
                       and (m := re.search(r"(\d+) turns answered", w.output())))
        for spectator in spectators:
            await spectator.link.stop()
        if run.returncode is None:
            run.kill()
            await run.wait()
    assert answered >= 2, "".join(output)  # the remote candidates were asked
    # Each spectator saw exactly what it may (at-least-once delivery: duplicates are allowed).
    assert god.seen() == {(e.session_id, e.seq) for e in events}
    assert public.seen() == {(e.session_id, e.seq) for e in events if e.visible_to == PUBLIC}
    assert all(e.visible_to == PUBLIC for e in public.events)
    # and the public stream says when each game ended
    assert {e.session_id for e in public.events if e.type == "game.ended"} == {e.session_id for e in events}
    assert {e.type for e in god.events} >= {"game.setup", "agent.reply", "game.outcome"}


@pytest.mark.slow
async def test_worker_processes_publish_to_an_external_broker(tmp_path, credentials, mosquitto):  # noqa: F811
    db = tmp_path / "arena.db"
    (tmp_path / "t.toml").write_text(SCRIPTED)
    god = Spectator(mosquitto.url, credentials, god=True)
    await god.link.start(wait=10)
    try:
        run = await arena_process("tournament", "run", str(tmp_path / "t.toml"), "--workers", "2",
                                  "--broker", str(mosquitto.url), "--credentials", str(tmp_path / "credentials.json"),
                                  "--db", f"sqlite:///{db}", "--out", str(tmp_path / "out"))
        out, _ = await asyncio.wait_for(run.communicate(), 300)
        assert run.returncode == 0, out.decode()
        assert f"live (broker {mosquitto.url})" in out.decode()
        events = await stored_events(db)
        assert len({e.session_id for e in events}) == 9
        await until(lambda: god.seen() >= {(e.session_id, e.seq) for e in events})
    finally:
        await god.link.stop()
    assert god.seen() == {(e.session_id, e.seq) for e in events}


async def test_a_taken_port_moves_the_embedded_broker(tmp_path, credentials):  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with running_broker(None, credentials, tmp_path / "credentials.json", host="127.0.0.1", port=port,
                                  any_port_if_taken=True) as (url, embedded):
            assert embedded and url.port not in (0, port)
            link = MqttLink(url, credentials.login(SPECTATOR_USER), client_id="probe")
            await link.start(wait=10)
            await link.stop()
        with pytest.raises(Exception) as stopped:  # typer.Exit(2) after the message
            async with running_broker(None, credentials, tmp_path / "credentials.json", host="127.0.0.1",
                                      port=port):
                pass
        assert getattr(stopped.value, "exit_code", None) == 2


@pytest.mark.parametrize("extra, tournament, fragment", [
    (["--broker", "mqtt://h:1", "--no-broker"], SCRIPTED, "exclude each other"),
    (["--broker", "http://h:1"], SCRIPTED, "scheme must be mqtt://"),
    (["--broker-port", "70000"], SCRIPTED, "--broker-port 70000: not a port number"),
    (["--agent-wait", "-1"], SCRIPTED, "--agent-wait must not be negative"),
    (["--no-broker"], REMOTE_TOURNAMENT, "agents.1.model: remote/alpha is played by a worker over the broker"),
    (["--workers", "2"], REMOTE_TOURNAMENT, "agents.1.model: remote agents are played from the main process"),
    ([], REMOTE_TOURNAMENT.replace("remote/alpha", "remote/admin"), "agents.1.model: remote agent name 'admin'"),
])
def test_bad_broker_options_exit_2_and_write_nothing(tmp_path, monkeypatch, extra, tournament, fragment):
    monkeypatch.chdir(tmp_path)
    Path("t.toml").write_text(tournament)
    result = CliRunner().invoke(app, ["tournament", "run", "t.toml", "--db", "sqlite:///arena.db", *extra])
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.toml"]


def test_without_a_broker_the_run_plays_as_before(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("t.toml").write_text(SCRIPTED)
    result = CliRunner().invoke(app, ["tournament", "run", "t.toml", "--db", "sqlite:///arena.db", "--no-broker"])
    assert result.exit_code == 0, result.output
    assert "live (" not in result.output and not Path("transcripts/mqtt").exists()
    assert "9/9 games finished" in " ".join(result.output.split())
