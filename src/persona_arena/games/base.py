"""The `Game` protocol every rule engine implements.

A game is deterministic given (config, seed, replies): the runner calls `setup`, then loops
`next_turn` → agent → `apply` until `next_turn` returns None, then reads `outcome`. The state
is owned by the runner and passed back in; `apply` may update it in place. Observations are
built only from the events a player may see, so what a player is shown can be checked by
looking at the events alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from persona_arena.core.events import PUBLIC, EventDraft
from persona_arena.core.observations import Observation, Reply
from persona_arena.core.specs import AgentSpec


@dataclass
class GameState:
    """What every game state has: the events so far (in order) and whether it has ended."""

    events: list[EventDraft] = field(default_factory=list)
    finished: bool = False

    def visible_events(self, player: str) -> list[EventDraft]:
        return [e for e in self.events if e.visible_for(player)]

    def emit(self, *drafts: EventDraft) -> list[EventDraft]:
        self.events.extend(drafts)
        return list(drafts)


def game_over(outcome: dict[str, Any], public: dict[str, Any]) -> list[EventDraft]:
    """The events that end a game: `game.ended`, public, with what anyone may know of the
    result (so a spectator of the public stream sees the game end), then `game.outcome`, the
    whole outcome in the god view only, always the last event of a game."""
    return [EventDraft(type="game.ended", visible_to=PUBLIC, payload=public),
            EventDraft(type="game.outcome", visible_to=[], payload=outcome)]


@dataclass
class GameStart:
    state: Any
    events: list[EventDraft]
    players: dict[str, AgentSpec]  # player id -> the agent that plays it


@runtime_checkable
class Game(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    def setup(self, config: BaseModel, seed: int) -> GameStart: ...

    def next_turn(self, state: Any) -> Observation | None:
        """The observation of the player to act next, or None once the game is over."""

    def apply(self, state: Any, player: str, reply: Reply) -> list[EventDraft]:
        """Fold one raw reply into the state; unparseable replies become violation events."""

    def outcome(self, state: Any) -> dict[str, Any] | None: ...
