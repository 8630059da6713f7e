"""Folds a session's events into what one perspective shows: the god view (every event) or
exactly what one player could see (the events whose `visible_for(player)` is true).

Folding is incremental and only goes as far as the screen asks, so opening a long transcript
costs nothing until the replay reaches its end. One event gives at most one conversation
`Entry`; the side panel (probabilities, the standing proposal) is computed from the visible
events of a few types up to the cursor, so stepping backwards needs no re-folding.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from rich.console import RenderableType

from persona_arena.core.events import PUBLIC, SERVER_ACTOR, Event
from persona_arena.tui.sources import EventSource

GOD = "god"  # the perspective that sees every event; not a player id


class EntryKind(StrEnum):
    ROUND = "round"            # a round separator
    UTTERANCE = "utterance"    # what a player said in the game
    PRIVATE = "private"        # a player's own channel: scratchpad, brief, debrief
    VERDICT = "verdict"        # a judgement or a move (proposal, response, verdict)
    SYSTEM = "system"          # the server announcing something to players
    SECRET = "secret"          # facts only the god view has: setup, scores, censor, outcome
    VIOLATION = "violation"    # a broken rule
    PLUMBING = "plumbing"      # turn requests and raw agent replies (shown with `raw`)


@dataclass(frozen=True)
class Tag:
    """A scorer tag on a span of an utterance's text (character offsets, end exclusive)."""

    label: str
    start: int
    end: int

    @classmethod
    def parse(cls, raw: Any, text_length: int) -> Tag | None:
        """A tag as the scorer stores it, or None if it does not fit the text. A tag without
        offsets labels the whole utterance."""
        if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) or not text_length:
            return None
        start, end = raw.get("start", 0), raw.get("end", text_length)
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= text_length:
            return None
        return cls(raw["label"], start, end)


@dataclass(frozen=True)
class Described:
    """What a game view makes of one event (before the projection places it)."""

    kind: EntryKind
    speaker: str
    text: str = ""              # tag offsets refer to this text, exactly as recorded
    note: str = ""              # addressees, a move's summary…
    round: int | None = None


@dataclass(frozen=True)
class Entry:
    index: int                  # position in the source
    seq: int
    type: str
    kind: EntryKind
    speaker: str
    text: str
    note: str
    audience: str               # "public", "god only", or the player ids who could see it
    tags: tuple[Tag, ...] = ()
    round: int | None = None

    @property
    def god_only(self) -> bool:
        return self.audience == "god only"

    @property
    def public(self) -> bool:
        return self.audience == PUBLIC


@dataclass
class Known:
    """What the perspective has learned so far from the events it could see."""

    perspective: str
    names: dict[str, str] = field(default_factory=dict)   # player id -> display name
    facts: dict[str, Any] = field(default_factory=dict)   # game-specific (e.g. the twin)

    @property
    def god(self) -> bool:
        return self.perspective == GOD

    def label(self, player: str) -> str:
        if player == SERVER_ACTOR:
            return "server"
        name = self.names.get(player)
        you = " (you)" if player == self.perspective else ""
        if name and name != player:
            return f"{name} ({player}){you}" if self.god else f"{name}{you}"
        return f"{player}{you}"


class PanelEvents:
    """The visible events of the panel's types, up to the cursor."""

    def __init__(self, kept: dict[str, list[Event]], kept_index: dict[str, list[int]], upto: int) -> None:
        self._kept, self._kept_index, self._upto = kept, kept_index, upto

    def all(self, type_: str) -> list[Event]:
        n = bisect_right(self._kept_index.get(type_, []), self._upto)
        return self._kept.get(type_, [])[:n]

    def last(self, type_: str) -> Event | None:
        events = self.all(type_)
        return events[-1] if events else None


class GameView(Protocol):
    """How one game's events read: entries for the conversation, and the side panel."""

    game: str
    panel_types: frozenset[str]

    def learn(self, event: Event, known: Known) -> None:
        """Updates what the perspective knows (names, roles) from an event it can see."""

    def describe(self, event: Event, known: Known) -> Described | None: ...

    def panel(self, events: PanelEvents, known: Known) -> RenderableType: ...

    def players(self, setup: dict[str, Any]) -> list[str]:
        """The player ids in the order the perspective switch offers them."""


TagsOf = Callable[[Event], Iterable[Any]]


def payload_tags(event: Event) -> Iterable[Any]:
    """Tags the scorer stored on the event itself (`payload.tags`)."""
    tags = event.payload.get("tags")
    return tags if isinstance(tags, list) else ()


def audience_of(event: Event) -> str:
    if event.visible_to == PUBLIC:
        return PUBLIC
    return ", ".join(event.visible_to) if event.visible_to else "god only"


class Projection:
    """The entries one perspective shows, folded from the source as far as asked."""

    def __init__(self, source: EventSource, view: GameView, perspective: str, *, raw: bool = False,
                 tags_of: TagsOf = payload_tags) -> None:
        self.source, self.view, self.raw, self.tags_of = source, view, raw, tags_of
        self.known = Known(perspective)
        self.entries: list[Entry] = []
        self._entry_index: list[int] = []        # entries' source positions, for bisect
        self._kept: dict[str, list[Event]] = {t: [] for t in view.panel_types}
        self._kept_index: dict[str, list[int]] = {t: [] for t in view.panel_types}
        self.folded = 0                          # source positions folded so far

    @property
    def perspective(self) -> str:
        return self.known.perspective

    def sees(self, event: Event) -> bool:
        return self.known.god or event.visible_for(self.known.perspective)

    @property
    def exhausted(self) -> bool:
        """Everything available now is folded (a live source may still grow)."""
        return self.folded >= len(self.source)

    def _fold_one(self) -> None:
        index = self.folded
        event = self.source.event(index)
        self.folded += 1
        if not self.sees(event):
            return
        self.view.learn(event, self.known)
        if event.type in self._kept:
            self._kept[event.type].append(event)
            self._kept_index[event.type].append(index)
        described = self.view.describe(event, self.known)
        if described is None or (described.kind is EntryKind.PLUMBING and not self.raw):
            return
        tags = tuple(t for t in (Tag.parse(raw, len(described.text)) for raw in self.tags_of(event))
                     if t is not None)
        self.entries.append(Entry(
            index=index, seq=event.seq, type=event.type, kind=described.kind, speaker=described.speaker,
            text=described.text, note=described.note, audience=audience_of(event), tags=tags,
            round=described.round))
        self._entry_index.append(index)

    def ensure_entries(self, count: int) -> None:
        """Folds until `count` entries exist or the source (as it is now) is exhausted."""
        while len(self.entries) < count and not self.exhausted:
            self._fold_one()

    def ensure_index(self, index: int) -> None:
        """Folds every source position up to and including `index`."""
        while self.folded <= index and not self.exhausted:
            self._fold_one()

    def fold_all(self) -> None:
        while not self.exhausted:
            self._fold_one()

    def entry_at_or_before(self, index: int) -> int | None:
        """The last entry whose source position is ≤ `index`, folding up to it."""
        self.ensure_index(index)
        n = bisect_right(self._entry_index, index)
        return n - 1 if n else None

    def panel_events(self, upto_index: int) -> PanelEvents:
        return PanelEvents(self._kept, self._kept_index, upto_index)

    def find_tagged(self, start: int, step: int, label: str | None) -> int | None:
        """The next (step=1) or previous (step=-1) entry after `start` carrying a tag (of
        `label`, if given), folding forward as far as needed."""
        i = start + step
        while True:
            if step > 0:
                self.ensure_entries(i + 1)
            if not 0 <= i < len(self.entries):
                return None
            if any(label is None or t.label == label for t in self.entries[i].tags):
                return i
            i += step

    def tag_labels(self) -> list[str]:
        """Labels on the entries folded so far, in order of first appearance."""
        return list(dict.fromkeys(t.label for e in self.entries for t in e.tags))
