"""The sample transcripts shipped in transcripts/samples/ stay readable with today's schema."""

from pathlib import Path

from persona_arena.scoring.summary import summarise
from persona_arena.transcripts.jsonl import read_jsonl

SAMPLES = Path(__file__).resolve().parents[1] / "transcripts" / "samples"


def test_samples_parse_and_summarise():
    files = sorted(SAMPLES.glob("*.jsonl"))
    assert files
    games = set()
    for path in files:
        events = read_jsonl(path)
        game = events[0].payload["game"]
        games.add(game)
        if game == "negotiation":
            outcome = next(e.payload for e in events if e.type == "game.outcome")
            assert isinstance(outcome["deal"], bool) and set(outcome["scores"]) == {"party-1", "party-2"}
            assert any(e.type == "party.scratchpad" for e in events)
        else:
            summary = summarise(events)
            assert summary.outcome and summary.outcome["result"] in ("correct", "wrong", "no-guess")
    assert games == {"reverse-turing", "negotiation"}
