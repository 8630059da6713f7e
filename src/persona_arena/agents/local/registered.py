"""Local models registered by name in a config file, so that `local/<name>` can mean any GGUF
file a researcher has (with its prompt mode, context size and, optionally, a pinned sha256).

The file is `$ARENA_MODELS`, else `~/.config/persona-arena/models.toml`:

    [models.llama-3.2-1b]
    path = "~/models/Llama-3.2-1B-Instruct-Q4_K_M.gguf"
    prompt_mode = "auto"      # chat | completion | auto (chat if the file has a chat template)
    n_ctx = 8192
    sha256 = "…"              # optional: a file that does not match is refused
    description = "Llama 3.2 1B Instruct"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from persona_arena.core.tomlfiles import load_toml_model


class RegisteredModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    prompt_mode: Literal["chat", "completion", "auto"] = "auto"
    n_ctx: int = Field(default=4096, ge=256, le=1_048_576)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    description: str = ""


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[str, RegisteredModel] = Field(default_factory=dict)


class RegistryError(ValueError):
    """A models file that cannot be read; the message names the file and the field."""


def models_file() -> Path:
    configured = os.environ.get("ARENA_MODELS")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "persona-arena" / "models.toml"


def registered_models() -> dict[str, RegisteredModel]:
    """The registered models ({} when there is no file). Read on every call: it is small, and
    a researcher editing it expects the next command to see the change."""
    path = models_file()
    if not path.is_file():
        if os.environ.get("ARENA_MODELS"):
            raise RegistryError(f"ARENA_MODELS names {path}, which does not exist")
        return {}
    return load_toml_model(path, ModelsFile, RegistryError, "file").models
