"""Tidy CSV tables of a run for pandas & co: one row per event, one row per game."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from persona_arena.core.events import Event

EVENT_COLUMNS = ("run_id", "session_id", "seq", "ts", "type", "actor", "visible_to", "payload")
USAGE_COLUMNS = ("prompt_tokens", "completion_tokens", "cost_usd")


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def write_events_csv(events: Iterable[Event], path: Path) -> int:
    """`visible_to` and `payload` are JSON text in their cells."""
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(EVENT_COLUMNS)
        for e in events:
            row = e.model_dump(mode="json", by_alias=True)
            writer.writerow([_cell(row[c]) for c in EVENT_COLUMNS])
            n += 1
    return n


def write_games_csv(rows: list[dict[str, Any]], path: Path) -> int:
    """Rows as in the report's `sessions` list (its keys are the columns, in order), usage
    flattened into columns and nested values as JSON text."""
    columns = [k for k in (rows[0] if rows else {}) if k != "usage"] + list(USAGE_COLUMNS)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for r in rows:
            flat = {**r, **r.get("usage", {})}
            writer.writerow([_cell(flat.get(c)) for c in columns])
    return len(rows)
