"""What every `arena` command shares: consoles, the exit-2 error, common options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from persona_arena.core.specs import AgentSpec, SpecError

console = Console()
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
    """Bad input: a clear message on stderr and exit status 2."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def parse_spec(text: str) -> AgentSpec:
    from persona_arena.agents.registry import check_spec

    try:
        spec = AgentSpec.parse(text)
        check_spec(spec)
    except SpecError as err:
        fail(str(err))
    return spec
