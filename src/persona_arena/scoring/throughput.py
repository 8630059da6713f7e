"""`arena bench` P5: how many utterances per second the `rules` backend tags on one core."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from persona_arena.scoring.tagger_rules import RULES, RulesTagger
from persona_arena.scoring.taxonomy import ALL_FAMILIES, families_for

# In a source checkout (the project is installed editable) the gold set is the corpus.
GOLD_PATH = Path(__file__).resolve().parents[3] / "tests" / "data" / "gold_tags.jsonl"


def bench_corpus() -> list[tuple[str, frozenset[str]]]:
    """The gold set's utterances with their families; the rules' own examples if it is absent."""
    if GOLD_PATH.is_file():
        rows = [json.loads(line) for line in GOLD_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [(r["text"], families_for(r.get("kind"))) for r in rows]
    return [(example, ALL_FAMILIES) for rule in RULES for example in rule.examples]


def measure_rules_throughput(seconds: float = 1.0, repeats: int = 3,
                             corpus: Sequence[tuple[str, frozenset[str]]] | None = None) -> dict[str, float | str]:
    """Utterances tagged per second of one core: single-threaded, timed in this process's CPU
    time (so other processes on a shared machine do not count), the best of `repeats` batches of
    at least `seconds` each."""
    items = list(corpus) if corpus is not None else bench_corpus()
    if not items:
        raise ValueError("an empty corpus cannot be measured")
    tagger = RulesTagger()
    for text, families in items:  # warm-up: first calls compile nothing, but fill caches
        tagger.tag(text, families)
    best = 0.0
    for _ in range(max(1, repeats)):
        done, start = 0, time.process_time()
        while True:
            for text, families in items:
                tagger.tag(text, families)
            done += len(items)
            elapsed = time.process_time() - start
            if elapsed >= seconds:
                break
        best = max(best, done / elapsed)
    return {"value": round(best, 1), "unit": "utterances/s"}
