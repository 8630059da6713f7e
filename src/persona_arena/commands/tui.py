"""`arena tui`, `arena replay [RUN[/SESSION]|FILE.jsonl]`, `arena watch`: the terminal UI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from persona_arena.commands.support import DEFAULT_OUT, DbOption, broker_credentials, fail


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)
    app.command("replay")(replay)
    app.command("watch")(watch)


def tui(db: DbOption = None) -> None:
    """Browse recorded runs and their games (filter by game:, agent:, outcome:), see each run's
    leaderboard, and replay any game."""
    from persona_arena.tui.app import ArenaApp

    ArenaApp.runs(db).run()


def replay(
    target: Annotated[str | None, typer.Argument(
        help="RUN, RUN/SESSION, or a transcript FILE.jsonl; none: browse the runs", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Replay a game turn by turn: ←/→ step, space plays, v switches between the god view and
    what one player saw. Keys are listed at the bottom of the screen."""
    from persona_arena.tui.app import ArenaApp

    if target is None:
        ArenaApp.runs(db).run()
        return
    path = Path(target)
    if path.suffix == ".jsonl" or path.is_file():
        from persona_arena.transcripts.jsonl import TranscriptError
        from persona_arena.tui.sources import JsonlSource

        if not path.is_file():
            fail(f"{path}: no such transcript file")
        try:
            source = JsonlSource(path)
        except (TranscriptError, OSError, UnicodeDecodeError) as err:
            fail(str(err))
        ArenaApp.replay(source).run()
        return
    run_id, _, session_id = target.partition("/")
    if not session_id:
        asyncio.run(_check_run(run_id, db))
        ArenaApp.runs(db, run=run_id).run()
        return
    source, game = asyncio.run(_load_session(run_id, session_id, db))
    ArenaApp.replay(source, game=game).run()


async def _check_run(run_id: str, db: str | None) -> None:
    from persona_arena.server.store import Store

    store = await Store.open(db)
    try:
        if await store.run(run_id) is None:
            fail(f"no run {run_id!r}; see `arena runs`")
    finally:
        await store.close()


async def _load_session(run_id: str, session_id: str, db: str | None):  # type: ignore[no-untyped-def]
    from persona_arena.server.store import Store
    from persona_arena.tui.sources import ListSource

    store = await Store.open(db)
    try:
        if await store.run(run_id) is None:
            fail(f"no run {run_id!r}; see `arena runs`")
        session = next((s for s in await store.sessions(run_id) if s.id == session_id), None)
        if session is None:
            fail(f"run {run_id!r} has no session {session_id!r}; see `arena replay {run_id}`")
        events = await store.events(session_id)
    finally:
        await store.close()
    if not events:
        fail(f"session {session_id!r} has no events")
    return ListSource(events, title=session_id), session.game


def watch(
    broker: Annotated[str, typer.Option("--broker", help="the MQTT broker, mqtt://host:port or mqtts://…")]
    = "mqtt://127.0.0.1:1883",
    credentials: Annotated[str | None, typer.Option(
        "--credentials", help="credentials file written by `arena serve` / `arena tournament run`, or "
                              "USER:PASSWORD (default: transcripts/mqtt/credentials.json if there is one)")] = None,
    god: Annotated[bool, typer.Option("--god", help="the god view topics (private channels too; "
                                                    "needs admin credentials)")] = False,
) -> None:
    """Follow live games from the spectator stream: sessions appear as they start; pick one to
    follow it with the replay view."""
    from persona_arena.server.mqtt import BrokerUrl
    from persona_arena.tui.app import ArenaApp
    from persona_arena.tui.live import spectator_events

    try:
        url = BrokerUrl.parse(broker)
    except ValueError as err:
        fail(f"--broker: {err}")
    login = watch_login(credentials, god=god)
    topics = "god view" if god else "public events"
    ArenaApp.watch(lambda: spectator_events(url, login, god=god), description=f"{url} ({topics})").run()


def watch_login(credentials: str | None, *, god: bool):  # -> Login | None
    """`--credentials` as the spectator (or, with `--god`, admin) identity; without it, the file
    that `arena tournament run` / `arena serve` wrote in this folder, if there is one."""
    from persona_arena.server.broker import CredentialsError, login_from_option
    from persona_arena.server.protocol import ADMIN_USER, SPECTATOR_USER

    default = broker_credentials(DEFAULT_OUT)
    if credentials is None and default.is_file():
        credentials = str(default)
    if credentials is None:
        return None
    try:
        return login_from_option(credentials, default_user=ADMIN_USER if god else SPECTATOR_USER)
    except CredentialsError as err:
        fail(str(err))
