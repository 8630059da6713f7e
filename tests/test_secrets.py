"""An API key set in the environment never appears in logs, events or exports — even when a
provider quotes it back in an error."""

import json
import subprocess
import sys

from persona_arena.bench.fake_openai import FakeOpenAI
from persona_arena.core.secrets import MASK, redact, secret_values

KEY = "sk-test-7f3a9c1e5b2d4f60"


def test_redact_masks_secret_environment_values_only():
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": "sk-ant-0123456789", "HOME": "/root-home-dir",
           "MY_SERVICE_TOKEN": "tok-abcdefgh", "DEBUG": "1", "DB_PASSWORD": "short"}
    assert set(secret_values(env)) == {KEY, "sk-ant-0123456789", "tok-abcdefgh"}
    text = f"Bearer {KEY} and sk-ant-0123456789 in /root-home-dir with tok-abcdefgh"
    assert redact(text, env) == f"Bearer {MASK} and {MASK} in /root-home-dir with {MASK}"
    assert redact("nothing here", env) == "nothing here"


async def test_a_leaked_key_in_a_provider_error_never_reaches_logs_events_or_exports(tmp_path):
    async with FakeOpenAI(default_mode="leaky") as server:
        env = {**__import__("os").environ, "OPENAI_API_KEY": KEY, "ARENA_LLM_ATTEMPTS": "1"}
        args = [sys.executable, "-m", "persona_arena", "--log-json", "--verbose", "play", "negotiation",
                "--party", f"openai/leaky-model;api_base={server.api_base}@honest", "--party", "scripted@plain",
                "--rounds", "1", "--run", "secret", "--db", str(tmp_path / "arena.sqlite"), "--out", str(tmp_path / "out")]
        import asyncio
        proc = await asyncio.create_subprocess_exec(*args, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 300)
        assert proc.returncode == 0, stderr.decode()
        assert server.outcomes["leaky"] >= 1  # the provider really did quote the key
    for fmt in ("jsonl", "csv", "parquet"):
        done = subprocess.run([sys.executable, "-m", "persona_arena", "export", "secret", "--format", fmt,
                               "--out", str(tmp_path / fmt), "--db", str(tmp_path / "arena.sqlite")],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    report = subprocess.run([sys.executable, "-m", "persona_arena", "report", "secret", "--json",
                             "--db", str(tmp_path / "arena.sqlite")], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=120)
    failures = [e for e in (json.loads(line) for line in next((tmp_path / "out").rglob("*.jsonl")).read_text().splitlines())
                if e["type"] == "agent.reply" and e["payload"]["failure"]]
    assert failures and all(MASK in e["payload"]["failure"] for e in failures)  # the error was kept, masked
    everything = [stdout, stderr, report.stdout.encode(), report.stderr.encode(),
                  (tmp_path / "arena.sqlite").read_bytes()]
    everything += [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".csv", ".parquet")]
    for blob in everything:
        assert KEY.encode() not in blob
