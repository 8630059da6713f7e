"""The sample transcripts shipped in transcripts/samples/ stay readable with today's schema."""

from pathlib import Path

from persona_arena.scoring.summary import summarise
from persona_arena.transcripts.jsonl import read_jsonl

SAMPLES = Path(__file__).resolve().parents[1] / "transcripts" / "samples"


def test_samples_parse_and_summarise():
    files = sorted(SAMPLES.glob("*.jsonl"))
    assert files
    for path in files:
        events = read_jsonl(path)
        summary = summarise(events)
        assert summary.outcome and summary.outcome["result"] in ("correct", "wrong", "no-guess")
