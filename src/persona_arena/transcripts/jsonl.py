"""One event per line, in `seq` order. The database is the source of truth; these are exports."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from persona_arena.core.events import Event


class TranscriptError(ValueError):
    pass


def write_jsonl(events: Iterable[Event], path: Path) -> Path:
    return write_bytes_atomically(path, jsonl_bytes(events))


def jsonl_bytes(events: Iterable[Event]) -> bytes:
    return "".join(e.to_json() + "\n" for e in events).encode("utf-8")


def write_bytes_atomically(path: Path, data: bytes) -> Path:
    """Through a temporary file and a rename: a reader never sees half a transcript. Plain
    os calls, each of which lets go of the GIL: batches call this from a worker thread while
    the event loop plays other games."""
    tmp = f"{path}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:  # the first file of its directory
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def read_jsonl(path: Path) -> list[Event]:
    """Reads and validates a transcript; errors name the line."""
    events: list[Event] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                events.append(Event.from_json(line))
            except ValidationError as err:
                raise TranscriptError(f"{path}:{lineno}: not a valid event: {err.errors()[0]['msg']}") from None
    for expected, e in enumerate(events):
        if e.seq != expected or e.session_id != events[0].session_id:
            raise TranscriptError(f"{path}: events are not one session in gapless seq order "
                                  f"(line {expected + 1} has seq {e.seq})")
    return events


def transcript_path(root: Path, run_id: str, session_id: str) -> Path:
    return root / run_id / f"{session_id}.jsonl"
