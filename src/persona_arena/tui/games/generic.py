"""Events every game shares (rounds, turn requests, raw replies, violations), and the view used
for games the TUI has no special knowledge of: every event is still shown, with its payload."""

from __future__ import annotations

import json
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from persona_arena.core.events import Event
from persona_arena.tui.projection import Described, EntryKind, Known, PanelEvents

PAYLOAD_PREVIEW_CHARS = 400


def bar(p: float, width: int = 12) -> str:
    """A horizontal bar for a probability in [0, 1], in eighths of a cell."""
    p = min(max(p, 0.0), 1.0)
    eighths = round(p * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")).ljust(width, "·")


def rounds_text(n: object) -> str:
    return f"{n} round" if n == 1 else f"{n} rounds"


def payload_preview(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, ensure_ascii=False, default=str)
    return text if len(text) <= PAYLOAD_PREVIEW_CHARS else text[:PAYLOAD_PREVIEW_CHARS] + "…"


def common_describe(event: Event, known: Known) -> Described | None:
    """The events the runner and every game emit in the same shape; None for anything else."""
    p = event.payload
    if event.type == "round.started":
        return Described(EntryKind.ROUND, "server", note=f"round {p.get('round')}", round=p.get("round"))
    if event.type == "turn.request":
        return Described(EntryKind.PLUMBING, "server",
                         note=f"{known.label(str(p.get('player')))} to play: {p.get('turn')}")
    if event.type == "agent.reply":
        text = p.get("text")
        return Described(EntryKind.PLUMBING, known.label(str(p.get("player", event.actor))),
                         text=text if isinstance(text, str) else "",
                         note="raw reply" + (f", failed: {p['failure']}" if p.get("failure") else ""))
    if event.type == "rule.violation":
        used = "repaired and used" if p.get("used") else "not used"
        return Described(EntryKind.VIOLATION, known.label(str(p.get("player", event.actor))),
                         text=f"{p.get('kind')}: {p.get('detail')}", note=f"rule violation, {used}",
                         round=p.get("round"))
    return None


def fallback_describe(event: Event, known: Known) -> Described:
    kind = EntryKind.SECRET if event.visible_to == [] else EntryKind.SYSTEM
    return Described(kind, known.label(event.actor), text=payload_preview(event.payload), note=event.type)


class GenericView:
    panel_types: frozenset[str] = frozenset({"game.outcome"})

    def __init__(self, game: str) -> None:
        self.game = game

    def learn(self, event: Event, known: Known) -> None:
        return None

    def describe(self, event: Event, known: Known) -> Described | None:
        return common_describe(event, known) or fallback_describe(event, known)

    def panel(self, events: PanelEvents, known: Known) -> RenderableType:
        text = Text(f"{self.game}\n", style="bold")
        outcome = events.last("game.outcome")
        if outcome is not None:
            text.append("outcome\n", style="bold")
            text.append(payload_preview(outcome.payload))
        return text

    def players(self, setup: dict[str, Any]) -> list[str]:
        return []
