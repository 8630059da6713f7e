"""Third-party agents through the entry-point group `persona_arena.agents`.

`make test` installs tests/example_plugin (package `arena-example-plugin`), which registers `echo`.
"""

import subprocess
import sys

from persona_arena.agents.registry import available_agents, create_agent
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.runner import run_session


def test_the_example_plugin_is_listed():
    assert ("echo", "plugin") in available_agents()
    out = subprocess.run([sys.executable, "-m", "persona_arena", "agents"], capture_output=True, text=True).stdout
    assert "echo" in out


async def test_the_example_plugin_plays_a_game(store):
    config = ReverseTuringConfig(judge=AgentSpec.parse("echo"), foils=[AgentSpec.parse("eliza")], rounds=2)
    result = await run_session(ReverseTuring(), config, 0, store=store, run_id="plugin", agent_factory=create_agent)
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    events = await store.events(result.session_id)
    twin_player = result.outcome["twin_player"]
    twin_replies = [e.payload["text"] for e in events if e.type == "candidate.reply" and e.actor == twin_player]
    assert twin_replies and all(t.startswith("echo:") for t in twin_replies)
