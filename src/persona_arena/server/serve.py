"""The game server (`arena serve`): runs the tournaments submitted over MQTT.

It holds three broker connections, all as the `admin` identity: the control link (takes
submissions from `arena/v1/server/submit`, answers on `arena/v1/server/results/<id>`), the
remote-agent hub (worker inboxes and outboxes) and the spectator bus (event topics). The
database is written by this process only, before anything is published: a broker outage
pauses spectating and remote turns (their timeouts still apply) and loses no event.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from pydantic import ValidationError
from rich.console import Console

from persona_arena.core.specs import SpecError
from persona_arena.server.broker import Credentials
from persona_arena.server.links import RunLinks
from persona_arena.server.mqtt import BrokerUrl, Login, MqttLink
from persona_arena.server.protocol import (
    ADMIN_USER, QOS, SUBMIT_TOPIC, SessionState, Submission, SubmissionResult, dump, result_topic,
)
from persona_arena.server.store import Store

if TYPE_CHECKING:
    from persona_arena.server.tournament import TournamentFile

log = structlog.get_logger(__name__)

DEFAULT_AGENT_WAIT = 30.0


class ArenaServer:
    def __init__(self, store: Store, url: BrokerUrl, credentials: Credentials, *, out: Path,
                 agent_wait: float = DEFAULT_AGENT_WAIT, say: Callable[[str], None] | None = None) -> None:
        self.store, self.url, self.credentials, self.out = store, url, credentials, out
        self.agent_wait = agent_wait
        self.say = say or (lambda text: None)
        admin = credentials.login(ADMIN_USER)
        self.links = RunLinks(url, credentials, client_prefix="arena-server")
        self.hub, self.bus = self.links.hub, self.links.bus
        # Persistent: submissions sent while the server reconnects are delivered afterwards.
        self.control = MqttLink(url, admin, client_id="arena-server-control", clean_session=False,
                                subscriptions=[(SUBMIT_TOPIC, QOS)], on_message=self._on_submission)
        self.submissions: dict[str, SubmissionResult] = {}
        self._runs_in_play: set[str] = set()  # a run is played by one submission at a time
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    async def start(self, *, connect_timeout: float = 30.0) -> None:
        """Connects all three links (raises BrokerRefused / TimeoutError if it cannot)."""
        await self.links.start(connect_timeout=connect_timeout)
        await self.control.start(wait=connect_timeout)

    async def stop(self) -> None:
        """Interrupts running games at their next safe point, then disconnects."""
        self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.control.stop()
        await self.links.stop()

    async def serve(self, stop: asyncio.Event, *, connect_timeout: float = 30.0) -> None:
        await self.start(connect_timeout=connect_timeout)
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> ArenaServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- submissions -----------------------------------------------------------------------
    def _on_submission(self, message) -> None:  # type: ignore[no-untyped-def]
        try:
            submission = Submission.model_validate_json(message.payload)
        except ValidationError as err:
            log.warning("server.bad_submission", error=str(err)[:300])
            return
        if submission.id in self.submissions:  # QoS 1 may deliver it twice
            return
        self.submissions[submission.id] = SubmissionResult(id=submission.id, state="accepted")
        task = asyncio.create_task(self._play(submission), name=f"submission-{submission.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, result: SubmissionResult) -> None:
        self.submissions[result.id] = result
        await self.control.publish_until_sent(result_topic(result.id), dump(result), qos=QOS)

    async def _play(self, submission: Submission) -> None:
        try:
            await self._play_tournament(submission)
        except Exception as err:  # a bug must not take the server down, and the submitter is told
            log.exception("server.submission_failed", submission=submission.id)
            await self._answer(SubmissionResult(id=submission.id, state="finished",
                                                error=f"{type(err).__name__}: {err}"[:500]))

    async def _play_tournament(self, submission: Submission) -> None:
        from persona_arena.agents.registry import check_spec
        from persona_arena.server.tournament import TournamentError, load_tournament

        folder = self.out / "submissions"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{submission.id}.toml"
        path.write_text(submission.tournament, encoding="utf-8")
        try:
            tournament = load_tournament(path)
            remote = set()
            for i, agent in enumerate(tournament.agents):
                spec = agent.spec()
                try:
                    check_spec(spec)
                except SpecError as err:
                    raise TournamentError(f"{path}: agents.{i}.model: {err}") from None
                if spec.kind == "remote":
                    remote.add(spec.name)
            run_id = tournament.run_id()
            if run_id in self._runs_in_play:
                # Its resume would mark the games in play abandoned while they go on.
                raise TournamentError(f"run {run_id} is already being played (submit it again once it is done)")
        except TournamentError as err:
            self.say(f"submission {submission.id} rejected: {err}")
            await self._answer(SubmissionResult(id=submission.id, state="rejected", error=str(err)))
            return
        self._runs_in_play.add(run_id)
        try:
            await self._play_run(submission, tournament, remote)
        finally:
            self._runs_in_play.discard(run_id)

    async def _play_run(self, submission: Submission, tournament: TournamentFile, remote: set[str]) -> None:
        from persona_arena.server.batch import run_batch
        from persona_arena.server.tournament import prepare_run

        todo = await prepare_run(tournament, self.store, source=f"submission {submission.id}")
        # Accepted at once (the submitter waits for this answer); then the workers get
        # --agent-wait seconds to come online, and the run starts anyway.
        offline = sorted(n for n in remote if not self.hub.online(n))
        self.say(f"submission {submission.id}: run {todo.run_id}, {len(todo.todo)} of {todo.planned} games to play"
                 + (f" (waiting for offline workers: {', '.join(offline)})" if offline else ""))
        await self._answer(SubmissionResult(id=submission.id, state="accepted", run_id=todo.run_id,
                                            planned=todo.planned, to_play=len(todo.todo), offline_agents=offline))
        if offline:
            offline = await self.hub.wait_online(offline, self.agent_wait)
            if offline:
                self.say(f"submission {submission.id}: playing without offline workers: {', '.join(offline)}")
        results = await run_batch(
            todo.todo, store=self.store, run_id=todo.run_id, export_root=self.out,
            agent_factory=self.hub.agent_factory(tournament.turn_timeout),
            concurrency=submission.concurrency or tournament.concurrency, turn_timeout=tournament.turn_timeout,
            console=Console(file=io.StringIO()),  # one progress bar per submission would collide
            already_done=todo.finished, stop=self._stop, publish=self.bus.publish)
        sessions = [SessionState(session_id=r.session_id, status=r.status, error=r.error) for r in results]
        done = sum(s.status == "finished" for s in sessions)
        self.say(f"submission {submission.id}: run {todo.run_id} done, {done}/{len(sessions)} games finished")
        await self._answer(SubmissionResult(id=submission.id, state="finished", run_id=todo.run_id,
                                            planned=todo.planned, to_play=len(todo.todo), offline_agents=offline,
                                            sessions=sessions))


class NoServer(Exception):
    """No server accepted the submission in time."""


async def submit_tournament(url: BrokerUrl, login: Login, tournament: str, *, concurrency: int | None = None,
                            accept_timeout: float = 30.0, wait: bool = True,
                            on_update: Callable[[SubmissionResult], None] | None = None) -> SubmissionResult:
    """Submits a tournament (TOML text) and returns the server's last word: `rejected`,
    `finished`, or `accepted` when `wait` is false."""
    submission = Submission(id=uuid.uuid4().hex[:16], tournament=tournament, concurrency=concurrency)
    updates: asyncio.Queue[SubmissionResult] = asyncio.Queue()

    def on_message(message) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(ValidationError):
            updates.put_nowait(SubmissionResult.model_validate_json(message.payload))

    link = MqttLink(url, login, client_id=f"arena-submit-{submission.id}",
                    subscriptions=[(result_topic(submission.id), QOS)], on_message=on_message)
    await link.start(wait=accept_timeout)
    try:
        await link.publish_until_sent(SUBMIT_TOPIC, dump(submission), qos=QOS)
        timeout: float | None = accept_timeout
        while True:
            try:
                async with asyncio.timeout(timeout):
                    result = await updates.get()
            except TimeoutError:
                raise NoServer(f"no server answered on {url} within {accept_timeout:g}s") from None
            if on_update is not None:
                on_update(result)
            if result.state != "accepted" or not wait:
                return result
            if result.run_id is not None:
                timeout = None  # accepted: the games take as long as they take
    finally:
        await link.stop()
