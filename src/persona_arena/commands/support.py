"""What every `arena` command shares: consoles, the exit-2 error, common options."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from persona_arena.core.specs import AgentSpec, SpecError

# Written to a file or a pipe, Rich would assume 80 columns and cut table cells ("0.0…");
# there the width is COLUMNS when set, else wide enough for every table.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err_console = Console(stderr=True, soft_wrap=True)  # messages are not broken mid-path

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: ARENA_DB or sqlite under transcripts/)")]
OutOption = Annotated[Path, typer.Option("--out", help="folder where JSONL transcripts are exported")]
DEFAULT_OUT = Path("transcripts")


def llm_cache(out: Path) -> Path:
    """The response cache of LLM replies and oracle log-likelihoods (`agents/cache.py`)."""
    return out / "llm-cache.sqlite"


def broker_credentials(out: Path) -> Path:
    """Where `arena serve` and `arena tournament run` keep the broker identities by default
    (and where `arena watch` looks for them)."""
    return out / "mqtt" / "credentials.json"


def fail(message: str) -> NoReturn:
    """Bad input: a clear message on stderr and exit status 2 (printed as it is: a message
    that quotes a file or a value may hold `[…]`, which is not markup)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def check_out_folder(out: Path) -> None:
    """`--out`: a folder (made when missing), not a file."""
    if out.exists() and not out.is_dir():
        fail(f"--out: {out} is a file, not a folder")


def check_run_name(run: str) -> None:
    """`--run`: the run id is also a folder name under --out."""
    if not run.strip() or not all(ch.isalnum() or ch in "_.-" for ch in run) or run.strip(".") == "":
        fail(f"--run: {run!r} must be letters, digits, '_', '.' or '-'")


def parse_spec(text: str) -> AgentSpec:
    from persona_arena.agents.registry import check_spec

    try:
        spec = AgentSpec.parse(text)
        check_spec(spec)
    except SpecError as err:
        fail(str(err))
    return spec
