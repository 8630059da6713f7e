"""The async session runner: plays one game from setup to outcome, appending every event.

Per turn: ask the game whose turn it is, ask that player's agent (with a timeout), hand the
raw reply to the game, stamp the resulting events with a gapless `seq` and append them to the
store. Agent failures and timeouts become replies with a `failure`, which the game records
as violations; they never end the run.

`publish` (optional) is called with each batch of events right after it is committed, e.g.
`SpectatorBus.publish`, which only queues them: the database never waits for spectators.
An agent may report events about itself (a remote agent's late or duplicate replies) through
an optional `take_notes() -> list[EventDraft]`; the runner appends them with each reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import BaseModel

from persona_arena.agents.base import Agent
from persona_arena.core.events import Event, EventDraft
from persona_arena.core.jsontext import scrub_text
from persona_arena.core.secrets import redact
from persona_arena.core.observations import Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.base import Game
from persona_arena.server.store import Store

log = structlog.get_logger(__name__)

DEFAULT_TURN_TIMEOUT = 120.0
AgentFactory = Callable[[AgentSpec, int], Agent]
EventHook = Callable[[Sequence[Event]], None]
MAX_TURNS = 10_000  # a guard against a game that never ends


@dataclass
class SessionResult:
    session_id: str
    run_id: str
    status: str
    outcome: dict[str, Any] | None
    players: dict[str, str]
    usage: dict[str, float] = field(default_factory=dict)  # summed over the session's agent replies
    error: str | None = None
    events: list[Event] = field(default_factory=list, repr=False)  # a finished session's log, as committed
    committed: asyncio.Future[None] | None = field(default=None, repr=False)  # the session's end is stored


def session_base_id(game: Game, config: BaseModel, seed: int) -> str:
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:8]
    return f"{game.name}-s{seed}-{digest}"


class _Log:
    """Stamps drafts into events with a gapless seq and queues them for the store.

    Writes are pipelined: a turn's events are queued and the game goes on (the next agent
    call overlaps the commit); `settle` waits until everything queued so far is committed and
    raises the first write that failed. The runner settles before it queues the next reply and
    before it ends the session, so at most one turn is ever uncommitted, and a crash loses
    only a game that a rerun plays again from scratch anyway.
    """

    def __init__(self, store: Store, run_id: str, session_id: str, publish: EventHook | None = None) -> None:
        self.store, self.run_id, self.session_id = store, run_id, session_id
        self.publish = publish
        self.seq = 0
        self.written: list[Event] = []  # what the store has committed, in order (for the export)
        self.pending: list[asyncio.Future[None]] = []  # queued writes not yet settled

    def _stamp(self, drafts: list[EventDraft]) -> list[Event]:
        events = []
        for draft in drafts:
            events.append(Event.stamp(draft, run_id=self.run_id, session_id=self.session_id, seq=self.seq))
            self.seq += 1
        return events

    def queue(self, drafts: list[EventDraft]) -> None:
        events = self._stamp(drafts)
        if not events:
            return
        future = self.store.append_soon(events)
        self.pending.append(future)
        # Runs when the commit lands, before any waiter resumes: `written` is complete on settle.
        future.add_done_callback(lambda f: None if f.cancelled() or f.exception() else self._committed(events))

    async def settle(self) -> None:
        """Waits for every queued write (committed in queue order); a failure ends the game."""
        pending, self.pending = self.pending, []
        for future in pending:
            await future

    def _committed(self, events: list[Event]) -> None:
        self.written += events
        if self.publish is not None and events:
            try:
                self.publish(events)
            except Exception:  # spectating must never break a game
                log.exception("session.publish_failed", session=self.session_id)


def _agent_notes(agents: dict[str, Agent]) -> list[EventDraft]:
    """Events agents report about themselves (see the module docstring)."""
    notes: list[EventDraft] = []
    for agent in agents.values():
        take = getattr(agent, "take_notes", None)
        if take is not None:
            notes += take()
    return notes


async def run_session(
    game: Game, config: BaseModel, seed: int, *, store: Store, run_id: str,
    agent_factory: AgentFactory, session_id: str | None = None, job_key: str | None = None,
    turn_timeout: float = DEFAULT_TURN_TIMEOUT, stop: asyncio.Event | None = None,
    publish: EventHook | None = None, wait_for_commit: bool = True,
) -> SessionResult:
    """`agent_factory` turns each player's spec into an agent (the caller chooses: the CLI
    passes `agents.registry.create_agent`; the server does not import the adapters).

    With `wait_for_commit=False` it returns as soon as the game is over, before its last
    turn and its end are committed; `result.committed` is done once they are (a batch frees
    the game's slot for the next game meanwhile)."""
    session_id = session_id or await store.free_session_id(session_base_id(game, config, seed))
    start = game.setup(config, seed)
    players = {p: spec.canonical() for p, spec in start.players.items()}
    await store.ensure_run(run_id)
    # Queued, not awaited: the events that follow are committed after it, and the first
    # settle below reports a failure.
    started = store.start_session_soon(
        session_id, run_id=run_id, game=game.name, seed=seed,
        config=json.loads(config.model_dump_json(exclude_none=True)), players=players, job_key=job_key)
    log.info("session.started", session=session_id, game=game.name, seed=seed)
    events = _Log(store, run_id, session_id, publish)
    events.pending.append(started)
    usage: dict[str, float] = {}
    agents: dict[str, Agent] = {}

    async def end_unfinished(status: str, error: str) -> SessionResult:
        committed = store.finish_session_soon(session_id, status=status, outcome=None, error=error)
        if wait_for_commit:
            await committed
        return SessionResult(session_id, run_id, status, None, players, usage, error, committed=committed)

    def end_when_settled(outcome: dict[str, Any] | None) -> SessionResult:
        # The game is over; the last turn's writes may still be landing. The session is marked
        # finished only once they have; a failed write marks it failed instead (and the result
        # says so by the time `committed` is done).
        result = SessionResult(session_id, run_id, "finished", outcome, players, usage, events=events.written)

        async def land() -> None:
            try:
                await events.settle()
            except Exception as err:
                if started.done() and not started.cancelled() and started.exception() is not None:
                    raise  # no session row to mark
                result.status, result.outcome, result.events = "failed", None, []
                result.error = f"{type(err).__name__}: {err}"
                log.exception("session.failed", session=session_id, error=result.error)
            else:
                log.info("session.finished", session=session_id, result=(outcome or {}).get("result"))
            await store.finish_session_soon(session_id, status=result.status, outcome=result.outcome,
                                            error=result.error)

        result.committed = asyncio.ensure_future(land())
        return result

    watch = _StopWatch(stop)
    try:
        # One agent object per player: the twin never shares state with its judge.
        agents = {p: agent_factory(spec, seed) for p, spec in start.players.items()}
        events.queue(start.events)
        for _ in range(MAX_TURNS):
            observation = game.next_turn(start.state)
            if observation is None:
                break
            player = observation.player
            # Logged before the call: a turn in progress is visible, and ts gives the latency.
            events.queue([EventDraft(type="turn.request", visible_to=[], payload={
                "player": player, "turn": observation.turn, "turn_number": observation.turn_number})])
            asked_at = asyncio.get_running_loop().time()
            reply, reply_usage = await _ask(agents[player], observation, turn_timeout, watch)
            timing = await _equalize_latency(config, asked_at, stop)
            for k, v in reply_usage.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    usage[k] = usage.get(k, 0) + v
            answered = EventDraft(type="agent.reply", actor=player, visible_to=[], payload={
                "player": player, "text": reply.text, "failure": reply.failure, "usage": reply_usage,
                **timing})
            # The previous turn's commit overlapped the agent call; a failed write stops here.
            await events.settle()
            # Notes first: the game's own events (its outcome last of all) close the batch.
            events.queue([*_agent_notes(agents), answered, *game.apply(start.state, player, reply)])
        else:
            raise RuntimeError(f"game did not end within {MAX_TURNS} turns")
        result = end_when_settled(game.outcome(start.state))
        if wait_for_commit:
            await result.committed  # type: ignore[misc]
        return result
    except SessionInterrupted:
        # Stopped between turns: the partial log stays (writes in flight land first), marked abandoned.
        log.info("session.interrupted", session=session_id)
        return await end_unfinished("abandoned", "interrupted")
    except Exception as err:
        if started.done() and not started.cancelled() and started.exception() is not None:
            raise  # the session row itself could not be written: there is no session to mark
        # A bug in a game or the store: the session is marked failed, the batch goes on.
        error = f"{type(err).__name__}: {err}"
        log.exception("session.failed", session=session_id, error=error)
        return await end_unfinished("failed", error)
    finally:
        watch.close()
        for agent in agents.values():
            await agent.close()


class _StopWatch:
    """Turns `stop` into an interruption of the agent call in progress. One waiter per
    session: racing a fresh stop-waiter task against every agent call cost several trips
    through the event loop's queue per turn."""

    def __init__(self, stop: asyncio.Event | None) -> None:
        self.stop = stop
        self.task = asyncio.current_task()
        self.asking = False
        self.interrupted = False
        self._waiter = None if stop is None else asyncio.ensure_future(stop.wait())
        if self._waiter is not None:
            self._waiter.add_done_callback(self._on_stop)

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _on_stop(self, waiter: asyncio.Future[Any]) -> None:
        if self.asking and not waiter.cancelled() and self.task is not None:
            self.interrupted = True
            self.task.cancel()

    def close(self) -> None:
        if self._waiter is not None:
            self._waiter.cancel()


async def _equalize_latency(config: BaseModel, asked_at: float, stop: asyncio.Event | None) -> dict[str, float]:
    """A game config with `equalize_latency` (seconds) asks for every reply to be released at
    the next multiple of that slot after its request, so response time cannot tell agents
    apart. The raw latency goes into the god-view `agent.reply` only; without the option
    nothing is added (the log stays as it was)."""
    slot = getattr(config, "equalize_latency", None)
    if not slot:
        return {}
    raw = asyncio.get_running_loop().time() - asked_at
    release = slot * max(1, math.ceil(raw / slot))
    if stop is None:
        await asyncio.sleep(release - raw)
    else:
        try:
            await asyncio.wait_for(stop.wait(), release - raw)
            raise SessionInterrupted
        except TimeoutError:
            pass
    return {"raw_latency_s": round(raw, 6), "released_after_s": round(release, 6)}


class SessionInterrupted(Exception):
    """The run was asked to stop (Ctrl-C); raised between turns or by interrupting an agent
    call, never inside a game's rules. Writes already queued land before the session's end."""


async def _ask(agent: Agent, observation: Any, timeout: float, watch: _StopWatch) -> tuple[Reply, dict[str, Any]]:
    if watch.stopped:
        raise SessionInterrupted
    watch.asking = True
    try:
        # In this task (no task per call): a reply wakes the session directly.
        async with asyncio.timeout(timeout):
            response = await agent.act(observation)
    except TimeoutError:
        return Reply.failed(f"timeout after {timeout:g}s"), {}
    except asyncio.CancelledError:
        if watch.interrupted:
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            raise SessionInterrupted from None
        raise
    except Exception as err:  # any agent error forfeits the turn, never the run
        # Provider errors may quote a request's key: it must not reach the event log.
        return Reply.failed(redact(f"{type(err).__name__}: {err}")[:500]), {}
    finally:
        watch.asking = False
    if watch.interrupted:  # the agent swallowed the cancellation
        asyncio.current_task().uncancel()  # type: ignore[union-attr]
        raise SessionInterrupted
    # Text that UTF-8 cannot carry (lone surrogates) would break the store and every export.
    return Reply(text=None if response.text is None else scrub_text(response.text)), response.usage
