"""`arena`: the command line. Exit 0 on success, 2 on bad input."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from persona_arena import logs
from persona_arena.commands.support import (
    DbOption, check_out_folder, console, err_console, fail,
)

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="persona-arena: games that reveal the identity and motivations of LLM personas.")
schema_app = typer.Typer(no_args_is_help=True, help="JSON Schemas of the file formats.")
app.add_typer(schema_app, name="schema")


@app.callback()
def main_options(
    log_json: Annotated[bool, typer.Option("--log-json", help="log JSON lines to stderr")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress (info level)")] = False,
) -> None:
    logs.configure(json_lines=log_json, verbose=verbose)


@app.command()
def games() -> None:
    """List the installed games (plugins included)."""
    from persona_arena.games.registry import installed_games

    table = Table("game", "description")
    for name, game in sorted(installed_games().items()):
        table.add_row(name, game.description)
    console.print(table)


@app.command()
def agents() -> None:
    """List the agent specs that can be named (plugins included)."""
    from persona_arena.agents.registry import available_agents

    table = Table("spec", "description")
    for spec, description in available_agents():
        table.add_row(spec, description)
    console.print(table)
    console.print("Settings follow the spec after ';', e.g. "
                  "'local/qwen2.5-0.5b;temperature=0.7;system_prompt=You are Ada.'")


@app.command()
def runs(db: DbOption = None) -> None:
    """List the recorded runs."""
    asyncio.run(_runs(db))


async def _runs(db: str | None) -> None:
    from persona_arena.server.store import Store

    store = await Store.open(db, existing=True)
    try:
        rows = await store.runs()
        usage = await store.usage_by_run()
    finally:
        await store.close()
    table = Table("created", "games done/planned", "sessions by status", "tokens", "cost")
    table.columns.insert(0, Column("run", no_wrap=True))
    for r in rows:
        created = r["created_at"].strftime("%Y-%m-%d %H:%M:%S") if r["created_at"] else "-"
        done = r["status"].get("finished", 0)
        planned = r["meta"].get("planned", done)
        spent = usage.get(r["id"], {"tokens": 0, "cost_usd": 0.0})
        table.add_row(r["id"], created, f"{done}/{planned}",
                      ", ".join(f"{k} {v}" for k, v in sorted(r["status"].items())),
                      f"{int(spent['tokens']):,}", f"${spent['cost_usd']:.4f}")
    console.print(table)


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@app.command()
def export(
    run: Annotated[str, typer.Argument(help="the run id (see `arena runs`)")],
    out: Annotated[Path, typer.Option("--out", help="folder to write into")],
    format: Annotated[ExportFormat, typer.Option("--format", help="jsonl: one file per session; "
                                                 "csv / parquet: events and games tables")] = ExportFormat.jsonl,
    db: DbOption = None,
) -> None:
    """Export a run's event logs (JSONL per session) or tidy tables (CSV or Parquet)."""
    asyncio.run(_export(run, out, format, db))


async def _export(run: str, out: Path, format: ExportFormat, db: str | None) -> None:
    from persona_arena.commands.report import session_infos
    from persona_arena.scoring.report import report_for_run, session_game
    from persona_arena.server.store import Store
    from persona_arena.transcripts.jsonl import write_jsonl
    from persona_arena.transcripts.tables import (
        write_events_csv, write_events_parquet, write_games_csv, write_games_parquet,
    )

    check_out_folder(out)
    store = await Store.open(db, existing=True)
    try:
        row = await store.run(run)
        sessions = await store.sessions(run)
        if row is None or not sessions:
            fail(f"no run {run!r} (or it has no sessions); see `arena runs`")
        events = {s.id: await store.events(s.id) for s in sessions}
    finally:
        await store.close()
    out.mkdir(parents=True, exist_ok=True)
    if format is ExportFormat.jsonl:
        for session_id, session_events in events.items():
            write_jsonl(session_events, out / f"{session_id}.jsonl")
        console.print(f"{len(sessions)} sessions written to {out}/")
        return
    suffix = format.value
    write_events, write_games = ((write_events_csv, write_games_csv) if format is ExportFormat.csv
                                 else (write_events_parquet, write_games_parquet))
    n_events = write_events((e for evs in events.values() for e in evs), {s.id: s.status for s in sessions},
                            out / f"events.{suffix}")
    infos = session_infos(sessions, events)
    report = report_for_run(run, row.meta, infos)
    written = [(write_games(report["sessions"], out / f"games.{suffix}"), report["game"], out / f"games.{suffix}")]
    # A run of `arena play` may hold games of several kinds: each kind gets a table of its own.
    for kind in sorted({session_game(i) for i in infos if i.events} - {report["game"], None}):
        path = out / f"games-{kind}.{suffix}"
        other = report_for_run(run, {**row.meta, "game": kind}, infos)
        written.append((write_games(other["sessions"], path), kind, path))
    console.print(f"{n_events} events → {out / f'events.{suffix}'}, "
                  + ", ".join(f"{n} finished {kind} games → {path}" for n, kind, path in written))


@schema_app.command("transcript")
def schema_transcript() -> None:
    """Print the JSON Schema of one transcript line (an event)."""
    from persona_arena.core.events import event_json_schema

    print(json.dumps(event_json_schema(), indent=2))


# Command groups in their own modules (see persona_arena/commands/).
from persona_arena.commands import play as _play  # noqa: E402
from persona_arena.commands import report as _report  # noqa: E402
from persona_arena.commands import tournament as _tournament  # noqa: E402

_play.register(app)
_tournament.register(app)
_report.register(app)
from persona_arena.commands import bench as _bench; _bench.register(app)  # noqa: E402,E702
from persona_arena.commands import serve as _serve; _serve.register(app)  # noqa: E402,E702
from persona_arena.commands import tui as _tui; _tui.register(app)  # noqa: E402,E702
from persona_arena.commands import score as _score; _score.register(app)  # noqa: E402,E702
from persona_arena.commands import importer as _importer; _importer.register(app)  # noqa: E402,E702


def main() -> None:
    from persona_arena.server.db_url import DatabaseUnavailable

    try:
        app()
    except DatabaseUnavailable as err:  # from any command: a bad --db / ARENA_DB; nothing was written
        err_console.print(f"[bold red]error:[/] {escape(str(err))}")
        sys.exit(2)
