"""Importing the agents (and litellm) and playing a game against the fake server opens no
network connection except to the configured api_base. Runs in a subprocess, so that the
import order is the real one (conftest has already imported things in this process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent

SCRIPT = r"""
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])

phase = "import"
seen = []   # (phase, call, host, port)

def record(call, address):
    if isinstance(address, tuple) and len(address) >= 2:
        seen.append((phase, call, str(address[0]), address[1]))
    else:  # AF_UNIX and the like: not the network
        seen.append((phase, call, "unix:" + str(address), None))

real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
real_create_connection, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

def connect(self, address):
    record("connect", address)
    return real_connect(self, address)

def connect_ex(self, address):
    record("connect", address)
    return real_connect_ex(self, address)

def create_connection(address, *args, **kwargs):
    record("create_connection", address)
    return real_create_connection(address, *args, **kwargs)

def getaddrinfo(host, port, *args, **kwargs):
    record("getaddrinfo", (host, port))
    return real_getaddrinfo(host, port, *args, **kwargs)

socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo

before = os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP")
import persona_arena.agents.litellm_env  # noqa: E402
after = os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP")
from persona_arena.agents.litellm_env import litellm  # noqa: E402
from persona_arena.agents.registry import create_agent  # noqa: E402
import persona_arena.agents.llm  # noqa: E402

import asyncio, tempfile  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from persona_arena.core.specs import AgentSpec  # noqa: E402
from persona_arena.games.reverse_turing.config import ReverseTuringConfig  # noqa: E402
from persona_arena.games.reverse_turing.game import ReverseTuring  # noqa: E402
from persona_arena.server.runner import run_session  # noqa: E402
from persona_arena.server.store import Store  # noqa: E402


async def main():
    global phase
    store = await Store.open(f"sqlite:///{tempfile.mkdtemp()}/arena.db")
    phase = "server"
    async with FakeOpenAI() as server:
        phase = "game"
        judge = AgentSpec.parse(f"openai/fake-model;api_base={server.api_base}")
        foil = AgentSpec.parse(f"hosted_vllm/foil-model;api_base={server.api_base}")
        config = ReverseTuringConfig(judge=judge, foils=[foil], rounds=2)
        result = await run_session(ReverseTuring(), config, 3, store=store, run_id="r", agent_factory=create_agent)
        phase = "after"
    await store.close()
    return server.port, result.outcome, server.requests_served

port, outcome, served = asyncio.run(main())
print(json.dumps({"before": before, "after": after, "port": port, "outcome": outcome, "served": served,
                  "cost_map_models": len(litellm.model_cost), "seen": seen}))
"""


def test_agents_and_litellm_talk_only_to_the_configured_api_base(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k != "LITELLM_LOCAL_MODEL_COST_MAP" and "proxy" not in k.lower()}
    env["OPENAI_API_KEY"] = "sk-test"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(TESTS)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    # The cost map comes from the copy inside the litellm package, not from GitHub.
    assert report["before"] is None and report["after"] == "True"
    assert report["cost_map_models"] > 100

    assert report["outcome"]["result"] in ("correct", "wrong") and report["served"] > 0
    port = report["port"]
    network = [s for s in report["seen"] if s[3] is not None]
    # Binding the fake server resolves 127.0.0.1 (port 0); nothing else but the api_base.
    assert all(host == "127.0.0.1" and p == 0 for phase, _, host, p in network if phase == "server")
    others = [s for s in network if s[0] != "server"]
    assert others, "the socket hooks saw nothing: the test would prove nothing"
    assert {(host, p) for _, _, host, p in others} == {("127.0.0.1", port)}, others
    assert any(call == "connect" for _, call, _, _ in others)
    assert not [s for s in others if s[0] == "import"]  # importing opens no connection at all
