"""One readable line from a pydantic ValidationError: every bad field by its dotted path."""

from __future__ import annotations

from collections.abc import Collection

from pydantic import ValidationError


def field_errors(err: ValidationError, whole: str, prefix: str = "", hide: Collection[str] = ()) -> str:
    """`whole` names the object itself, for errors that belong to no single field; `prefix`
    is where the object sits in a larger file (e.g. "game_options"); `hide`: path parts that
    are no field (the tags of a tagged union)."""
    def path(loc) -> str:
        inner = ".".join(str(p) for p in loc if p not in hide)
        return ".".join(x for x in (prefix, inner) if x) or whole

    return "; ".join(f"{path(e['loc'])}: {e['msg']}" for e in err.errors())
