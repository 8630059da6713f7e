"""`arena serve`, `arena agent serve SPEC`, `arena submit FILE.toml`: the game server on MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from persona_arena.commands.support import (
    DEFAULT_OUT, DbOption, OutOption, broker_credentials, console, err_console, fail, parse_spec,
)

agent_app = typer.Typer(no_args_is_help=True, help="Remote agent workers (MQTT).")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(submit)
    app.add_typer(agent_app, name="agent")
    agent_app.command("serve")(agent_serve)


CredentialsOption = Annotated[str | None, typer.Option(
    "--credentials", help="a credentials file written by `arena serve` (JSON), or USER:PASSWORD")]


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)
    console.file.flush()  # a supervisor (or a test) reads these lines as they come


def _broker_url(value: str):  # -> BrokerUrl
    from persona_arena.server.mqtt import BrokerUrl

    try:
        return BrokerUrl.parse(value)
    except ValueError as err:
        fail(str(err))


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def serve(
    broker: Annotated[str | None, typer.Option(help="use this broker (mqtt://host:port) instead of the embedded one")] = None,
    embedded: Annotated[bool, typer.Option("--embedded", help="start the embedded amqtt broker (the default)")] = False,
    host: Annotated[str, typer.Option(help="embedded broker / mosquitto config: listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="embedded broker / mosquitto config: port (0 = any free port)")] = 1883,
    credentials: Annotated[Path | None, typer.Option(
        help="broker identities (created with fresh passwords if missing; default OUT/mqtt/credentials.json)")] = None,
    agent: Annotated[list[str] | None, typer.Option(
        "--agent", help="a remote worker identity to create (repeatable); `remote/NAME` plays as NAME")] = None,
    write_mosquitto_config: Annotated[Path | None, typer.Option(
        help="write mosquitto.conf, password and ACL files into this folder, then exit")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM) for the listener")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM) for the listener")] = None,
    agent_wait: Annotated[float, typer.Option(help="seconds a submitted run waits for its remote workers")] = 30.0,
    db: DbOption = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """The game server: runs tournaments submitted with `arena submit`, with remote agents and
    live spectators over MQTT (embedded amqtt broker unless --broker names one)."""
    from persona_arena.server.broker import Credentials, CredentialsError, write_mosquitto_config as write_conf

    if broker and embedded:
        fail("--broker and --embedded exclude each other")
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together")
    if not 0 <= port <= 65535:
        fail(f"--port {port}: not a port number")
    if agent_wait < 0:
        fail("--agent-wait must not be negative")
    creds_path = credentials or broker_credentials(out)
    try:
        creds = Credentials.load_or_create(creds_path, list(agent or []))
    except (CredentialsError, ValueError) as err:
        fail(str(err))
    if write_mosquitto_config is not None:
        files = write_conf(write_mosquitto_config, creds, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
        _say(f"mosquitto config: {files.config}\npasswords: {files.passwords}\nACL: {files.acl}\n"
             f"credentials (clear text, mode 0600): {files.credentials}\n"
             f"identities: {', '.join(sorted(creds.users))}\n"
             f"start it with: mosquitto -c {files.config}\n"
             f"then: arena serve --broker mqtt://{host}:{port} --credentials {files.credentials}")
        return
    url = _broker_url(broker) if broker else None
    try:
        asyncio.run(_serve(url, creds, creds_path, host, port, tls_cert, tls_key, agent_wait, db, out))
    except KeyboardInterrupt:
        pass


@contextlib.asynccontextmanager
async def running_broker(url, creds, creds_path: Path, *, host: str, port: int, tls_cert: Path | None = None,
                         tls_key: Path | None = None, any_port_if_taken: bool = False):  # -> (BrokerUrl, bool)
    """The broker to talk to and whether it is embedded: `url` if one is named, else an amqtt
    broker started in this process (on a free port if `port` is taken and `any_port_if_taken`),
    stopped on exit. Exits 2 if it cannot start."""
    from persona_arena.server.broker import EmbeddedBroker, PortInUse

    if url is not None:
        yield url, False
        return
    embedded = EmbeddedBroker(creds, state_dir=creds_path.parent, host=host, port=port,
                              tls_cert=tls_cert, tls_key=tls_key)
    try:
        try:
            await embedded.start()
        except PortInUse:
            if not any_port_if_taken:
                raise
            embedded = EmbeddedBroker(creds, state_dir=creds_path.parent, host=host, port=0,
                                      tls_cert=tls_cert, tls_key=tls_key)
            await embedded.start()
    except Exception as err:
        fail(f"cannot start the embedded broker on {host}:{port}: {err}")
    try:
        yield embedded.url, True
    finally:
        await embedded.stop()


async def connect(start: Awaitable[None], url, creds_path: Path) -> None:
    """Awaits `start` (connecting to the broker at `url`); exits 2 when the broker refuses the
    credentials or is not there."""
    from persona_arena.server.mqtt import BrokerRefused

    try:
        await start
    except BrokerRefused as err:
        fail(f"{err} (is {creds_path} the broker's credentials file?)")
    except TimeoutError:
        fail(f"cannot reach the broker at {url}")


async def _serve(url, creds, creds_path: Path, host: str, port: int, tls_cert, tls_key, agent_wait: float,
                 db: str | None, out: Path) -> None:
    from persona_arena.server.serve import ArenaServer
    from persona_arena.server.store import Store

    stop = asyncio.Event()
    _on_signals(stop)
    async with running_broker(url, creds, creds_path, host=host, port=port, tls_cert=tls_cert,
                              tls_key=tls_key) as (url, embedded):
        store = await Store.open(db)
        server = ArenaServer(store, url, creds, out=out, agent_wait=agent_wait, say=_say)
        try:
            await connect(server.start(), url, creds_path)
            _say(f"broker: {url} ({'embedded amqtt' if embedded else 'external'}; password auth, topic ACLs)")
            _say(f"credentials: {creds_path} (identities: {', '.join(sorted(creds.users))})")
            _say("spectators: arena/v1/public/# (user spectator); god view: arena/v1/god/# (user admin)")
            _say(f"server ready: arena submit FILE.toml --server {url} --credentials {creds_path}")
            await stop.wait()
            _say("stopping: running games end at their next safe point")
        finally:
            await server.stop()
            await store.close()


def agent_serve(
    spec: Annotated[str, typer.Argument(help="the agent this worker plays, e.g. local/qwen2.5-0.5b, eliza")],
    name: Annotated[str, typer.Option(help="the worker's name: games name it remote/NAME")],
    broker: Annotated[str, typer.Option(help="the server's broker, mqtt://host:port")] = "mqtt://127.0.0.1:1883",
    credentials: CredentialsOption = None,
    connect_timeout: Annotated[float, typer.Option(help="seconds to wait for the first connection")] = 30.0,
) -> None:
    """A remote agent worker: answers the turns the server sends to NAME's inbox."""
    from persona_arena.server.broker import CredentialsError, login_from_option
    from persona_arena.server.mqtt import Login
    from persona_arena.server.protocol import check_agent_name

    try:
        check_agent_name(name)
    except ValueError as err:
        fail(f"--name: {err}")
    agent_spec = parse_spec(spec)  # a remote/ spec is refused here: a worker runs the model itself
    url = _broker_url(broker)
    if credentials is not None:
        try:
            login = login_from_option(credentials, default_user=name)
        except CredentialsError as err:
            fail(str(err))
    elif os.environ.get("ARENA_MQTT_PASSWORD"):
        login = Login(name, os.environ["ARENA_MQTT_PASSWORD"])
    else:
        fail("--credentials (a credentials file or NAME:PASSWORD) or ARENA_MQTT_PASSWORD is required")
    if login.username != name:
        fail(f"--credentials log in as {login.username!r}, but the broker only lets identity {name!r} "
             f"read {name}'s inbox")
    asyncio.run(_agent_serve(agent_spec, name, url, login, connect_timeout))


async def _agent_serve(spec, name: str, url, login, connect_timeout: float) -> None:
    from persona_arena.agents.worker import AgentWorker
    from persona_arena.server.mqtt import BrokerRefused

    worker = AgentWorker(spec, name, url, login)
    stop = asyncio.Event()
    _on_signals(stop)
    task = asyncio.create_task(worker.run(stop, connect_timeout=connect_timeout))
    connected = asyncio.create_task(worker.link.connected.wait())
    await asyncio.wait({task, connected}, return_when=asyncio.FIRST_COMPLETED)
    connected.cancel()
    if not task.done():
        _say(f"worker {name} ({spec.canonical()}) online at {url}; games name it remote/{name}")
    try:
        await task
    except BrokerRefused as err:
        fail(str(err))
    except TimeoutError:
        err_console.print(f"[bold red]error:[/] cannot reach the broker at {url}")
        raise typer.Exit(1) from None
    _say(f"worker {name} stopped: {worker.answered} turns answered, {worker.skipped} skipped")


def submit(
    file: Annotated[Path, typer.Argument(help="a tournament file (TOML), as for `arena tournament run`")],
    server: Annotated[str, typer.Option(help="the server's broker, mqtt://host:port")] = "mqtt://127.0.0.1:1883",
    credentials: CredentialsOption = None,
    concurrency: Annotated[int | None, typer.Option(help="games at once (default: the file's)")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the run has finished")] = True,
    accept_timeout: Annotated[float, typer.Option(help="seconds to wait for the server to accept")] = 30.0,
) -> None:
    """Submit a tournament to a running `arena serve` (needs the admin identity)."""
    from persona_arena.server.broker import CredentialsError, login_from_option
    from persona_arena.server.protocol import ADMIN_USER
    from persona_arena.server.tournament import TournamentError, load_tournament

    if concurrency is not None and concurrency < 1:
        fail("--concurrency must be at least 1")
    try:
        load_tournament(file)  # bad files fail here; the server checks the agents
    except TournamentError as err:
        fail(str(err))
    if credentials is None:
        fail("--credentials is required (the server's credentials file, or admin:PASSWORD)")
    try:
        login = login_from_option(credentials, default_user=ADMIN_USER)
    except CredentialsError as err:
        fail(str(err))
    if login.username != ADMIN_USER:
        fail(f"--credentials: arena submit needs the {ADMIN_USER!r} identity, not {login.username!r}")
    url = _broker_url(server)
    result = asyncio.run(_submit(url, login, file.read_text(encoding="utf-8"), concurrency, wait, accept_timeout))
    if result.state == "rejected":
        fail(f"the server rejected the run: {result.error}")
    if result.state == "accepted":
        return
    if result.error:
        err_console.print(f"[bold red]error:[/] the run failed on the server: {escape(result.error)}")
        raise typer.Exit(1)
    if result.sessions:
        table = Table("session", "status", "error", title=f"run {result.run_id}")
        for s in result.sessions:
            table.add_row(s.session_id, s.status, s.error or "")
        console.print(table)
    if any(s.status != "finished" for s in result.sessions):
        raise typer.Exit(1)


async def _submit(url, login, text: str, concurrency, wait: bool, accept_timeout: float):
    from persona_arena.server.mqtt import BrokerRefused
    from persona_arena.server.serve import NoServer, submit_tournament

    def update(result) -> None:
        if result.state == "accepted":
            offline = f"; offline workers: {', '.join(result.offline_agents)}" if result.offline_agents else ""
            _say(f"accepted: run {result.run_id}, {result.to_play} of {result.planned} games to play{offline}")
        elif result.state == "finished" and not result.error and not result.sessions:
            _say(f"finished: run {result.run_id}, nothing to play (its {result.planned} games were finished before)")
        elif result.state == "finished" and not result.error:
            done = sum(s.status == "finished" for s in result.sessions)
            _say(f"finished: run {result.run_id}, {done}/{len(result.sessions)} games finished")

    try:
        return await submit_tournament(url, login, text, concurrency=concurrency, accept_timeout=accept_timeout,
                                       wait=wait, on_update=update)
    except BrokerRefused as err:
        fail(str(err))
    except (NoServer, TimeoutError) as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err) or f'cannot reach the broker at {url}')}")
        raise typer.Exit(1) from None
