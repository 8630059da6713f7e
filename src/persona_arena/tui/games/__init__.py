"""How each game's events read in the TUI; unknown games fall back to a generic view."""

from __future__ import annotations

from persona_arena.core.events import Event
from persona_arena.tui.games.generic import GenericView
from persona_arena.tui.games.negotiation import NegotiationView
from persona_arena.tui.games.reverse_turing import ReverseTuringView
from persona_arena.tui.projection import GameView
from persona_arena.tui.sources import EventSource

_VIEWS: dict[str, type[GameView]] = {ReverseTuringView.game: ReverseTuringView,
                                     NegotiationView.game: NegotiationView}
# Event types that only one game emits: a spectator never sees the god-only game.setup.
_SIGNATURES = {"judge.message": ReverseTuringView.game, "candidate.reply": ReverseTuringView.game,
               "party.message": NegotiationView.game, "proposal.made": NegotiationView.game,
               "party.brief": NegotiationView.game}
DETECT_WINDOW = 200  # events looked at to recognise the game when game.setup is not visible


def view_for(game: str | None) -> GameView:
    view = _VIEWS.get(game or "")
    return view() if view is not None else GenericView(game or "unknown")


def detect_game(source: EventSource) -> str | None:
    """The game of a session: game.setup says it; otherwise an event type only it emits."""
    for i in range(min(len(source), DETECT_WINDOW)):
        event: Event = source.event(i)
        if event.type == "game.setup" and isinstance(event.payload.get("game"), str):
            return event.payload["game"]
        if event.type in _SIGNATURES:
            return _SIGNATURES[event.type]
    return None
