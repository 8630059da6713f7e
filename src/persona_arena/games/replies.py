"""What every game's reply parser shares: why a reply is unusable, and flaws that were repaired."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_arena.core.jsontext import NotAJsonObject, find_json_object


class Unusable(ValueError):
    """The reply cannot be used at all; the player may be asked again."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass
class Flaw:
    """A rule broken by a reply that is still used (after a repair)."""

    kind: str
    detail: str


def load_json_object(raw: str, max_chars: int) -> dict[str, Any]:
    if len(raw) > max_chars:
        raise Unusable("reply_too_long", f"reply has {len(raw)} characters, the limit is {max_chars}")
    try:
        return find_json_object(raw)
    except NotAJsonObject as err:
        raise Unusable(err.kind, err.detail) from None
