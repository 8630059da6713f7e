"""The fake OpenAI-compatible server for tests: see persona_arena.bench.fake_openai.

`python tests/fake_openai.py --port 8000` runs one standalone.
"""

from __future__ import annotations

import pytest

from persona_arena.bench.fake_openai import MODES, FakeOpenAI, main, sample_from_schema

__all__ = ["MODES", "FakeOpenAI", "fake_server", "sample_from_schema"]


@pytest.fixture
async def fake_server():
    """A started FakeOpenAI with default behaviour; knobs can be changed on it in the test."""
    async with FakeOpenAI() as server:
        yield server


if __name__ == "__main__":
    main()
