"""The typed event log (contract, see ARCHITECTURE.md).

Games emit `EventDraft`s; the runner stamps them with run/session ids, a gapless `seq` and a
timestamp, turning them into `Event`s. One session's events in `seq` order are its transcript.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_SCHEMA = "persona-arena/event@1"

PUBLIC: Literal["public"] = "public"

# Audience of an event: "public" (every player) or an explicit list of player ids.
# An empty list means god view only (replay, analysis, the god-view spectator topic).
Visibility = Literal["public"] | list[str]

SERVER_ACTOR = "server"


def god_only() -> list[str]:
    return []


class _Audience:
    # (no annotation here: pydantic would make it the first field of every event)
    def visible_for(self, player: str) -> bool:
        audience = self.visible_to  # type: ignore[attr-defined]
        return audience == PUBLIC or player in audience


class EventDraft(_Audience, BaseModel):
    """An event as a game produces it, before the runner places it in the log."""

    model_config = ConfigDict(frozen=True)

    type: str
    actor: str = SERVER_ACTOR
    visible_to: Visibility = Field(default_factory=god_only)
    payload: dict[str, Any] = Field(default_factory=dict)


class Event(_Audience, BaseModel):
    """One line of a transcript. Field order is the JSONL column order."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_: str = Field(default=EVENT_SCHEMA, alias="schema")
    run_id: str
    session_id: str
    seq: int = Field(ge=0, description="gapless per session, starting at 0")
    ts: datetime
    type: str
    actor: str
    visible_to: Visibility
    payload: dict[str, Any]

    @classmethod
    def stamp(cls, draft: EventDraft, *, run_id: str, session_id: str, seq: int,
              ts: datetime | None = None) -> Event:
        """The draft placed in the log. The draft was validated when the game made it, so this
        builds the instance the way `model_construct` does, without its per-field bookkeeping:
        every event of every game passes here (tests check it equals `model_construct`'s)."""
        event = cls.__new__(cls)
        _set(event, "__dict__", {
            "schema_": EVENT_SCHEMA, "run_id": run_id, "session_id": session_id, "seq": seq,
            "ts": ts or datetime.now(timezone.utc), "type": draft.type, "actor": draft.actor,
            "visible_to": draft.visible_to, "payload": draft.payload})
        _set(event, "__pydantic_fields_set__", set(_EVENT_FIELDS))
        _set(event, "__pydantic_extra__", None)
        _set(event, "__pydantic_private__", None)
        return event

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, line: str) -> Event:
        return cls.model_validate_json(line)


_set = object.__setattr__  # how pydantic itself fills a frozen model
_EVENT_FIELDS = frozenset(Event.model_fields)


def event_json_schema() -> dict[str, Any]:
    return Event.model_json_schema(by_alias=True)
