"""Where a replayed or watched session's events come from, behind one small interface.

A source hands out events by position (0 … len-1). Parsing is lazy: a JSONL transcript is only
scanned for line offsets when opened, and a line is parsed into an `Event` the first time the
replay reaches it, so a 10,000-event file opens in the time of one pass over its bytes. A live
source grows while a game is being played.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from persona_arena.core.events import Event
from persona_arena.transcripts.jsonl import TranscriptError

_SCAN_CHUNK = 1 << 20


class EventSource(Protocol):
    title: str
    live: bool  # may still grow (a game being watched)

    def __len__(self) -> int:
        """How many events are available now."""

    def event(self, index: int) -> Event: ...


class ListSource:
    """Events already in memory: a session read from the database."""

    def __init__(self, events: Sequence[Event], title: str) -> None:
        self._events = list(events)
        self.title = title
        self.live = False

    def __len__(self) -> int:
        return len(self._events)

    def event(self, index: int) -> Event:
        return self._events[index]


class LiveSource:
    """A session arriving event by event (the spectator stream). The bus publishes a session's
    events in `seq` order on one connection, so they arrive in order; gaps are normal (the
    public topic carries only public events, and a spectator may join mid-game). Delivery is
    at-least-once: an event whose `seq` is not past the last one kept is a resend, dropped."""

    def __init__(self, session_id: str, title: str | None = None) -> None:
        self.session_id = session_id
        self.title = title or session_id
        self.live = True
        self.finished = False
        self._events: list[Event] = []

    def __len__(self) -> int:
        return len(self._events)

    def event(self, index: int) -> Event:
        return self._events[index]

    def add(self, event: Event) -> bool:
        """Takes one event; False if it was a resend."""
        if self._events and event.seq <= self._events[-1].seq:
            return False
        self._events.append(event)
        if event.type in ("game.ended", "game.outcome"):  # the public stream carries only the first
            self.finished = True
        return True


class JsonlSource:
    """A transcript file, one event per line: one session, `seq` gapless from 0 (the same
    rules as `transcripts.jsonl.read_jsonl`), checked for the whole file on open; each event
    is validated when first read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.title = path.name
        self.live = False
        self._offsets = _line_offsets(path)
        if not self._offsets:
            raise TranscriptError(f"{path}: no events")
        self._parsed: list[Event | None] = [None] * len(self._offsets)
        self._file = path.open("rb")
        self.event(0)  # a file that is not a transcript fails here, before any screen opens
        self._check_order()

    def __len__(self) -> int:
        return len(self._offsets)

    def event(self, index: int) -> Event:
        cached = self._parsed[index]
        if cached is not None:
            return cached
        start, end, lineno = self._offsets[index]
        self._file.seek(start)
        line = self._file.read(end - start)
        try:
            event = Event.model_validate_json(line)
        except ValidationError as err:
            raise TranscriptError(f"{self.path}:{lineno}: not a valid event: {err.errors()[0]['msg']}") from None
        self._parsed[index] = event  # its seq and session were checked on open (_check_order)
        return event

    def _check_order(self) -> None:
        """Every line is JSON with the next `seq` of the same session: checked on open (plain
        JSON, no validation: a few ms per thousand events), so a broken or joined file fails
        before any screen opens rather than when the reader reaches the line."""
        session_id = self.event(0).session_id
        for index, (start, end, lineno) in enumerate(self._offsets):
            self._file.seek(start)
            try:
                row = json.loads(self._file.read(end - start))
            except ValueError:
                raise TranscriptError(f"{self.path}:{lineno}: not a valid event: not JSON") from None
            if not isinstance(row, dict) or row.get("seq") != index:
                found = row.get("seq") if isinstance(row, dict) else None
                raise TranscriptError(f"{self.path}:{lineno}: events are not in gapless seq order "
                                      f"(expected seq {index}, found {found})")
            if row.get("session_id") != session_id:
                raise TranscriptError(f"{self.path}:{lineno}: a second session ({row.get('session_id')}) "
                                      "in one transcript")

    def close(self) -> None:
        self._file.close()


def _line_offsets(path: Path) -> list[tuple[int, int, int]]:
    """(start, end, line number) of every non-blank line, found without decoding the file."""
    offsets: list[tuple[int, int, int]] = []
    position, lineno, carry = 0, 0, b""
    with path.open("rb") as f:
        while chunk := f.read(_SCAN_CHUNK):
            data = carry + chunk
            base = position - len(carry)
            start = 0
            while (newline := data.find(b"\n", start)) != -1:
                lineno += 1
                if data[start:newline].strip():
                    offsets.append((base + start, base + newline, lineno))
                start = newline + 1
            carry = data[start:]
            position += len(chunk)
    if carry.strip():
        offsets.append((position - len(carry), position, lineno + 1))
    return offsets
