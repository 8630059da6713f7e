"""One readable line from a pydantic ValidationError: every bad field by its dotted path."""

from __future__ import annotations

from pydantic import ValidationError


def field_errors(err: ValidationError, whole: str) -> str:
    """`whole` names the object itself, for errors that belong to no single field."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg']}" for e in err.errors())
