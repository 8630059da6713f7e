"""The three jobs of `arena score`: tag a recorded run, tag a JSONL file, evaluate on gold."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persona_arena.core.jsontext import json_object_lines
from persona_arena.scoring.evaluate import (
    GoldError, GoldItem, check_families, compare, errors, read_gold, sample,
)
from persona_arena.scoring.tagging import Tagger
from persona_arena.scoring.tags_store import ensure_tables, save_tags
from persona_arena.scoring.taxonomy import families_for
from persona_arena.scoring.utterances import utterances_of
from persona_arena.server.store import Store

Progress = Callable[[int, int], None]
SKIPPED_STATUSES = frozenset({"abandoned"})  # superseded by a rerun: its utterances would count twice


class RunNotFound(LookupError):
    pass


class InputError(ValueError):
    """A line of an input file that cannot be scored; the message names the line and field."""


def _judge_meta(tagger: Tagger) -> dict[str, Any]:
    stats = getattr(tagger, "stats", None)
    meta: dict[str, Any] = {"version": getattr(tagger, "version", None)}
    if stats is not None:
        meta["judge"] = {"calls": stats.calls, "failures": stats.failures,
                         "unknown_labels": stats.unknown_labels, "problems": stats.problems}
    return meta


async def score_run(store: Store, run_id: str, tagger: Tagger, on_progress: Progress | None = None
                    ) -> dict[str, Any]:
    """Tags every utterance of a run's sessions (not abandoned ones) and stores the tags."""
    await ensure_tables(store)
    sessions = [s for s in await store.sessions(run_id) if s.status not in SKIPPED_STATUSES]
    if await store.run(run_id) is None or not sessions:
        raise RunNotFound(run_id)
    utterances = []
    for session in sessions:
        utterances += utterances_of(await store.events(session.id), session.players)
    tags = await tagger.tag_many([(u.text, u.families) for u in utterances], on_progress)
    stored = await save_tags(store, run_id, tagger.backend, utterances, tags, _judge_meta(tagger))
    return {"run": run_id, "backend": tagger.backend, "sessions": len(sessions),
            "utterances": len(utterances), "tags": stored, **_judge_meta(tagger)}


@dataclass(frozen=True)
class InputLine:
    id: str
    text: str
    kind: str | None


def read_input(path: Path) -> list[InputLine]:
    """Lines `{"id": str, "text": str}` (optional "kind": an event type that selects families)."""
    out: list[InputLine] = []
    for where, row in json_object_lines(path, InputError):
        if not isinstance(row.get("id"), (str, int)) or isinstance(row.get("id"), bool):
            raise InputError(f"{where}: field 'id' must be a string")
        if not isinstance(row.get("text"), str):
            raise InputError(f"{where}: field 'text' must be a string")
        kind = row.get("kind")
        if kind is not None and not isinstance(kind, str):
            raise InputError(f"{where}: field 'kind' must be a string (an event type)")
        out.append(InputLine(str(row["id"]), row["text"], kind))
    return out


async def score_file(input_path: Path, output_path: Path, tagger: Tagger,
                     on_progress: Progress | None = None) -> int:
    """Writes one output line per input line, in input order; returns how many."""
    lines = read_input(input_path)
    tags = await tagger.tag_many([(x.text, families_for(x.kind)) for x in lines], on_progress)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as f:
        for line, found in zip(lines, tags, strict=True):
            f.write(json.dumps({"id": line.id, "tags": [t.to_json() for t in found]}, ensure_ascii=False) + "\n")
    return len(lines)


async def predict(tagger: Tagger, items: list[GoldItem], on_progress: Progress | None = None,
                  families: Collection[str] | None = None) -> list[frozenset[str]]:
    """The labels `tagger` gives each gold item; only `families` are asked for when given (an
    LLM judge then makes no calls for the others)."""
    wanted = frozenset(families) if families is not None else None
    scopes = [families_for(i.kind) if wanted is None else families_for(i.kind) & wanted for i in items]
    tags = await tagger.tag_many([(i.text, scope) for i, scope in zip(items, scopes)], on_progress)
    return [frozenset(t.label for t in found) for found in tags]


async def evaluate_gold(path: Path, tagger: Tagger, *, other: Tagger | None = None,
                        split: str | None = None, sample_size: int | None = None,
                        families: Collection[str] | None = None,
                        on_progress: Progress | None = None) -> dict[str, Any]:
    """Agreement of `tagger` with the gold labels, and with `other` (e.g. rules vs an LLM judge);
    over the labels of `families` when given (e.g. only `strategy`)."""
    try:
        check_families(families)
    except ValueError as err:
        raise GoldError(str(err)) from None
    items = sample(read_gold(path, split=split), sample_size)
    if not items:
        raise GoldError(f"{path}: no gold items" + (f" in split {split!r}" if split else ""))
    kinds = [i.kind for i in items]
    gold = [i.labels for i in items]
    predicted = await predict(tagger, items, on_progress, families)
    result: dict[str, Any] = {"gold": str(path), "split": split, "n": len(items), "backend": tagger.backend,
                              "families": sorted(families) if families is not None else None,
                              "vs_gold": compare(gold, predicted, kinds, families),
                              "errors": errors(items, predicted, families), **_judge_meta(tagger)}
    if other is not None:
        other_predicted = await predict(other, items, families=families)
        result["other"] = {"backend": other.backend, "vs_gold": compare(gold, other_predicted, kinds, families),
                           "agreement": compare(other_predicted, predicted, kinds, families)}
    return result
