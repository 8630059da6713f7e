"""`arena play GAME …`: one game, a printed summary, and where its transcript went."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from rich.table import Table

from persona_arena.commands.support import (
    DEFAULT_OUT, DbOption, OutOption, check_out_folder, check_run_name, console, err_console, fail, parse_spec,
)
from persona_arena.core.specs import AgentSpec
from persona_arena.core.validation import field_errors


def register(app: typer.Typer) -> None:
    app.command()(play)


# The named options of the built-in games (a plugin game takes --set KEY=VALUE).
GAME_FLAGS = {"reverse-turing": ("--judge", "--candidate", "--twin", "--candidates"),
              "negotiation": ("--party", "--scenario", "--condition")}


def play(
    game: Annotated[str, typer.Argument(help="the game: reverse-turing or negotiation")],
    judge: Annotated[str | None, typer.Option(help="reverse-turing: the judge's agent spec")] = None,
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="reverse-turing: a foil's agent spec (repeatable)")] = None,
    twin: Annotated[str | None, typer.Option(help="reverse-turing: the twin's spec (default: the judge's)")] = None,
    candidates: Annotated[int | None, typer.Option(help="reverse-turing: candidates incl. the twin, 2-8")] = None,
    party: Annotated[list[str] | None, typer.Option(
        "--party", help="negotiation: SPEC@PERSONA for one seat, in seat order (repeatable), "
                        "e.g. local/qwen2.5-0.5b@honest; the persona defaults to 'plain'")] = None,
    scenario: Annotated[str | None, typer.Option(
        help="negotiation: a built-in scenario or a .toml file (default: generated from --seed)")] = None,
    condition: Annotated[str | None, typer.Option(help="negotiation: monitored or unmonitored")] = None,
    rounds: Annotated[int | None, typer.Option(help="maximum rounds")] = None,
    option: Annotated[list[str] | None, typer.Option(
        "--set", help="any other game option as KEY=VALUE (VALUE read as JSON if it parses), repeatable")] = None,
    seed: Annotated[int, typer.Option(help="seed of seats, nicknames, scenario and agent sampling")] = 0,
    run: Annotated[str, typer.Option(help="the run this game is recorded under")] = "play",
    turn_timeout: Annotated[float, typer.Option(help="seconds an agent has for one reply")] = 120.0,
    human_ui: Annotated[str, typer.Option("--human-ui", help="how a `human` agent plays: terminal "
                                          "(prompts on stderr) or tui (a Textual screen per turn)")] = "terminal",
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Play one game, print a summary and where its transcript went."""
    from persona_arena.games.registry import UnknownGame, get_game

    if human_ui not in ("terminal", "tui"):
        fail(f"--human-ui must be terminal or tui, not {human_ui!r}")
    check_run_name(run)
    check_out_folder(out)
    if not -2**63 <= seed < 2**63:
        fail(f"--seed: {seed} does not fit a 64-bit integer")
    if not (math.isfinite(turn_timeout) and turn_timeout > 0):
        fail(f"--turn-timeout: {turn_timeout} must be a number of seconds above 0")
    import os
    os.environ["ARENA_HUMAN_UI"] = human_ui
    try:
        engine = get_game(game)
    except UnknownGame as err:
        fail(str(err.args[0]))
    given = {"--judge": judge, "--candidate": candidate, "--twin": twin, "--candidates": candidates,
             "--party": party, "--scenario": scenario, "--condition": condition}
    foreign = [flag for flag, value in given.items() if value and flag not in GAME_FLAGS.get(engine.name, ())]
    if foreign:
        fail(f"{engine.name} has no option {', '.join(foreign)}"
             + ("" if engine.name in GAME_FLAGS else " (give a plugin game its options with --set KEY=VALUE)"))
    options: dict[str, Any] = {}
    if engine.name == "reverse-turing":
        if judge is None or not candidate:
            fail("reverse-turing needs --judge SPEC and at least one --candidate SPEC")
        options = {"judge": parse_spec(judge), "foils": [parse_spec(c) for c in candidate],
                   "twin": parse_spec(twin) if twin else None, "candidates": candidates}
    elif engine.name == "negotiation":
        if not party or len(party) < 2:
            fail("negotiation needs at least two --party SPEC@PERSONA")
        options = {"parties": [_seat(p) for p in party], "scenario": scenario, "condition": condition}
    options["rounds"] = rounds
    for key, value in _set_options(option or []).items():
        if options.get(key) is not None:
            fail(f"--set {key}: already given by its own option")
        options[key] = value
    try:
        config = engine.config_model.model_validate({k: v for k, v in options.items() if v is not None})
    except ValidationError as err:
        fail(field_errors(err, "config"))
    asyncio.run(_play(engine, config, seed, run, turn_timeout, db, out))


def _seat(text: str) -> dict[str, Any]:
    """SPEC@PERSONA. Model strings may contain '@' themselves (vertex_ai/…@date), so the part
    after the last '@' is a persona only if a persona of that name (or file) exists."""
    from persona_arena.games.negotiation.personas import PersonaError, resolve_persona

    spec_text, _, persona = text.rpartition("@")
    if spec_text and persona:
        try:
            resolve_persona(persona)
            return {"agent": parse_spec(spec_text), "persona": persona}
        except PersonaError as err:
            if persona.endswith(".toml"):
                fail(str(err))
    return {"agent": parse_spec(text)}


def _set_options(pairs: list[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def agent_specs_in(value: Any) -> list[AgentSpec]:
    """Every agent spec inside a game config (to know whether a person will be playing)."""
    if isinstance(value, AgentSpec):
        return [value]
    if isinstance(value, BaseModel):
        return [s for name in type(value).model_fields for s in agent_specs_in(getattr(value, name))]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in agent_specs_in(item)]
    return []


async def _play(engine, config, seed: int, run: str, turn_timeout: float, db: str | None, out: Path) -> None:
    from persona_arena.agents.registry import create_agent
    from persona_arena.server.batch import export_session
    from persona_arena.server.runner import run_session
    from persona_arena.server.store import Store

    store = await Store.open(db)
    try:
        # A person at the terminal needs it free of a spinner.
        human = any(s.kind == "human" for s in agent_specs_in(config))
        with contextlib.nullcontext() if human else console.status(f"playing {engine.name} (seed {seed})…"):
            result = await run_session(engine, config, seed, store=store, run_id=run,
                                       agent_factory=create_agent, turn_timeout=turn_timeout)
        path = await export_session(store, result, out)
        events = await store.events(result.session_id)
    finally:
        await store.close()
    if result.status != "finished":
        err_console.print(f"[red]session failed:[/] {result.error}")
    if events and events[0].payload.get("game") == "negotiation":
        print_negotiation(events)
    elif events:
        print_reverse_turing(events)
    console.print(f"transcript: {path}")
    console.print(f"database:   run {result.run_id!r}, session {result.session_id!r}")
    if result.status != "finished":
        raise typer.Exit(1)


def print_reverse_turing(events) -> None:
    from persona_arena.scoring.summary import summarise

    summary = summarise(events)
    # Specs (system prompts) and model text are printed as they are, never read as markup.
    table = Table("nickname", "player", "agent", "twin", title=escape(f"{summary.session_id} — judge {summary.judge}"))
    for c in summary.candidates:
        table.add_row(escape(c["nickname"]), c["player"], escape(c["agent"]), "★" if c["is_twin"] else "")
    console.print(table)
    verdicts = [e.payload for e in events if e.type == "judge.verdict"]
    twin = next(c["nickname"] for c in summary.candidates if c["is_twin"])
    for v in verdicts:
        console.print(f"round {v['round']}: p(twin)={v['probabilities'][twin]:.2f} "
                      + " ".join(f"{n}={p:.2f}" for n, p in v["probabilities"].items())
                      + (f" — guess {v['guess']}" if v["guess"] else "")
                      + (" (defaulted)" if v["defaulted"] else ""))
    o = summary.outcome or {}
    guess = f"guess {o['guess']}" if o.get("guess") else "no guess"
    console.print(f"[bold]result: {summary.result}[/] — {guess}, twin {twin}, "
                  f"rounds used {o.get('rounds_used')}, final p(twin) {o.get('p_twin', 0):.2f}, "
                  f"violations {summary.violations}")


def print_negotiation(events) -> None:
    setup = events[0].payload
    outcome = next((e.payload for e in events if e.type == "game.outcome"), None) or {}
    scenario = setup["scenario"]
    table = Table("player", "name", "agent", "persona", "minimum", "score", "leaks", "violations",
                  title=escape(f"{events[0].session_id} — {scenario['title']} ({setup['condition']})"))
    for p in setup["parties"]:
        player = p["player"]
        color = "red" if p["color"] == "red" else "blue"
        table.add_row(player, escape(p["name"]), escape(p["agent"]), f"[{color}]{escape(p['persona'])}[/]",
                      str(p["minimum"]),
                      str(outcome.get("scores", {}).get(player, "-")), str(outcome.get("leaks", {}).get(player, 0)),
                      str(outcome.get("violations", {}).get(player, 0)))
    console.print(table)
    for e in events:
        if e.type == "party.message":
            console.print(f"[dim]r{e.payload['round']}[/] {e.actor}: {escape(e.payload['text'])}")
        elif e.type == "proposal.made":
            console.print(f"[dim]r{e.payload['round']}[/] {e.actor} proposes #{e.payload['proposal']}: "
                          + ", ".join(f"{k}={v}" for k, v in e.payload["options"].items()))
        elif e.type == "proposal.response":
            console.print(f"[dim]r{e.payload['round']}[/] {e.actor} "
                          f"{'accepts' if e.payload['accept'] else 'rejects'} #{e.payload['proposal']}")
    if outcome.get("deal"):
        console.print(f"[bold]deal[/] on proposal #{outcome['final_proposal']}: collective {outcome['collective']}, "
                      f"Pareto distance {outcome['pareto_distance']:.1f}, Gini {outcome['gini']:.2f}"
                      + (f", accepted below own minimum by {', '.join(outcome['wrong_deal'])}"
                         if outcome["wrong_deal"] else ""))
    else:
        console.print("[bold]no deal[/]" + (" (one was reached earlier and then lost)"
                                            if outcome.get("deal_any_time") else ""))
    for player, goal in outcome.get("red_goals", {}).items():
        console.print(f"red {player} ({goal['kind']}): goal {'achieved' if goal['achieved'] else 'not achieved'}")
    for player, d in outcome.get("debrief", {}).items():
        if d["answered"]:
            console.print(f"debrief {player}: hidden agenda {'yes' if d['claimed_hidden_agenda'] else 'no'}"
                          f" ({'right' if d['agenda_correct'] else 'wrong'}), detected {d['detected'] or '-'}, "
                          f"false accusations {d['false_accusations'] or '-'}")
