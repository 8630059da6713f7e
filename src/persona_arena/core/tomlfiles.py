"""Reading TOML data files (scenarios, personas, tournaments, models) with errors that name
the file and, through pydantic, the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from persona_arena.core.validation import field_errors

M = TypeVar("M", bound=BaseModel)


def read_toml(path: Path, error: type[Exception], what: str = "file") -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path}: not valid TOML: {err}") from None


def load_toml_model(path: Path, model: type[M], error: type[Exception], what: str) -> M:
    """`path` read and validated as `model`; `error(message)` on any problem."""
    data = read_toml(path, error, what)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise error(f"{path}: {field_errors(err, what.split()[0])}") from None
