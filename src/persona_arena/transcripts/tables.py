"""Tidy tables of a run for pandas & co (CSV or Parquet): one row per event, one row per game.

Nested values (payloads, audiences, lists) are JSON text in their cells in both formats, so
the two give the same columns and a payload never forces a schema on the rest of the table.
The events table covers every session of the run, whatever its status (`session_status`
tells a finished game from an abandoned attempt that a rerun replaced).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from persona_arena.core.events import Event

EVENT_COLUMNS = ("run_id", "session_id", "session_status", "seq", "ts", "type", "actor", "visible_to", "payload")
JSON_EVENT_COLUMNS = ("visible_to", "payload")  # JSON text even when the value is a plain string ("public")
USAGE_COLUMNS = ("prompt_tokens", "completion_tokens", "cost_usd")


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def _event_rows(events: Iterable[Event], statuses: dict[str, str]) -> Iterable[list[Any]]:
    for e in events:
        row = e.model_dump(mode="json", by_alias=True)
        row["session_status"] = statuses.get(e.session_id)
        for c in JSON_EVENT_COLUMNS:
            row[c] = json.dumps(row[c], ensure_ascii=False)
        yield [_cell(row[c]) for c in EVENT_COLUMNS]


def _game_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    columns = [k for k in (rows[0] if rows else {}) if k != "usage"] + list(USAGE_COLUMNS)
    flat = [{**r, **r.get("usage", {})} for r in rows]
    return columns, [[_cell(f.get(c)) for c in columns] for f in flat]


def _write_parquet(columns: list[str], rows: list[list[Any]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {c: [row[i] for row in rows] for i, c in enumerate(columns)}
    pq.write_table(pa.table(data), path)
    return len(rows)


def write_events_parquet(events: Iterable[Event], statuses: dict[str, str], path: Path) -> int:
    """`statuses`: each session's status, by session id."""
    return _write_parquet(list(EVENT_COLUMNS), list(_event_rows(events, statuses)), path)


def write_games_parquet(rows: list[dict[str, Any]], path: Path) -> int:
    return _write_parquet(*_game_table(rows), path)


def write_events_csv(events: Iterable[Event], statuses: dict[str, str], path: Path) -> int:
    """`visible_to` and `payload` are JSON text in their cells; `statuses`: each session's
    status, by session id."""
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(EVENT_COLUMNS)
        for row in _event_rows(events, statuses):
            writer.writerow(row)
            n += 1
    return n


def write_games_csv(rows: list[dict[str, Any]], path: Path) -> int:
    """Rows as in the report's `sessions` list (its keys are the columns, in order), usage
    flattened into columns and nested values as JSON text."""
    columns, table = _game_table(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(table)
    return len(rows)
