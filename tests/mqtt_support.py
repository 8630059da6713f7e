"""Real brokers and worker processes for the MQTT tests.

- `Mosquitto`: Debian's mosquitto on a free loopback port, configured by
  `arena serve --write-mosquitto-config`'s code (password file + ACL), stopped by its PID.
- `WorkerProcess`: an `arena agent serve SPEC` subprocess, stopped by its PID.
- `PatientJudge`: an in-process reverse-turing judge that asks everyone every round, guesses
  only when it must, and calls a hook at each turn (to kill or restart a broker mid-game).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from persona_arena.agents.base import AgentResponse
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec
from persona_arena.server.broker import Credentials, EmbeddedBroker, write_mosquitto_config
from persona_arena.server.mqtt import BrokerUrl

def remote_tournament(name: str) -> str:
    """Two games: a scripted judge, its twin the remote worker `alpha`, a foil the worker `beta`."""
    return f"""
name = "{name}"
seeds = 2
turn_timeout = 20
concurrency = 2
game_options = {{ rounds = 2 }}

[[agents]]
id = "judge"
model = "scripted"

[[agents]]
id = "twin"
model = "remote/alpha"

[[agents]]
id = "foil"
model = "remote/beta"

[[matches]]
judge = "judge"
twin = "twin"
candidates = ["foil"]
"""


MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
MOSQUITTO_SUB = shutil.which("mosquitto_sub")


def need_mosquitto() -> None:
    """CI installs mosquitto (.ci/run); elsewhere the mosquitto tests are skipped without it."""
    if MOSQUITTO is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, *, within: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {within}s")


class Mosquitto:
    def __init__(self, directory: Path, credentials: Credentials) -> None:
        need_mosquitto()
        self.directory, self.credentials = directory, credentials
        self.port = free_port()
        # As root, mosquitto would drop to its own account, which cannot enter pytest's tmp dirs.
        self.files = write_mosquitto_config(directory, credentials, host="127.0.0.1", port=self.port,
                                            run_as=getpass.getuser())
        self.proc: subprocess.Popen | None = None
        self.log = directory / "mosquitto.log"

    @property
    def url(self) -> BrokerUrl:
        return BrokerUrl("127.0.0.1", self.port)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.files.config)], stdout=log,
                                         stderr=subprocess.STDOUT)
        wait_for_port(self.port, proc=self.proc)

    def kill(self) -> None:
        """An abrupt broker death (SIGKILL): no goodbye to any client."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None


class WorkerProcess:
    """`arena agent serve SPEC --name NAME` in its own process."""

    def __init__(self, spec: str, name: str, url: BrokerUrl, credentials_file: Path, log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"worker-{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "persona_arena", "agent", "serve", spec, "--name", name,
                 "--broker", str(url), "--credentials", str(credentials_file)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def credentials(tmp_path) -> Credentials:
    creds = Credentials.generate(["alpha", "beta"])
    creds.save(tmp_path / "credentials.json")
    return creds


@pytest.fixture
def mosquitto(tmp_path, credentials):
    broker = Mosquitto(tmp_path / "mosquitto", credentials)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
async def amqtt_broker(tmp_path, credentials):
    async with EmbeddedBroker(credentials, state_dir=tmp_path / "amqtt", port=0) as broker:
        yield broker


@pytest.fixture
def workers(tmp_path):
    """Starts worker processes on demand; stops every one at the end, by PID."""
    started: list[WorkerProcess] = []

    def start(spec: str, name: str, url: BrokerUrl) -> WorkerProcess:
        worker = WorkerProcess(spec, name, url, tmp_path / "credentials.json", tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


Hook = Callable[[Observation], Awaitable[None]]


class PatientJudge:
    """Asks every candidate every round and guesses only in the last round."""

    def __init__(self, spec: AgentSpec, on_turn: Hook | None = None) -> None:
        self.spec, self.on_turn = spec, on_turn

    async def act(self, observation: Observation) -> AgentResponse:
        if self.on_turn is not None:
            await self.on_turn(observation)
        schema = observation.reply_schema or {}
        if observation.turn == "ask":
            names = schema["properties"]["to"]["items"]["enum"]
            return AgentResponse(json.dumps({"message": f"Question {observation.turn_number}: what do you enjoy?",
                                             "to": names}))
        names = schema["properties"]["probabilities"]["required"]
        must_guess = None not in schema["properties"]["guess"]["enum"]
        return AgentResponse(json.dumps({"rationale": "still listening",
                                         "probabilities": {n: 1 / len(names) for n in names},
                                         "guess": names[0] if must_guess else None}))

    async def close(self) -> None:
        return None


async def eventually(check: Callable[[], bool], *, within: float = 15.0) -> None:
    """Waits for a condition driven by another process (a guard against hanging, not a timing check)."""
    end = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


class ThirdParty:
    """A plain paho-mqtt client (its own network thread), as any outside program would be.
    It (re)subscribes to `follow` on every connect and reconnects on its own."""

    def __init__(self, url: BrokerUrl, username: str | None, password: str | None,
                 follow: tuple[str, ...] = (), *, client_id: str | None = None, clean_session: bool = True,
                 reconnect: bool = True) -> None:
        self.follow = follow
        self.connects = 0  # accepted connections
        self.messages: list[tuple[str, bytes]] = []
        self.granted: dict[int, list[int]] = {}
        self.connack: int | None = None
        self.ready = 0  # connections whose `follow` subscriptions the broker has answered
        self._follow_mids: set[int] = set()
        self.answered = threading.Event()
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id or f"third-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv311, clean_session=clean_session, reconnect_on_failure=reconnect)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect_async(url.host, url.port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connack = reason_code.value
        self.connects += reason_code.value == 0
        if reason_code.value == 0 and self.follow:
            _, mid = client.subscribe([(t, 1) for t in self.follow])
            with self._lock:
                self._follow_mids.add(mid)
        self.answered.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._lock:
            self.granted[mid] = [rc.value for rc in reason_codes]
            if mid in self._follow_mids:
                self.ready += 1

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload))

    def subscribe(self, topic: str) -> int:
        _, mid = self.client.subscribe(topic, qos=1)
        return mid

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        # Off the event loop: an embedded broker shares it and must answer the PUBACK.
        await asyncio.to_thread(self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish, 10)

    def topics(self) -> list[str]:
        with self._lock:
            return [t for t, _ in self.messages]

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [p for _, p in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
