"""SVG snapshots (pytest-textual-snapshot) of the main screens at 80×24: Runs, Replay of both
games from the god view and from one player's view, and Watch. After a deliberate change of
the screens, review and accept the new images with `pytest tests/test_tui_snapshots.py
--snapshot-update`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from test_tui_runs import build_db

from persona_arena.core.events import Event
from persona_arena.transcripts.jsonl import read_jsonl
from persona_arena.tui.app import ArenaApp
from persona_arena.tui.sources import JsonlSource

ROOT = Path(__file__).resolve().parents[1]
RT_SAMPLE = ROOT / "transcripts" / "samples" / "quickstart-gemma-judge.jsonl"
NEGOTIATION = ROOT / "tests" / "data" / "tui-negotiation.jsonl"
SIZE = (80, 24)


async def painted(pilot) -> None:
    await pilot.app.first_paint.wait()
    await pilot.pause()


def test_replay_reverse_turing_god_view_at_first_verdict(snap_compare):
    app = ArenaApp.replay(JsonlSource(RT_SAMPLE))
    assert snap_compare(app, terminal_size=SIZE, run_before=painted, press=["right"] * 6)


def test_replay_reverse_turing_as_a_candidate(snap_compare):
    app = ArenaApp.replay(JsonlSource(RT_SAMPLE))
    assert snap_compare(app, terminal_size=SIZE, run_before=painted, press=["end", "v", "v", "v"])


def test_replay_negotiation_god_view_at_the_deal(snap_compare):
    app = ArenaApp.replay(JsonlSource(NEGOTIATION))
    assert snap_compare(app, terminal_size=SIZE, run_before=painted, press=["end", "left", "left", "left", "left"])


def test_replay_negotiation_as_a_party_with_tags(snap_compare):
    app = ArenaApp.replay(JsonlSource(NEGOTIATION))
    assert snap_compare(app, terminal_size=SIZE, run_before=painted, press=["v", "t", "t"])


def test_runs_screen(snap_compare, tmp_path):
    db = asyncio.run(build_db(tmp_path / "arena.db"))
    assert snap_compare(ArenaApp.runs(db), terminal_size=SIZE, run_before=painted)


def test_runs_leaderboard(snap_compare, tmp_path):
    db = asyncio.run(build_db(tmp_path / "arena.db"))

    async def leaderboard(pilot) -> None:
        await painted(pilot)
        await pilot.press("l")
        await pilot.app.screen.leaderboard_ready.wait()
        await pilot.pause()

    assert snap_compare(ArenaApp.runs(db), terminal_size=SIZE, run_before=leaderboard)


def test_watch_screen(snap_compare):
    events = [e for e in read_jsonl(NEGOTIATION) if e.visible_to == "public"]

    async def stream() -> AsyncIterator[Event]:  # the network edge: what the broker would deliver
        for event in events:
            yield event
        await asyncio.Event().wait()

    async def received(pilot) -> None:
        await painted(pilot)
        while sum(map(len, pilot.app.screen.sources.values())) < len(events):
            await pilot.pause(0.02)
        await pilot.pause()

    app = ArenaApp.watch(stream, description="mqtt://127.0.0.1:1883 (public events)")
    assert snap_compare(app, terminal_size=SIZE, run_before=received)
