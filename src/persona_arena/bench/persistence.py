"""P1: scripted-agent turns per second of full games with persistence, against raw batched
SQLite inserts of the same event rows (sqlite3 executemany, one transaction).

The detail also gives two other baselines: the same rows committed one transaction per turn,
as the server commits them (so that kill -9 loses no finished turn); and the same games played
by the rule engine and the same agents alone (no runner, events, store): what the games cost
before the server adds anything."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from persona_arena.bench.figures import Figure
from persona_arena.core.observations import Reply
from persona_arena.core.specs import AgentSpec

if TYPE_CHECKING:
    from pydantic import BaseModel

    from persona_arena.games.base import Game
    from persona_arena.server.runner import AgentFactory


async def measure_persistence(games: int) -> Figure:
    from persona_arena.agents.registry import create_agent
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.game import Negotiation
    from persona_arena.server.runner import run_session
    from persona_arena.server.store import Store

    scripted = AgentSpec(model="scripted")
    config = NegotiationConfig(parties=[{"agent": scripted, "persona": "honest"},
                                        {"agent": scripted, "persona": "saboteur"},
                                        {"agent": scripted, "persona": "cooperative"}],
                               scenario="joint-project", rounds=4, end_on_deal=False)
    rules_turns, rules_seconds = await _rules_only(Negotiation(), config, games, create_agent)
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite")
        try:
            started = time.perf_counter()
            for seed in range(games):
                await run_session(Negotiation(), config, seed, store=store, run_id="bench", agent_factory=create_agent)
            elapsed = time.perf_counter() - started
            events = [e for s in await store.sessions("bench") for e in await store.events(s.id)]
        finally:
            await store.close()
        turns = sum(e.type == "agent.reply" for e in events)
        rows = [(e.run_id, e.session_id, e.seq, e.ts.isoformat(), e.type, e.actor, json.dumps(e.visible_to),
                 json.dumps(e.payload)) for e in events]
        raw = _raw_insert_seconds(Path(tmp) / "raw.sqlite", [rows])
        per_turn = _raw_insert_seconds(Path(tmp) / "per-turn.sqlite", _per_turn(rows))
    return Figure.compare("P1", turns / elapsed, turns / raw, goal=0.5, unit="turns/s",
                          games=games, turns=turns, events=len(rows),
                          baseline_what="raw sqlite3 executemany of the same event rows, one transaction",
                          per_turn_commits_turns_per_s=turns / per_turn,
                          per_turn_commits_ratio=(turns / elapsed) / (turns / per_turn),
                          rules_only_turns=rules_turns, rules_only_turns_per_s=rules_turns / rules_seconds,
                          rules_only_ratio=(turns / elapsed) / (rules_turns / rules_seconds))


async def _rules_only(game: Game, config: BaseModel, games: int, agent_factory: AgentFactory) -> tuple[int, float]:
    """(turns, seconds) of the games played by the rule engine and the agents alone, as the
    runner would play them but with nothing recorded."""
    turns = 0
    started = time.perf_counter()
    for seed in range(games):
        start = game.setup(config, seed)
        agents = {player: agent_factory(spec, seed) for player, spec in start.players.items()}
        while (observation := game.next_turn(start.state)) is not None:
            response = await agents[observation.player].act(observation)
            game.apply(start.state, observation.player, Reply(text=response.text))
            turns += 1
    return turns, time.perf_counter() - started


def _per_turn(rows: list[tuple]) -> list[list[tuple]]:
    """The rows in the transactions the server commits them in: a game's setup, then one per
    turn (from its `turn.request` to the next)."""
    groups: list[list[tuple]] = []
    for row in rows:
        session_id, event_type = row[1], row[4]
        if not groups or groups[-1][0][1] != session_id or event_type == "turn.request":
            groups.append([])
        groups[-1].append(row)
    return groups


def _raw_insert_seconds(path: Path, transactions: list[list[tuple]]) -> float:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE event (run_id TEXT, session_id TEXT, seq INTEGER, ts TEXT, type TEXT, "
                           "actor TEXT, visible_to TEXT, payload TEXT, PRIMARY KEY (session_id, seq))")
        started = time.perf_counter()
        for rows in transactions:
            with connection:
                connection.executemany("INSERT INTO event VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return time.perf_counter() - started
    finally:
        connection.close()
