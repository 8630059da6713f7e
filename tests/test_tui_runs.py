"""Runs screen (Pilot) on a real SQLite database: runs, filters, leaderboard, opening a game;
and the `arena replay` command's input checks."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import structlog
from rich.console import Console
from sqlalchemy import update
from typer.testing import CliRunner

from persona_arena.cli import app as cli_app
from persona_arena.core.events import Event
from persona_arena.scoring.report import SessionInfo, build_report
from persona_arena.server.store import RunRow, Store
from persona_arena.transcripts.jsonl import read_jsonl
from persona_arena.tui.app import ArenaApp
from persona_arena.tui.bench import build_run_db
from persona_arena.tui.catalog import SqliteCatalog, StoreCatalog, sqlite_catalog
from persona_arena.tui.leaderboard import finished_events
from persona_arena.tui.screens.replay import ReplayScreen
from persona_arena.tui.screens.runs import FIRST_ROWS, Filter, RunsScreen

ROOT = Path(__file__).resolve().parents[1]
RT_SAMPLE = ROOT / "transcripts" / "samples" / "quickstart-gemma-judge.jsonl"
NEGOTIATION = ROOT / "tests" / "data" / "tui-negotiation.jsonl"
RT_RUN, NEG_RUN = "quickstart-tui", "negotiation-tui"
FIXED = datetime(2025, 1, 1, tzinfo=timezone.utc)


async def add_session(store: Store, run_id: str, session_id: str, events: list[Event], *,
                      status: str = "finished", outcome_update: dict | None = None) -> None:
    setup = events[0].payload
    game = setup["game"]
    if game == "reverse-turing":
        players = {"judge": setup["judge"], **{c["player"]: c["agent"] for c in setup["candidates"]}}
    else:
        players = {p["player"]: p["agent"] for p in setup["parties"]}
    copies = []
    for e in events:
        payload = {**e.payload, **(outcome_update or {})} if e.type == "game.outcome" else e.payload
        copies.append(e.model_copy(update={"run_id": run_id, "session_id": session_id, "payload": payload}))
    await store.start_session(session_id, run_id=run_id, game=game, seed=setup["seed"], config={},
                              players=players, job_key=session_id)
    await store.append(copies)
    await store.finish_session(session_id, status=status,
                               outcome=copies[-1].payload if status == "finished" else None,
                               error=None if status == "finished" else "RuntimeError: boom")


async def build_db(path: Path) -> str:
    """Two runs: three reverse-turing games (correct, wrong, failed) and one negotiation game."""
    store = await Store.open(f"sqlite:///{path}")
    try:
        rt = read_jsonl(RT_SAMPLE)
        await store.ensure_run(RT_RUN, {"game": "reverse-turing", "planned": 3})
        await add_session(store, RT_RUN, f"{RT_RUN}-g0000", rt)
        await add_session(store, RT_RUN, f"{RT_RUN}-g0001", rt,
                          outcome_update={"result": "wrong", "guess": "Alice", "guess_player": "candidate-2"})
        await add_session(store, RT_RUN, f"{RT_RUN}-g0002", rt[:20], status="failed")
        await store.ensure_run(NEG_RUN, {"game": "negotiation", "planned": 1})
        await add_session(store, NEG_RUN, f"{NEG_RUN}-g0000", read_jsonl(NEGOTIATION))
        async with store.engine.begin() as conn:  # fixed dates: the screens are snapshotted
            await conn.execute(update(RunRow).where(RunRow.id == RT_RUN).values(created_at=FIXED))
            await conn.execute(update(RunRow).where(RunRow.id == NEG_RUN).values(created_at=FIXED.replace(day=2)))
    finally:
        await store.close()
    return f"sqlite:///{path}"


def games_shown(screen: RunsScreen) -> list[str]:
    table = screen.query_one("#games")
    return [table.coordinate_to_cell_key((row, 0)).row_key.value for row in range(table.row_count)]


async def test_runs_filter_leaderboard_and_open_a_game(tmp_path):
    db = await build_db(tmp_path / "arena.db")
    app = ArenaApp.runs(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        assert screen.query_one("#runs").row_count == 2
        assert screen.run_id == RT_RUN
        assert games_shown(screen) == [f"{RT_RUN}-g0000", f"{RT_RUN}-g0001", f"{RT_RUN}-g0002"]

        await pilot.press("slash", *"agent:qwen")  # 'q' typed into the filter does not quit
        assert app.is_running and games_shown(screen) == []
        screen.query_one("#filter").value = ""
        await pilot.press(*"outcome:wrong")
        assert games_shown(screen) == [f"{RT_RUN}-g0001"]
        screen.query_one("#filter").value = "agent:eliza outcome:fail"
        await pilot.pause()
        assert games_shown(screen) == [f"{RT_RUN}-g0002"]
        screen.query_one("#filter").value = "game:negotiation"
        await pilot.pause()
        assert screen.query_one("#runs").row_count == 1 and screen.run_id == NEG_RUN
        screen.query_one("#filter").value = ""
        await pilot.pause()
        assert screen.run_id == NEG_RUN  # a refill keeps the run chosen (it does not jump to row 0)
        assert screen.query_one("#filter").has_focus
        await pilot.press("escape")  # esc leaves the filter, not the app
        assert app.is_running and screen.query_one("#runs").has_focus

        await pilot.press("up")  # back to the reverse-turing run
        await pilot.pause()
        assert screen.run_id == RT_RUN
        await pilot.press("l")
        await screen.leaderboard_ready.wait()
        out = io.StringIO()
        Console(width=78, file=out, color_system=None).print(screen.board)
        text = out.getvalue()
        assert "Judges" in text and "Ratings" in text
        assert "2 finished, 1 failed" in text

        await pilot.press("l")
        games = screen.query_one("#games")
        games.focus()
        games.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        replay = app.screen
        assert isinstance(replay, ReplayScreen) and replay.source.title == f"{RT_RUN}-g0001"
        await pilot.press("end")
        assert "result: wrong" in replay.plain_text()
        await pilot.press("escape")
        assert app.screen is screen


async def test_leaderboard_reads_only_what_the_report_needs(tmp_path):
    """The leaderboard loads only REPORT_EVENT_TYPES; the report must come out the same."""
    db = await build_db(tmp_path / "arena.db")
    store = await Store.open(db)
    try:
        sessions = await store.sessions(RT_RUN)
        some = await finished_events(store, RT_RUN)
        every = await finished_events(store, RT_RUN, types=None)
    finally:
        await store.close()
    assert sum(map(len, some.values())) < sum(map(len, every.values()))

    def report(events):
        return build_report(RT_RUN, {}, [SessionInfo(s.id, s.status, s.job_key, events.get(s.id, []))
                                         for s in sessions])
    assert report(some) == report(every)


async def test_sqlite_catalog_reads_what_the_store_reads(tmp_path):
    """The Runs screen reads a SQLite file with sqlite3 (no SQLAlchemy before its first paint):
    the same runs and games as through the Store."""
    db = await build_db(tmp_path / "arena.db")
    catalog = sqlite_catalog(db)
    assert isinstance(catalog, SqliteCatalog)
    store = await Store.open(db)
    try:
        assert await catalog.runs() == await store.runs()
        for run_id in (RT_RUN, NEG_RUN, "no-such-run"):
            assert await catalog.sessions(run_id) == await StoreCatalog(store).sessions(run_id)
    finally:
        await store.close()
    assert sqlite_catalog(f"sqlite:///{tmp_path / 'missing.db'}") is None  # the Store creates it
    assert sqlite_catalog("postgresql://u@h/db") is None and sqlite_catalog("sqlite:///:memory:") is None


async def test_a_database_that_does_not_exist_yet_opens_empty_through_the_store(tmp_path):
    app = ArenaApp.runs(f"sqlite:///{tmp_path / 'new.db'}")
    async with app.run_test(size=(80, 24)):
        await app.first_paint.wait()
        assert app.screen.query_one("#runs").row_count == 0 and app.screen.query_one("#games").row_count == 0
        assert isinstance(app.screen.catalog, StoreCatalog)
    assert (tmp_path / "new.db").is_file()  # created with its tables, as every command does


def test_runs_screen_paints_before_sqlalchemy_is_imported(tmp_path):
    db = asyncio.run(build_db(tmp_path / "arena.db"))
    # Looked at when the screen has been drawn: right after, it starts importing SQLAlchemy.
    script = f"""
import asyncio, sys
from persona_arena.tui.app import ArenaApp
from persona_arena.tui.screens.runs import RunsScreen

drawn = RunsScreen._drawn
def look_then_go_on(screen):
    print("at first paint:", sorted(m for m in ("sqlalchemy", "sqlmodel", "scipy") if m in sys.modules))
    drawn(screen)
RunsScreen._drawn = look_then_go_on

async def main():
    app = ArenaApp.runs({db!r})
    async with app.run_test(size=(80, 24)):
        await app.first_paint.wait()
        await app.store()  # opened after the paint, for replays
        print("then:", "sqlalchemy" in sys.modules)

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "at first paint: []" in out.stdout and "then: True" in out.stdout


async def test_a_big_run_shows_every_game_after_the_first_screenful(tmp_path):
    games = FIRST_ROWS + 40
    await build_run_db(tmp_path / "big.db", games)
    app = ArenaApp.runs(f"sqlite:///{tmp_path / 'big.db'}")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        screen = app.screen
        assert screen.query_one("#games").row_count >= FIRST_ROWS
        for _ in range(50):
            if screen.query_one("#games").row_count == games:
                break
            await pilot.pause(0.02)
        assert games_shown(screen) == [s.id for s in screen.sessions] and len(screen.sessions) == games
        screen.query_one("#filter").value = "g001"  # a new filter supersedes rows still to come
        await pilot.pause()
        assert games_shown(screen) == [f"bench-tui-g{g:04d}" for g in range(10, 20)]


def test_filter_parsing():
    f = Filter.parse("game:Rev agent:gemma outcome:wrong g0001 extra")
    assert f == Filter(game=("rev",), agent=("gemma",), outcome=("wrong",), words=("g0001", "extra"))
    assert Filter.parse("unknown:key") == Filter(words=("unknown:key",))


@pytest.fixture
def cli_runner():
    # The CLI binds structlog to the runner's stderr, which is closed after each invoke; later
    # tests in this process must not log into it.
    yield CliRunner()
    structlog.reset_defaults()


def test_replay_command_checks_its_target(tmp_path, cli_runner):
    db = asyncio.run(build_db(tmp_path / "arena.db"))
    runner = cli_runner
    result = runner.invoke(cli_app, ["replay", "no-such-run/x", "--db", db])
    assert result.exit_code == 2 and "no run 'no-such-run'" in result.output
    result = runner.invoke(cli_app, ["replay", f"{RT_RUN}/nope", "--db", db])
    assert result.exit_code == 2 and "has no session 'nope'" in result.output
    result = runner.invoke(cli_app, ["replay", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "no such transcript file" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 0}\n')
    result = runner.invoke(cli_app, ["replay", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:1: not a valid event" in result.output
    result = runner.invoke(cli_app, ["watch", "--broker", "http://nowhere"])
    assert result.exit_code == 2 and "--broker" in result.output


def test_filters_names_and_games_of_runs_played_with_arena_play():
    from persona_arena.tui.catalog import GameRow
    from persona_arena.tui.leaderboard import leaderboard_tables
    from persona_arena.tui.screens.runs import Filter, players_label, run_game

    def game(outcome, players=None):
        return GameRow("s", "r", None, "negotiation", 0, "finished", players or {"party-1": "scripted"}, outcome)

    deal, no_deal = game({"deal": True}), game({"deal": False})
    # a whole label is that label only; a part of one still matches as a substring
    assert Filter.parse("outcome:deal").matches(deal) and not Filter.parse("outcome:deal").matches(no_deal)
    assert Filter.parse("outcome:no-deal").matches(no_deal) and Filter.parse("outcome:no").matches(no_deal)
    # agents by the run's names (its agent ids, as the leaderboard shows them) and by spec
    named = game({"deal": True}, {"party-1": "scripted;seed=7", "party-2": "eliza"})
    names = {"scripted;seed=7": "alpha", "eliza": "beta"}
    assert Filter.parse("agent:alpha").matches(named, names) and Filter.parse("agent:seed=7").matches(named, names)
    assert players_label(named, names) == "alpha, beta"
    # an `arena play` run records no game in its meta: its sessions say which
    assert run_game({"meta": {}, "games": ["negotiation"]}) == "negotiation"
    assert run_game({"meta": {"game": "reverse-turing"}, "games": []}) == "reverse-turing"
    assert run_game({"meta": {}, "games": []}) == "?"
    # a run without games yet has no leaderboard of either kind
    assert "no games in run r yet" in str(leaderboard_tables("r", {"game": "reverse-turing"}, [], {}))
