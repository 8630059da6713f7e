"""`arena`: the command line. Exit 0 on success, 2 on bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from persona_arena import logs
from persona_arena.core.specs import AgentSpec, SpecError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="persona-arena: games that reveal the identity and motivations of LLM personas.")
schema_app = typer.Typer(no_args_is_help=True, help="JSON Schemas of the file formats.")
app.add_typer(schema_app, name="schema")
console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: ARENA_DB or sqlite under transcripts/)")]
OutOption = Annotated[Path, typer.Option("--out", help="folder where JSONL transcripts are exported")]
DEFAULT_OUT = Path("transcripts")


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _validation_message(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in err.errors())


def parse_spec(text: str) -> AgentSpec:
    from persona_arena.agents.registry import check_spec

    try:
        spec = AgentSpec.parse(text)
        check_spec(spec)
    except SpecError as err:
        fail(str(err))
    return spec


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
def play(
    game: Annotated[str, typer.Argument(help="the game, e.g. reverse-turing")],
    judge: Annotated[str, typer.Option(help="the judge's agent spec (its twin gets the same spec)")],
    candidate: Annotated[list[str], typer.Option("--candidate", help="a foil's agent spec (repeatable)")],
    twin: Annotated[str | None, typer.Option(help="the twin's spec (default: the judge's)")] = None,
    candidates: Annotated[int | None, typer.Option(help="candidates incl. the twin, 2-8 (default: foils+1)")] = None,
    rounds: Annotated[int, typer.Option(help="maximum rounds")] = 5,
    seed: Annotated[int, typer.Option(help="seed of seats, nicknames and agent sampling")] = 0,
    run: Annotated[str, typer.Option(help="the run this game is recorded under")] = "play",
    turn_timeout: Annotated[float, typer.Option(help="seconds an agent has for one reply")] = 120.0,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Play one game, print a summary and where its transcript went."""
    from persona_arena.games.registry import UnknownGame, get_game
    from persona_arena.games.reverse_turing.config import ReverseTuringConfig

    try:
        engine = get_game(game)
    except UnknownGame as err:
        fail(str(err.args[0]))
    if engine.name != "reverse-turing":
        fail(f"`arena play` does not know the options of {game!r} yet")
    try:
        config = ReverseTuringConfig(
            judge=parse_spec(judge), foils=[parse_spec(c) for c in candidate],
            twin=parse_spec(twin) if twin else None, candidates=candidates, rounds=rounds,
        )
    except ValidationError as err:
        fail(_validation_message(err))
    asyncio.run(_play(engine, config, seed, run, turn_timeout, db, out))


async def _play(engine, config, seed: int, run: str, turn_timeout: float, db: str | None, out: Path) -> None:
    from persona_arena.agents.registry import create_agent
    from persona_arena.server.batch import export_session
    from persona_arena.server.runner import run_session
    from persona_arena.server.store import Store

    store = await Store.open(db)
    try:
        with console.status(f"playing {engine.name} (seed {seed})…"):
            result = await run_session(engine, config, seed, store=store, run_id=run,
                                       agent_factory=create_agent, turn_timeout=turn_timeout)
        path = await export_session(store, result, out)
        events = await store.events(result.session_id)
    finally:
        await store.close()
    if result.status != "finished":
        err_console.print(f"[red]session failed:[/] {result.error}")
    print_game(events)
    console.print(f"transcript: {path}")
    console.print(f"database:   run {result.run_id!r}, session {result.session_id!r}")
    if result.status != "finished":
        raise typer.Exit(1)


def print_game(events) -> None:
    from persona_arena.scoring.summary import summarise

    summary = summarise(events)
    table = Table("nickname", "player", "agent", "twin", title=f"{summary.session_id} — judge {summary.judge}")
    for c in summary.candidates:
        table.add_row(c["nickname"], c["player"], c["agent"], "★" if c["is_twin"] else "")
    console.print(table)
    verdicts = [e.payload for e in events if e.type == "judge.verdict"]
    twin = next(c["nickname"] for c in summary.candidates if c["is_twin"])
    for v in verdicts:
        console.print(f"round {v['round']}: p(twin)={v['probabilities'][twin]:.2f} "
                      + " ".join(f"{n}={p:.2f}" for n, p in v["probabilities"].items())
                      + (f" — guess {v['guess']}" if v["guess"] else "")
                      + (" (defaulted)" if v["defaulted"] else ""))
    o = summary.outcome or {}
    console.print(f"[bold]result: {summary.result}[/] — guess {o.get('guess')}, twin {twin}, "
                  f"rounds used {o.get('rounds_used')}, final p(twin) {o.get('p_twin', 0):.2f}, "
                  f"violations {summary.violations}")


@app.command()
def demo(
    rounds: Annotated[int, typer.Option(help="rounds per game")] = 2,
    seeds: Annotated[int, typer.Option(help="games per judge")] = 3,
    concurrency: Annotated[int, typer.Option(help="games at once")] = 2,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """The quickstart: Qwen and Gemma each judge games on local models; prints a results table."""
    if rounds < 1 or seeds < 1 or concurrency < 1:
        fail("--rounds, --seeds and --concurrency must be at least 1")
    asyncio.run(_demo(rounds, seeds, concurrency, db, out))


async def _demo(rounds: int, seeds: int, concurrency: int, db: str | None, out: Path) -> None:
    from persona_arena.agents.registry import create_agent
    from persona_arena.demo import demo_jobs
    from persona_arena.scoring.summary import accuracy_by_judge, agent_label, summarise
    from persona_arena.server.batch import run_batch
    from persona_arena.server.store import Store

    run_id = "demo-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    store = await Store.open(db)
    try:
        results = await run_batch(demo_jobs(rounds, seeds), store=store, run_id=run_id, export_root=out,
                                  agent_factory=create_agent, concurrency=concurrency, console=console)
        summaries = [summarise(await store.events(r.session_id)) for r in results]
    finally:
        await store.close()
    table = Table("#", "judge", "candidates (twin ★)", "picked", "result", "p(twin)/round", "viol.",
                  title=f"run {run_id}")
    for i, s in enumerate(summaries, 1):
        o = s.outcome or {}
        names = " ".join(agent_label(c["agent"]) + ("★" if c["is_twin"] else "") for c in s.candidates)
        picked = agent_label(s.guessed_agent) if s.guessed_agent else "-"
        trend = " ".join(f"{p:.2f}" for p in o.get("p_twin_by_round", []))
        table.add_row(str(i), agent_label(s.judge), names, picked, s.result, trend, str(s.violations))
    console.print(table)
    acc = Table("judge", "games", "correct", "accuracy", "chance", "mean p(twin)", "no guess",
                title="accuracy by judge (final guesses)")
    for row in accuracy_by_judge(summaries):
        acc.add_row(agent_label(row["judge"]), str(row["games"]), str(row["correct"]),
                    "-" if row["accuracy"] is None else f"{row['accuracy']:.2f}", f"{row['chance']:.2f}",
                    "-" if row["mean_p_twin"] is None else f"{row['mean_p_twin']:.2f}", str(row["no_guess"]))
    console.print(acc)
    console.print(f"transcripts: {out / run_id}/  ·  database run: {run_id}")
    if any(r.status != "finished" for r in results):
        raise typer.Exit(1)


@app.command()
def runs(db: DbOption = None) -> None:
    """List the recorded runs."""
    asyncio.run(_runs(db))


async def _runs(db: str | None) -> None:
    from persona_arena.server.store import Store

    store = await Store.open(db)
    try:
        rows = await store.runs()
    finally:
        await store.close()
    table = Table("run", "created", "sessions", "status")
    for r in rows:
        created = r["created_at"].strftime("%Y-%m-%d %H:%M:%S") if r["created_at"] else "-"
        table.add_row(r["id"], created, str(r["sessions"]), ", ".join(f"{k} {v}" for k, v in sorted(r["status"].items())))
    console.print(table)


class ExportFormat(str, Enum):
    jsonl = "jsonl"


@app.command()
def export(
    run: Annotated[str, typer.Argument(help="the run id (see `arena runs`)")],
    out: Annotated[Path, typer.Option("--out", help="folder to write one JSONL file per session into")],
    format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.jsonl,
    db: DbOption = None,
) -> None:
    """Export a run's event logs."""
    asyncio.run(_export(run, out, db))


async def _export(run: str, out: Path, db: str | None) -> None:
    from persona_arena.server.store import Store
    from persona_arena.transcripts.jsonl import write_jsonl

    store = await Store.open(db)
    try:
        sessions = await store.sessions(run)
        if not sessions:
            fail(f"no run {run!r} (or it has no sessions); see `arena runs`")
        for s in sessions:
            write_jsonl(await store.events(s.id), out / f"{s.id}.jsonl")
    finally:
        await store.close()
    console.print(f"{len(sessions)} sessions written to {out}/")


@schema_app.command("transcript")
def schema_transcript() -> None:
    """Print the JSON Schema of one transcript line (an event)."""
    from persona_arena.core.events import event_json_schema

    print(json.dumps(event_json_schema(), indent=2))


def main() -> None:
    app()
