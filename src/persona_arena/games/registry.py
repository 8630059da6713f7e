"""Installed games: the built-ins plus entry points in group `persona_arena.games`."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from persona_arena.games.base import Game

ENTRY_POINT_GROUP = "persona_arena.games"


class UnknownGame(KeyError):
    pass


@cache
def installed_games() -> dict[str, type[Game]]:
    from persona_arena.games.negotiation.game import Negotiation
    from persona_arena.games.reverse_turing.game import ReverseTuring

    games: dict[str, type[Game]] = {ReverseTuring.name: ReverseTuring, Negotiation.name: Negotiation}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        games.setdefault(ep.name, ep.load())
    return games


def get_game(name: str) -> Game:
    try:
        return installed_games()[name]()
    except KeyError:
        known = ", ".join(sorted(installed_games()))
        raise UnknownGame(f"unknown game {name!r}; installed: {known}") from None
