"""The async session runner: plays one game from setup to outcome, appending every event.

Per turn: ask the game whose turn it is, ask that player's agent (with a timeout), hand the
raw reply to the game, stamp the resulting events with a gapless `seq` and append them to the
store. Agent failures and timeouts become replies with a `failure`, which the game records
as violations; they never end the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import BaseModel

from persona_arena.agents.base import Agent
from persona_arena.core.events import Event, EventDraft
from persona_arena.core.observations import Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.base import Game
from persona_arena.server.store import Store

log = structlog.get_logger(__name__)

DEFAULT_TURN_TIMEOUT = 120.0
AgentFactory = Callable[[AgentSpec, int], Agent]
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


def session_base_id(game: Game, config: BaseModel, seed: int) -> str:
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:8]
    return f"{game.name}-s{seed}-{digest}"


class _Log:
    """Stamps drafts into events with a gapless seq and writes them to the store."""

    def __init__(self, store: Store, run_id: str, session_id: str) -> None:
        self.store, self.run_id, self.session_id = store, run_id, session_id
        self.seq = 0

    async def append(self, drafts: list[EventDraft]) -> None:
        events = []
        for draft in drafts:
            events.append(Event.stamp(draft, run_id=self.run_id, session_id=self.session_id, seq=self.seq))
            self.seq += 1
        await self.store.append(events)


async def run_session(
    game: Game, config: BaseModel, seed: int, *, store: Store, run_id: str,
    agent_factory: AgentFactory, session_id: str | None = None, job_key: str | None = None,
    turn_timeout: float = DEFAULT_TURN_TIMEOUT, stop: asyncio.Event | None = None,
) -> SessionResult:
    """`agent_factory` turns each player's spec into an agent (the caller chooses: the CLI
    passes `agents.registry.create_agent`; the server does not import the adapters)."""
    session_id = session_id or await store.free_session_id(session_base_id(game, config, seed))
    start = game.setup(config, seed)
    players = {p: spec.canonical() for p, spec in start.players.items()}
    await store.ensure_run(run_id)
    await store.start_session(session_id, run_id=run_id, game=game.name, seed=seed,
                              config=json.loads(config.model_dump_json(exclude_none=True)), players=players,
                              job_key=job_key)
    log.info("session.started", session=session_id, game=game.name, seed=seed)
    events = _Log(store, run_id, session_id)
    usage: dict[str, float] = {}
    agents: dict[str, Agent] = {}
    try:
        # One agent object per player: the twin never shares state with its judge.
        agents = {p: agent_factory(spec, seed) for p, spec in start.players.items()}
        await events.append(start.events)
        for _ in range(MAX_TURNS):
            observation = game.next_turn(start.state)
            if observation is None:
                break
            player = observation.player
            # Logged before the call: a turn in progress is visible, and ts gives the latency.
            await events.append([EventDraft(type="turn.request", visible_to=[], payload={
                "player": player, "turn": observation.turn, "turn_number": observation.turn_number})])
            if stop is not None and stop.is_set():
                raise SessionInterrupted
            reply, reply_usage = await _ask(agents[player], observation, turn_timeout, stop)
            for k, v in reply_usage.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    usage[k] = usage.get(k, 0) + v
            answered = EventDraft(type="agent.reply", actor=player, visible_to=[], payload={
                "player": player, "text": reply.text, "failure": reply.failure, "usage": reply_usage})
            await events.append([answered, *game.apply(start.state, player, reply)])
        else:
            raise RuntimeError(f"game did not end within {MAX_TURNS} turns")
        outcome = game.outcome(start.state)
        await store.finish_session(session_id, status="finished", outcome=outcome)
        log.info("session.finished", session=session_id, result=(outcome or {}).get("result"))
        return SessionResult(session_id, run_id, "finished", outcome, players, usage)
    except SessionInterrupted:
        # Stopped between database writes: the partial log stays, marked as abandoned.
        await store.finish_session(session_id, status="abandoned", outcome=None, error="interrupted")
        log.info("session.interrupted", session=session_id)
        return SessionResult(session_id, run_id, "abandoned", None, players, usage, "interrupted")
    except Exception as err:
        # A bug in a game or the store: the session is marked failed, the batch goes on.
        error = f"{type(err).__name__}: {err}"
        log.exception("session.failed", session=session_id, error=error)
        await store.finish_session(session_id, status="failed", outcome=None, error=error)
        return SessionResult(session_id, run_id, "failed", None, players, usage, error)
    finally:
        for agent in agents.values():
            await agent.close()


class SessionInterrupted(Exception):
    """The run was asked to stop (Ctrl-C); raised only where no database write is in flight."""


async def _ask(agent: Agent, observation: Any, timeout: float,
               stop: asyncio.Event | None) -> tuple[Reply, dict[str, Any]]:
    try:
        call = asyncio.ensure_future(asyncio.wait_for(agent.act(observation), timeout))
        if stop is not None:
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({call, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not call.done():
                call.cancel()
                raise SessionInterrupted
        response = await call
    except TimeoutError:
        return Reply.failed(f"timeout after {timeout:g}s"), {}
    except Exception as err:  # any agent error forfeits the turn, never the run
        return Reply.failed(f"{type(err).__name__}: {err}"[:500]), {}
    return Reply(text=response.text), response.usage
