"""Plays a batch's games in several worker processes.

One process runs the rules, event rows and exports of every game on one core; with hundreds
of fast games in play that core is the bottleneck, and each reply waits its turn for it. A
pool of fresh Python processes (nothing shared, no fork of a running event loop, and unlike
multiprocessing's spawn no re-import of the caller's main script) splits the games:
each worker has its own event loop and database connection and plays a fixed share of the
jobs, dealt round-robin so every worker gets a like mix, and reports each game back, so the
parent keeps the progress bar and the results.

A spawned process inherits nothing set at run time, so what a worker needs of the parent is
handed over in `WorkerSetup` (environment, response cache). Ctrl-C reaches the parent only;
it tells the workers to stop at their next safe point. A worker whose parent dies (kill -9)
exits at once, as the parent did: committed games are in the database and a rerun resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from persona_arena import logs
from persona_arena.server.runner import AgentFactory

READY_TIMEOUT = 120.0  # seconds for a worker to start and import the game code


class WorkerError(RuntimeError):
    """A worker process failed or died; games it had not finished are unfinished in the database."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a spawned worker must set up before playing, since it shares nothing with the parent."""

    environ: dict[str, str] = field(default_factory=dict)  # set in the worker's environment
    cache_path: Path | None = None  # the response cache the parent uses, if any
    logging: dict[str, bool] | None = field(default_factory=logs.configured)  # the parent's log setup
    db_url: str | None = None  # opened at start (a share for another database opens that one)
    # (broker URL, login): the worker publishes its committed events to the spectator topics
    spectators: tuple[Any, Any] | None = None
    # where the parent imports from: agent factories and games it sends must import here too
    sys_path: list[str] = field(default_factory=lambda: list(sys.path))


@dataclass(frozen=True)
class _Share:
    """One worker's part of a batch."""

    jobs: list[tuple[int, Any]]  # (index in the batch, GameJob)
    db_url: str
    run_id: str
    export_root: Path
    agent_factory: AgentFactory
    concurrency: int
    turn_timeout: float


class _Worker:
    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process, self.conn = process, conn
        self.handle: Callable[[tuple], None] = lambda message: None
        self.ended: asyncio.Future[None] | None = None  # done when its share is played (or it died)
        self.gone = False


class WorkerPool:
    """`workers` spawned processes that play shares of batches (see `run_batch(pool=...)`).
    Start it before the work it serves, e.g. while the run is being planned: a worker takes
    about as long to start as the CLI itself (it imports the game code)."""

    def __init__(self, workers: int, setup: WorkerSetup | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.size = workers
        self.setup = setup or WorkerSetup()
        self._workers: list[_Worker] = []

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ready: list[asyncio.Future[None]] = []
        try:
            for _ in range(self.size):
                parent_end, child_end = socket.socketpair()
                with child_end:
                    # Ctrl-C is the parent's: it sends "stop" (SIGINT is ignored before anything else).
                    process = subprocess.Popen(
                        [sys.executable, "-c", "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                         "import sys; from persona_arena.server.workers import worker_main; "
                         "worker_main(int(sys.argv[1]))", str(child_end.fileno())],
                        pass_fds=[child_end.fileno()], stdin=subprocess.DEVNULL)
                worker = _Worker(process, Connection(parent_end.detach()))
                self._workers.append(worker)
                started: asyncio.Future[None] = loop.create_future()
                ready.append(started)
                worker.handle = _until_ready(started)
                worker.conn.send(("setup", self.setup))
                loop.add_reader(worker.conn.fileno(), self._read, worker)
            async with asyncio.timeout(READY_TIMEOUT):
                await asyncio.gather(*ready)
        except BaseException:
            await self.close()
            raise

    def _read(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                worker.handle(worker.conn.recv())
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
            worker.gone = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=1)  # it closed its end: it is exiting
            worker.handle(("gone", worker.process.returncode))

    async def play(self, jobs: list[tuple[int, Any]], *, db_url: str, run_id: str, export_root: Path,
                   agent_factory: AgentFactory, concurrency: int, turn_timeout: float,
                   stop: asyncio.Event | None, on_running: Callable[[int], None],
                   on_result: Callable[[int, Any], None]) -> None:
        """Deals `jobs` out and returns when every worker has played its share. Raises
        WorkerError if a worker failed or died (the others finish their shares first)."""
        live = [w for w in self._workers if not w.gone]
        if not live:
            raise WorkerError("no worker process is running")
        used = live[:max(1, min(len(live), concurrency, len(jobs)))]
        loop = asyncio.get_running_loop()
        for number, worker in enumerate(used):
            worker.ended = loop.create_future()
            worker.handle = _playing(worker.ended, on_running, on_result)
            share = _Share(jobs[number::len(used)], db_url, run_id, export_root, agent_factory,
                           concurrency // len(used) + (number < concurrency % len(used)), turn_timeout)
            worker.conn.send(("play", share))

        async def forward_stop() -> None:
            assert stop is not None
            await stop.wait()
            for worker in used:
                if not worker.gone:
                    with contextlib.suppress(OSError):
                        worker.conn.send(("stop",))

        forwarding = asyncio.create_task(forward_stop()) if stop is not None else None
        try:
            outcomes = await asyncio.gather(*(w.ended for w in used if w.ended), return_exceptions=True)
        finally:
            if forwarding is not None:
                forwarding.cancel()
        errors = [str(o) for o in outcomes if isinstance(o, BaseException)]
        if errors:
            raise WorkerError("; ".join(errors))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            if not worker.gone:
                loop.remove_reader(worker.conn.fileno())
                with contextlib.suppress(OSError):
                    worker.conn.send(("exit",))
        for worker in self._workers:
            try:
                await asyncio.to_thread(worker.process.wait, 10)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                await asyncio.to_thread(worker.process.wait)
            worker.conn.close()
        self._workers.clear()


def _until_ready(started: asyncio.Future[None]) -> Callable[[tuple], None]:
    def handle(message: tuple) -> None:
        if started.done():
            return
        if message[0] == "ready":
            started.set_result(None)
        elif message[0] == "error":
            started.set_exception(WorkerError(f"a worker process failed to start:\n{message[1]}"))
        elif message[0] == "gone":
            started.set_exception(WorkerError(f"a worker process ended while starting (exit code {message[1]})"))
    return handle


def _playing(ended: asyncio.Future[None], on_running: Callable[[int], None],
             on_result: Callable[[int, Any], None]) -> Callable[[tuple], None]:
    def handle(message: tuple) -> None:
        kind = message[0]
        if kind == "running":
            on_running(message[1])
        elif kind == "result":
            on_result(message[1], message[2])
        elif ended.done():
            return
        elif kind == "done":
            ended.set_result(None)
        elif kind == "error":
            ended.set_exception(WorkerError(f"a worker process failed:\n{message[1]}"))
        elif kind == "gone":
            ended.set_exception(WorkerError(
                f"a worker process ended unexpectedly (exit code {message[1]}); "
                "its unfinished games stay unfinished: run the same command again to resume"))
    return handle


# -- in the worker process ---------------------------------------------------------------------
def worker_main(fd: int) -> None:
    """The worker process's entry point; `fd` is its end of the parent's socket pair."""
    conn = Connection(fd)
    try:
        kind, setup = conn.recv()
        assert kind == "setup", kind
        sys.path[:] = setup.sys_path
        os.environ.update(setup.environ)
        if setup.logging is not None:
            logs.configure(**setup.logging)
        if setup.cache_path is not None:
            from persona_arena.agents.cache import ResponseCache, use_cache

            use_cache(ResponseCache(setup.cache_path))
        # Imported now, so that starting the pool pays for it, not the first game.
        import persona_arena.games.registry  # noqa: F401
        import persona_arena.server.batch  # noqa: F401
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    asyncio.run(_serve(conn, setup))


async def _serve(conn: Connection, setup: WorkerSetup) -> None:
    from persona_arena.server.bus import SpectatorBus
    from persona_arena.server.mqtt import MqttLink
    from persona_arena.server.store import Store

    stores: dict[str, Store] = {}
    bus: SpectatorBus | None = None
    try:
        if setup.db_url is not None:
            stores[setup.db_url] = await Store.open(setup.db_url)
        if setup.spectators is not None:
            url, login = setup.spectators
            bus = SpectatorBus(MqttLink(url, login, client_id=f"arena-worker-{os.getpid()}-bus"))
            await bus.start()
            await bus.link.start(wait=READY_TIMEOUT)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    publish = bus.publish if bus is not None else None
    conn.send(("ready",))
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple] = asyncio.Queue()

    def readable() -> None:
        try:
            while conn.poll():
                inbox.put_nowait(conn.recv())
        except (EOFError, OSError):
            # The parent is gone (killed): end at once, as it did. Committed games are safe.
            os._exit(70)
        except Exception:  # a message this process cannot read (say, a class it cannot import)
            conn.send(("error", traceback.format_exc()))

    loop.add_reader(conn.fileno(), readable)
    stop = asyncio.Event()
    playing: asyncio.Task[None] | None = None
    try:
        while True:
            message = await inbox.get()
            if message[0] == "play":
                stop.clear()
                playing = asyncio.create_task(_play_share(conn, message[1], stop, stores, publish))
            elif message[0] == "stop":
                stop.set()
            elif message[0] == "exit":
                if playing is not None:
                    stop.set()
                    await playing
                return
    finally:
        for store in stores.values():
            await store.close()
        if bus is not None:
            await bus.close()


async def _play_share(conn: Connection, share: _Share, stop: asyncio.Event, stores: dict[str, Any],
                      publish: Callable[[Any], None] | None) -> None:
    from persona_arena.server.batch import play_jobs
    from persona_arena.server.store import Store

    try:
        store = stores.get(share.db_url)
        if store is None:
            store = stores[share.db_url] = await Store.open(share.db_url)
        await play_jobs(share.jobs, store=store, run_id=share.run_id, export_root=share.export_root,
                        agent_factory=share.agent_factory, concurrency=share.concurrency,
                        turn_timeout=share.turn_timeout, stop=stop, publish=publish,
                        on_running=lambda delta: conn.send(("running", delta)),
                        # the events stay here: they are in the database and the export
                        on_result=lambda index, result: conn.send(
                            ("result", index, replace(result, events=[], committed=None))))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    else:
        conn.send(("done",))
