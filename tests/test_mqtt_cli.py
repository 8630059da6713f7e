"""`arena serve`, `arena agent serve`, `arena submit` as a person (or a supervisor) runs them:
separate processes talking through the embedded amqtt broker; bad input exits 2."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import pytest
from mqtt_support import WorkerProcess, amqtt_broker, credentials, remote_tournament  # noqa: F401 (fixtures)
from typer.testing import CliRunner

from helpers import arena
from persona_arena.cli import app
from persona_arena.server.broker import Credentials
from persona_arena.server.mqtt import BrokerUrl
from persona_arena.server.store import Store

TOURNAMENT = remote_tournament("cli-over-mqtt")


@pytest.mark.slow
def test_serve_agents_and_submit_as_separate_processes(tmp_path):
    creds_file = tmp_path / "credentials.json"
    out = tmp_path / "out"
    server = subprocess.Popen(
        [sys.executable, "-m", "persona_arena", "serve", "--embedded", "--port", "0", "--agent", "alpha",
         "--agent", "beta", "--credentials", str(creds_file), "--db", str(tmp_path / "arena.db"), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    workers: list[WorkerProcess] = []
    try:
        banner = []
        for line in server.stdout:
            banner.append(line)
            if line.startswith("server ready"):
                break
        url = re.search(r"broker: (mqtt://127\.0\.0\.1:\d+) \(embedded amqtt", "".join(banner)).group(1)
        assert Credentials.load(creds_file).agents == ["alpha", "beta"]
        workers = [WorkerProcess("scripted", "alpha", BrokerUrl.parse(url), creds_file, tmp_path),
                   WorkerProcess("eliza", "beta", BrokerUrl.parse(url), creds_file, tmp_path)]
        (tmp_path / "t.toml").write_text(TOURNAMENT)
        done = arena("submit", str(tmp_path / "t.toml"), "--server", url, "--credentials", str(creds_file))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "accepted: run cli-over-mqtt-" in done.stdout and "2/2 games finished" in done.stdout
        again = arena("submit", str(tmp_path / "t.toml"), "--server", url, "--credentials", str(creds_file))
        assert again.returncode == 0 and "0 of 2 games to play" in again.stdout  # resumed: nothing left
    finally:
        answered = sum(int(re.search(r"(\d+) turns answered", w.output()).group(1))
                       for w in workers if w.stop() == 0)
        os.kill(server.pid, signal.SIGTERM)
        rest, _ = server.communicate(timeout=30)
    assert server.returncode == 0, rest
    assert "run cli-over-mqtt-" in rest and "done, 2/2 games finished" in rest
    assert answered >= 2  # the remote candidates were asked (the scripted judge picks whom)

    async def check() -> None:
        store = await Store.open(f"sqlite:///{tmp_path / 'arena.db'}")
        try:
            (run,) = await store.runs()
            sessions = await store.sessions(run["id"])
            assert [s.status for s in sessions] == ["finished", "finished"]
            for s in sessions:
                events = await store.events(s.id)
                assert [e.seq for e in events] == list(range(len(events)))
                assert (out / run["id"] / f"{s.id}.jsonl").is_file()
        finally:
            await store.close()

    asyncio.run(check())


def test_write_mosquitto_config(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--credentials", str(tmp_path / "c.json"), "--agent", "gpu-box",
                                      "--port", "18830", "--write-mosquitto-config", str(tmp_path / "mq")])
    assert result.exit_code == 0, result.output
    conf = (tmp_path / "mq" / "mosquitto.conf").read_text()
    assert "listener 18830 127.0.0.1" in conf and "allow_anonymous false" in conf
    assert "user gpu-box\ntopic read arena/v1/agents/gpu-box/inbox" in (tmp_path / "mq" / "acl").read_text()
    users = [line.split(":")[0] for line in (tmp_path / "mq" / "passwords").read_text().splitlines()]
    assert users == ["admin", "gpu-box", "spectator"]
    assert Credentials.load(tmp_path / "mq" / "credentials.json") == Credentials.load(tmp_path / "c.json")
    # (mosquitto itself loading such files is what the `mosquitto` test fixture does)


@pytest.mark.parametrize("args, fragment", [
    (["serve", "--broker", "mqtt://h:1", "--embedded"], "exclude each other"),
    (["serve", "--broker", "http://h:1"], "scheme must be mqtt://"),
    (["serve", "--agent", "admin"], "reserved"),
    (["serve", "--agent", "a/b"], "letters, digits"),
    (["serve", "--tls-cert", "x.pem"], "go together"),
    (["agent", "serve", "scripted", "--name", "admin", "--credentials", "admin:x"], "--name"),
    (["agent", "serve", "remote/alpha", "--name", "alpha", "--credentials", "alpha:x"], "not available here"),
    (["agent", "serve", "scripted", "--name", "alpha"], "--credentials"),
    (["agent", "serve", "scripted", "--name", "alpha", "--credentials", "beta:x"], "only lets identity 'alpha'"),
    (["agent", "serve", "scripted", "--name", "alpha", "--credentials", "no-colon"], "USER:PASSWORD"),
    (["submit", "missing.toml", "--credentials", "admin:x"], "no such file"),
    (["submit", "t.toml", "--credentials", "spectator:x"], "needs the 'admin' identity, not 'spectator'"),
])
def test_bad_input_exits_2_and_names_the_problem(tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.toml").write_text(remote_tournament("t"))
    monkeypatch.delenv("ARENA_MQTT_PASSWORD", raising=False)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split())


async def test_a_worker_with_a_wrong_password_exits_2(amqtt_broker):
    # In a thread: the embedded broker runs on this test's event loop and must keep answering.
    result = await asyncio.to_thread(arena, "agent", "serve", "scripted", "--name", "alpha", "--broker",
                                     str(amqtt_broker.url), "--credentials", "alpha:wrong-password")
    assert result.returncode == 2
    assert "refused user 'alpha'" in " ".join(result.stderr.split())


async def test_submit_without_a_broker_says_it_cannot_reach_it(tmp_path):
    from mqtt_support import free_port

    (tmp_path / "t.toml").write_text(remote_tournament("t"))
    url = f"mqtt://127.0.0.1:{free_port()}"
    result = await asyncio.to_thread(arena, "submit", str(tmp_path / "t.toml"), "--server", url,
                                     "--credentials", "admin:pw", "--accept-timeout", "1")
    assert result.returncode == 1
    assert f"cannot reach the broker at {url}" in " ".join(result.stderr.split())


async def test_a_worker_without_a_broker_exits_1():
    from mqtt_support import free_port

    result = await asyncio.to_thread(arena, "agent", "serve", "scripted", "--name", "alpha", "--broker",
                                     f"mqtt://127.0.0.1:{free_port()}", "--credentials", "alpha:pw",
                                     "--connect-timeout", "1")
    assert result.returncode == 1
    assert "cannot reach the broker" in result.stderr
