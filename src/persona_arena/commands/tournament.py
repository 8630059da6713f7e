"""`arena tournament run FILE.toml` and `arena demo`: a tournament in this process, with live
spectators and remote agents over MQTT (an embedded amqtt broker unless `--broker` names one,
or none with `--no-broker`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from persona_arena.commands.support import (
    DEFAULT_OUT, DbOption, OutOption, broker_credentials, check_out_folder, console, err_console, fail, llm_cache,
)

if TYPE_CHECKING:
    from persona_arena.server.broker import Credentials
    from persona_arena.server.links import RunLinks

QUICKSTART = Path(__file__).resolve().parents[3] / "tournaments" / "quickstart.toml"
DEFAULT_BROKER_PORT = 1883
tournament_app = typer.Typer(no_args_is_help=True, help="Run tournaments from TOML files.")

BrokerOption = Annotated[str | None, typer.Option(
    "--broker", help="use this broker (mqtt://host:port) for spectators and remote agents, not an embedded one")]
NoBrokerOption = Annotated[bool, typer.Option(
    "--no-broker", help="start no broker: no live spectators, no remote agents")]
BrokerPortOption = Annotated[int, typer.Option(
    help="the embedded broker's port on 127.0.0.1 (any free port if it is taken; 0 = any)")]
CredentialsOption = Annotated[Path | None, typer.Option(
    "--credentials", help="broker identities (created with fresh passwords if missing; "
                          "default OUT/mqtt/credentials.json)")]
AgentWaitOption = Annotated[float, typer.Option(help="seconds the run waits for its remote agents' workers")]


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.add_typer(tournament_app, name="tournament")
    tournament_app.command("run")(tournament_run)


@dataclass
class LiveSetup:
    """The broker side of a run, decided before anything starts."""

    url: Any  # BrokerUrl, or None for an embedded broker
    port: int
    credentials: Credentials
    credentials_path: Path
    agent_wait: float
    remote: list[str] = field(default_factory=list)  # remote workers the tournament's agents name


def demo(
    rounds: Annotated[int | None, typer.Option(help="override the file's rounds per game")] = None,
    seeds: Annotated[int | None, typer.Option(help="override the file's games per judge")] = None,
    concurrency: Annotated[int | None, typer.Option(help="games at once")] = None,
    no_broker: NoBrokerOption = False,
    broker_port: BrokerPortOption = DEFAULT_BROKER_PORT,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """The quickstart: runs tournaments/quickstart.toml on the local models and prints the report."""
    if not QUICKSTART.is_file():
        fail(f"{QUICKSTART} is missing (arena demo runs from a checkout of the repository)")
    run_tournament(QUICKSTART, concurrency=concurrency, db=db, out=out, cache=True, seeds=seeds,
                   game_options_update={"rounds": rounds} if rounds is not None else None,
                   broker=None, no_broker=no_broker, broker_port=broker_port, credentials=None, agent_wait=0.0)


def tournament_run(
    file: Annotated[Path, typer.Argument(help="the tournament file (TOML)")],
    concurrency: Annotated[int | None, typer.Option(help="games at once (default: the file's)")] = None,
    workers: Annotated[int, typer.Option(help="processes that share the games (for runs bound by one "
                                         "core: many fast or API games; each loads its own local models)")] = 1,
    cache: Annotated[bool, typer.Option("--cache/--no-cache",
                                        help="reuse recorded LLM replies (OUT/llm-cache.sqlite)")] = True,
    broker: BrokerOption = None,
    no_broker: NoBrokerOption = False,
    broker_port: BrokerPortOption = DEFAULT_BROKER_PORT,
    credentials: CredentialsOption = None,
    agent_wait: AgentWaitOption = 30.0,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Run a tournament, or resume it: the same file again skips finished games. Its events go
    live to the broker's spectator topics (`arena watch`); `remote/NAME` agents are played by
    `arena agent serve` workers on that broker."""
    run_tournament(file, concurrency=concurrency, db=db, out=out, cache=cache, workers=workers, broker=broker,
                   no_broker=no_broker, broker_port=broker_port, credentials=credentials, agent_wait=agent_wait)


def run_tournament(file: Path, *, concurrency: int | None, db: str | None, out: Path, cache: bool,
                   seeds: int | None = None, game_options_update: dict | None = None, workers: int = 1,
                   broker: str | None, no_broker: bool, broker_port: int, credentials: Path | None,
                   agent_wait: float) -> None:
    from persona_arena.agents.registry import check_spec
    from persona_arena.commands.report import show_report
    from persona_arena.core.specs import SpecError
    from persona_arena.server.store import database_url, is_in_memory
    from persona_arena.server.tournament import TournamentError, load_tournament

    if concurrency is not None and concurrency < 1:
        fail("--concurrency must be at least 1")
    if workers < 1:
        fail("--workers must be at least 1")
    if workers > 1 and is_in_memory(database_url(db)):
        fail("--workers needs a database the worker processes can share (a file or a server), "
             "not an in-memory one")
    if broker is not None and no_broker:
        fail("--broker and --no-broker exclude each other")
    if not 0 <= broker_port <= 65535:
        fail(f"--broker-port {broker_port}: not a port number")
    if agent_wait < 0:
        fail("--agent-wait must not be negative")
    check_out_folder(out)
    try:
        tournament = load_tournament(file, seeds=seeds, game_options=game_options_update)
    except TournamentError as err:
        fail(str(err))
    remote: list[str] = []
    for i, agent in enumerate(tournament.agents):
        spec, where = agent.spec(), f"{file}: agents.{i}.model"
        if spec.kind == "remote":
            remote.append(_remote_name(spec.name, where, no_broker=no_broker, workers=workers))
            continue
        try:
            check_spec(spec)
        except SpecError as err:
            fail(f"{where}: {err}")
    live = None if no_broker else _live_setup(broker, broker_port, credentials or broker_credentials(out),
                                              agent_wait, remote)
    cache_path = llm_cache(out) if cache else None
    if cache_path is not None:
        from persona_arena.agents.cache import ResponseCache, use_cache

        use_cache(ResponseCache(cache_path))
    try:
        run_id = asyncio.run(_tournament(tournament, file, concurrency or tournament.concurrency, db, out,
                                         workers=workers, cache_path=cache_path, live=live))
        asyncio.run(show_report(run_id, db, as_json=False))
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: finished games are saved; run the same command to resume")
        raise typer.Exit(130) from None


def _remote_name(name: str, where: str, *, no_broker: bool, workers: int) -> str:
    from persona_arena.server.protocol import check_agent_name

    if no_broker:
        fail(f"{where}: remote/{name} is played by a worker over the broker: drop --no-broker")
    if workers > 1:
        fail(f"{where}: remote agents are played from the main process only: drop --workers")
    try:
        return check_agent_name(name)
    except ValueError as err:
        fail(f"{where}: {err}")


def _live_setup(broker: str | None, port: int, credentials_path: Path, agent_wait: float,
                remote: list[str]) -> LiveSetup:
    from persona_arena.server.broker import Credentials, CredentialsError
    from persona_arena.server.mqtt import BrokerUrl

    try:
        url = BrokerUrl.parse(broker) if broker is not None else None
    except ValueError as err:
        fail(f"--broker: {err}")
    try:
        # Identities for the remote agents the file names: their workers log in with them.
        creds = Credentials.load_or_create(credentials_path, remote)
    except (CredentialsError, ValueError) as err:
        fail(str(err))
    return LiveSetup(url, port, creds, credentials_path, agent_wait, sorted(set(remote)))


async def _tournament(tournament, file: Path, concurrency: int, db: str | None, out: Path, *,
                      workers: int = 1, cache_path: Path | None = None, live: LiveSetup | None = None) -> str:
    if live is None:
        return await _play(tournament, file, concurrency, db, out, workers=workers, cache_path=cache_path)
    from persona_arena.commands.serve import connect, running_broker
    from persona_arena.server.links import RunLinks

    async with running_broker(live.url, live.credentials, live.credentials_path, host="127.0.0.1", port=live.port,
                              any_port_if_taken=True) as (url, embedded):
        links = RunLinks(url, live.credentials, client_prefix=f"arena-run-{os.getpid()}")
        await connect(links.start(), url, live.credentials_path)
        try:
            # A reverse-turing game is almost all private channels: the god view shows it.
            console.print(f"live ({'embedded broker' if embedded else 'broker'} {url}): "
                          f"arena watch --broker {url} --credentials {live.credentials_path} "
                          "(public events; --god: every event)", highlight=False, soft_wrap=True)
            return await _play(tournament, file, concurrency, db, out, workers=workers, cache_path=cache_path,
                               links=links, live=live)
        finally:
            await links.stop()


async def _play(tournament, file: Path, concurrency: int, db: str | None, out: Path, *, workers: int,
                cache_path: Path | None, links: RunLinks | None = None, live: LiveSetup | None = None) -> str:
    from persona_arena.agents.registry import create_agent
    from persona_arena.agents.reliability import ENV_PREFIX, ReliabilitySettings
    from persona_arena.server.batch import run_batch
    from persona_arena.server.protocol import ADMIN_USER
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
            spectators = (links.url, live.credentials.login(ADMIN_USER)) if links and live else None
            pool = WorkerPool(workers, WorkerSetup(
                environ={f"{ENV_PREFIX}MAX_CONCURRENCY": str(max(1, cap // workers))},
                cache_path=cache_path, db_url=store.url, spectators=spectators))
            starting = asyncio.create_task(pool.start())  # the workers start while the run is planned
        todo = await prepare_run(tournament, store, source=str(file))
        console.print(f"run [bold]{todo.run_id}[/]: {todo.planned} games planned, {todo.finished} already "
                      f"finished, {len(todo.todo)} to play" + (f" ({todo.abandoned} unfinished abandoned)"
                                                             if todo.abandoned else ""))
        agent_factory = create_agent
        if todo.todo:
            if links is not None and live is not None and live.remote:  # never with a pool (checked)
                agent_factory = links.hub.agent_factory(tournament.turn_timeout)
                offline = await links.hub.wait_online(live.remote, live.agent_wait)
                if offline:
                    err_console.print(f"[yellow]offline remote workers[/]: {', '.join(offline)} (their turns "
                                      f"time out until they come: arena agent serve SPEC --name NAME "
                                      f"--broker {links.url} --credentials {live.credentials_path})")
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
                                agent_factory=agent_factory, concurrency=concurrency,
                                turn_timeout=tournament.turn_timeout, console=console,
                                already_done=todo.finished, stop=stop, pool=pool,
                                # worker processes publish for themselves (WorkerSetup.spectators)
                                publish=links.bus.publish if links is not None and pool is None else None)
            except WorkerError as err:  # not bad input: the run failed (exit 1); a rerun resumes it
                err_console.print(f"[bold red]error:[/] {escape(str(err))}")
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
