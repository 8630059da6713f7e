import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from persona_arena.server.store import Store  # noqa: E402


@pytest.fixture
async def store(tmp_path):
    s = await Store.open(f"sqlite:///{tmp_path / 'arena.db'}")
    yield s
    await s.close()
