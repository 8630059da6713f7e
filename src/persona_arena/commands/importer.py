"""`arena import rtt-json DIR --run NAME`: external reverse-Turing games into an ordinary run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from persona_arena.commands.support import DbOption, check_run_name, console, err_console, fail

import_app = typer.Typer(help="Import games recorded elsewhere into a run.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("rtt-json")
def rtt_json(
    directory: Annotated[Path, typer.Argument(help="folder of game files (*.json, searched recursively)")],
    run: Annotated[str, typer.Option("--run", help="the run to import into (created if new)")],
    db: DbOption = None,
) -> None:
    """Reverse-Turing games in the format of github.com/nielsrolf/reverse-turing-test (one JSON
    object per game: metadata + trajectory). Invalid files are reported by name and skipped;
    each file is imported whole or not at all; files already imported into RUN are skipped."""
    if not directory.is_dir():
        fail(f"{directory}: not a folder")
    check_run_name(run)
    asyncio.run(_import(directory, run, db))


async def _import(directory: Path, run: str, db: str | None) -> None:
    from persona_arena.server.store import Store
    from persona_arena.transcripts.import_rtt import ImportTargetError, import_directory

    store = await Store.open(db)
    try:
        result = await import_directory(store, directory, run)
    except ImportTargetError as err:
        fail(f"--run: {err}")
    finally:
        await store.close()
    for name, why in result.skipped:
        err_console.print(f"[yellow]skipped[/] {name}: {why}")
    if result.imported:
        table = Table("file", "session", title=f"imported into run {run!r}")
        for name, session in result.imported:
            table.add_row(name, session)
        console.print(table)
    console.print(f"{len(result.imported)} imported, {len(result.already)} already in the run, "
                  f"{len(result.skipped)} skipped (invalid)")
    if not result.imported and not result.already:
        fail(f"no game could be imported from {directory}")
