"""`arena`: the command line. Exit 0 on success, 2 on bad input."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from persona_arena import logs
from persona_arena.commands.support import (
    DEFAULT_OUT, DbOption, OutOption, console, err_console, fail,
)
from persona_arena.core.specs import SpecError

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


QUICKSTART = Path(__file__).resolve().parents[2] / "tournaments" / "quickstart.toml"


@app.command()
def demo(
    rounds: Annotated[int | None, typer.Option(help="override the file's rounds per game")] = None,
    seeds: Annotated[int | None, typer.Option(help="override the file's games per judge")] = None,
    concurrency: Annotated[int | None, typer.Option(help="games at once")] = None,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """The quickstart: runs tournaments/quickstart.toml on the local models and prints the report."""
    if not QUICKSTART.is_file():
        fail(f"{QUICKSTART} is missing (arena demo runs from a checkout of the repository)")
    _run_tournament(QUICKSTART, concurrency=concurrency, db=db, out=out, cache=True, seeds=seeds,
                    game_options_update={"rounds": rounds} if rounds is not None else None)


tournament_app = typer.Typer(no_args_is_help=True, help="Run tournaments from TOML files.")
app.add_typer(tournament_app, name="tournament")


@tournament_app.command("run")
def tournament_run(
    file: Annotated[Path, typer.Argument(help="the tournament file (TOML)")],
    concurrency: Annotated[int | None, typer.Option(help="games at once (default: the file's)")] = None,
    workers: Annotated[int, typer.Option(help="processes that share the games (for runs bound by one "
                                         "core: many fast or API games; each loads its own local models)")] = 1,
    cache: Annotated[bool, typer.Option("--cache/--no-cache",
                                        help="reuse recorded LLM replies (OUT/llm-cache.sqlite)")] = True,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Run a tournament, or resume it: the same file again skips finished games."""
    _run_tournament(file, concurrency=concurrency, db=db, out=out, cache=cache, workers=workers)


def _run_tournament(file: Path, *, concurrency: int | None, db: str | None, out: Path, cache: bool,
                    seeds: int | None = None, game_options_update: dict | None = None, workers: int = 1) -> None:
    from persona_arena.agents.registry import check_spec
    from persona_arena.server.store import database_url, is_in_memory
    from persona_arena.server.tournament import TournamentError, load_tournament

    if concurrency is not None and concurrency < 1:
        fail("--concurrency must be at least 1")
    if workers < 1:
        fail("--workers must be at least 1")
    if workers > 1 and is_in_memory(database_url(db)):
        fail("--workers needs a database the worker processes can share (a file or a server), "
             "not an in-memory one")
    try:
        tournament = load_tournament(file, seeds=seeds, game_options=game_options_update)
    except TournamentError as err:
        fail(str(err))
    for i, agent in enumerate(tournament.agents):
        try:
            check_spec(agent.spec())
        except SpecError as err:
            fail(f"{file}: agents.{i}.model: {err}")
    cache_path = out / "llm-cache.sqlite" if cache else None
    if cache_path is not None:
        from persona_arena.agents.cache import ResponseCache, use_cache

        use_cache(ResponseCache(cache_path))
    try:
        run_id = asyncio.run(_tournament(tournament, file, concurrency or tournament.concurrency, db, out,
                                         workers=workers, cache_path=cache_path))
        asyncio.run(show_report(run_id, db, as_json=False))
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: finished games are saved; run the same command to resume")
        raise typer.Exit(130) from None


async def _tournament(tournament, file: Path, concurrency: int, db: str | None, out: Path, *,
                      workers: int = 1, cache_path: Path | None = None) -> str:
    from persona_arena.agents.registry import create_agent
    from persona_arena.agents.reliability import ENV_PREFIX, ReliabilitySettings
    from persona_arena.server.batch import run_batch
    from persona_arena.server.store import Store
    from persona_arena.server.tournament import prepare_run
    from persona_arena.server.workers import WorkerError, WorkerPool, WorkerSetup

    store = await Store.open(db)
    pool: WorkerPool | None = None
    starting: asyncio.Task[None] | None = None
    try:
        if workers > 1:
            # Each worker has its own provider limiters: together they stay within the one cap.
            cap = ReliabilitySettings.from_env().max_concurrency
            pool = WorkerPool(workers, WorkerSetup(
                environ={f"{ENV_PREFIX}MAX_CONCURRENCY": str(max(1, cap // workers))},
                cache_path=cache_path, db_url=store.url))
            starting = asyncio.create_task(pool.start())  # the workers start while the run is planned
        todo = await prepare_run(tournament, store, source=str(file))
        console.print(f"run [bold]{todo.run_id}[/]: {todo.planned} games planned, {todo.finished} already "
                      f"finished, {len(todo.todo)} to play" + (f" ({todo.abandoned} unfinished abandoned)"
                                                             if todo.abandoned else ""))
        if todo.todo:
            # Ctrl-C asks the games to stop at a safe point (never inside a database write);
            # a second Ctrl-C interrupts at once.
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()

            def first_interrupt() -> None:
                stop.set()
                loop.remove_signal_handler(signal.SIGINT)

            loop.add_signal_handler(signal.SIGINT, first_interrupt)
            try:
                if starting is not None:
                    await starting
                await run_batch(todo.todo, store=store, run_id=todo.run_id, export_root=out,
                                agent_factory=create_agent, concurrency=concurrency,
                                turn_timeout=tournament.turn_timeout, console=console,
                                already_done=todo.finished, stop=stop, pool=pool)
            except WorkerError as err:  # not bad input: the run failed (exit 1); a rerun resumes it
                err_console.print(f"[bold red]error:[/] {err}")
                raise typer.Exit(1) from None
            finally:
                loop.remove_signal_handler(signal.SIGINT)
            if stop.is_set():
                raise KeyboardInterrupt
    finally:
        if starting is not None:
            starting.cancel()
            with contextlib.suppress(BaseException):
                await starting
        if pool is not None:
            await pool.close()
        await store.close()
    console.print(f"transcripts: {out / todo.run_id}/")
    return todo.run_id


@app.command()
def runs(db: DbOption = None) -> None:
    """List the recorded runs."""
    asyncio.run(_runs(db))


async def _runs(db: str | None) -> None:
    from persona_arena.server.store import Store

    store = await Store.open(db)
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
    """Export a run's event logs (JSONL per session) or tidy tables (CSV)."""
    asyncio.run(_export(run, out, format, db))


async def _export(run: str, out: Path, format: ExportFormat, db: str | None) -> None:
    from persona_arena.commands.report import session_infos
    from persona_arena.scoring.report import report_for_run
    from persona_arena.server.store import Store
    from persona_arena.transcripts.jsonl import write_jsonl
    from persona_arena.transcripts.tables import (
        write_events_csv, write_events_parquet, write_games_csv, write_games_parquet,
    )

    store = await Store.open(db)
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
    n_events = write_events((e for evs in events.values() for e in evs), out / f"events.{suffix}")
    n_games = write_games(report_for_run(run, row.meta, session_infos(sessions, events))["sessions"],
                          out / f"games.{suffix}")
    console.print(f"{n_events} events → {out / f'events.{suffix}'}, "
                  f"{n_games} finished games → {out / f'games.{suffix}'}")


@schema_app.command("transcript")
def schema_transcript() -> None:
    """Print the JSON Schema of one transcript line (an event)."""
    from persona_arena.core.events import event_json_schema

    print(json.dumps(event_json_schema(), indent=2))


# Command groups in their own modules (see persona_arena/commands/).
from persona_arena.commands import play as _play  # noqa: E402
from persona_arena.commands import report as _report  # noqa: E402
from persona_arena.commands.report import show_report  # noqa: E402

_play.register(app)
_report.register(app)
from persona_arena.commands import bench as _bench; _bench.register(app)  # noqa: E402,E702
from persona_arena.commands import serve as _serve; _serve.register(app)  # noqa: E402,E702
from persona_arena.commands import tui as _tui; _tui.register(app)  # noqa: E402,E702
from persona_arena.commands import score as _score; _score.register(app)  # noqa: E402,E702
from persona_arena.commands import importer as _importer; _importer.register(app)  # noqa: E402,E702


def main() -> None:
    app()
