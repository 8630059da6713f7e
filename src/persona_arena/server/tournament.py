"""Tournament files: validation, the deterministic game plan, and resumable runs.

A run's identity is the file's validated content (not its path, layout or comments), so the
same file always maps to the same run: running it again skips finished games, abandons and
replays unfinished ones, and never records a planned game as finished twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator,
)

from persona_arena.core.specs import AgentSettings, AgentSpec, SpecError
from persona_arena.core.tomlfiles import read_toml
from persona_arena.core.validation import field_errors
from persona_arena.games.registry import UnknownGame, get_game
from persona_arena.server.batch import GameJob

# Agents that cannot give structured verdicts do not judge unless a file says so.
NON_JUDGES = ("eliza", "human")
# Every seed a plan makes (first_seed + n) fits a 64-bit database integer.
MAX_SEEDS = 1_000_000
MAX_FIRST_SEED = 2**62


class TournamentError(ValueError):
    """A tournament file that cannot be run; the message names the file and the field."""


class AgentEntry(AgentSettings):
    id: str = Field(pattern=r"^[A-Za-z0-9][\w.\-]*$")
    model: str
    judge: bool | None = Field(default=None, strict=True, description="may judge (default: all but eliza/human)")

    @field_validator("model")
    @classmethod
    def _spec_string(cls, value: str) -> str:
        try:
            AgentSpec.parse(value)
        except SpecError as err:
            raise ValueError(str(err)) from None
        return value

    def spec(self) -> AgentSpec:
        """The model string (which may carry `;key=value` settings) plus the entry's own settings."""
        settings = self.model_dump(exclude={"id", "judge", "model"}, exclude_none=True)
        return AgentSpec.parse(self.model).model_copy(update=settings)

    @property
    def can_judge(self) -> bool:
        return self.judge if self.judge is not None else self.spec().kind not in NON_JUDGES


class MatchEntry(BaseModel):
    """An explicit reverse-turing game: this judge against these foils."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: str
    candidates: list[str] = Field(min_length=1, description="foil agent ids")
    twin: str | None = None
    seeds: int | None = Field(default=None, ge=1, le=MAX_SEEDS, strict=True)


class PartyMatch(BaseModel):
    """An explicit negotiation game: these agents in seat order, each `agent_id@persona`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parties: list[str] = Field(min_length=2, max_length=6, description="agent_id@persona, in seat order")
    scenario: str | None = None
    seeds: int | None = Field(default=None, ge=1, le=MAX_SEEDS, strict=True)

    def seats(self) -> list[tuple[str, str]]:
        return [(p.rpartition("@")[0], p.rpartition("@")[2]) if "@" in p else (p, "plain") for p in self.parties]


def _match_shape(value: Any) -> str:
    """Which match a [[matches]] table is: a negotiation's names `parties`."""
    return "PartyMatch" if isinstance(value, dict) and "parties" in value else "MatchEntry"


# One shape's errors, not both (a table with `parties` is a negotiation match, any other a
# reverse-turing one); the shape's name is left out of the error's field path.
AnyMatch = Annotated[Annotated[MatchEntry, Tag("MatchEntry")] | Annotated[PartyMatch, Tag("PartyMatch")],
                     Discriminator(_match_shape)]
MATCH_SHAPES = ("MatchEntry", "PartyMatch")


class TournamentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    game: str = "reverse-turing"
    seeds: int = Field(default=1, ge=1, le=MAX_SEEDS, strict=True,
                       description="games per judge (balanced plan) or per explicit match")
    first_seed: int = Field(default=0, ge=0, le=MAX_FIRST_SEED, strict=True)
    concurrency: int = Field(default=4, ge=1, strict=True, description="games at once (not part of the run's identity)")
    turn_timeout: float = Field(default=120.0, gt=0, allow_inf_nan=False, strict=True)
    game_options: dict[str, Any] = Field(default_factory=dict)
    agents: list[AgentEntry] = Field(min_length=1)
    matches: list[AnyMatch] = Field(default_factory=list)

    @field_validator("game")
    @classmethod
    def _known_game(cls, value: str) -> str:
        try:
            get_game(value)
        except UnknownGame as err:
            raise ValueError(err.args[0]) from None
        if value not in PLANNERS:
            raise ValueError(f"tournaments cannot plan {value!r} games yet; they can plan {sorted(PLANNERS)}")
        return value

    @field_validator("game_options")
    @classmethod
    def _options_not_roles(cls, value: dict[str, Any]) -> dict[str, Any]:
        roles = sorted(set(value) & {"judge", "foils", "twin", "parties"})
        if roles:
            raise ValueError(f"{', '.join(roles)} come from [[agents]] and [[matches]], not game_options")
        candidates = value.get("candidates")
        if candidates is not None and (isinstance(candidates, bool) or not isinstance(candidates, int)):
            raise ValueError("candidates must be a whole number")
        return value

    @model_validator(mode="after")
    def _references(self) -> TournamentFile:
        ids = [a.id for a in self.agents]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"agent ids must be unique: {', '.join(duplicates)}")
        expected = PartyMatch if self.game == "negotiation" else MatchEntry
        for m in self.matches:
            if not isinstance(m, expected):
                keys = "judge = ID, candidates = [ID, …]" if expected is MatchEntry else "parties = [\"ID@persona\", …]"
                raise ValueError(f"a {self.game} match names its players with {keys}")
            refs = [a for a, _ in m.seats()] if isinstance(m, PartyMatch) \
                else [m.judge, *m.candidates, *([m.twin] if m.twin else [])]
            for ref in refs:
                if ref not in ids:
                    raise ValueError(f"match names unknown agent {ref!r}; agents are {ids}")
        return self

    def agent(self, agent_id: str) -> AgentEntry:
        return next(a for a in self.agents if a.id == agent_id)

    def run_id(self) -> str:
        # Sorted keys: the identity does not depend on the order fields are declared in.
        content = json.dumps(self.model_dump(mode="json", exclude={"concurrency"}), sort_keys=True)
        slug = re.sub(r"[^\w.\-]+", "-", self.name).strip("-") or "tournament"
        return f"{slug}-{hashlib.sha256(content.encode()).hexdigest()[:8]}"


def load_tournament(path: Path, *, game_options: dict[str, Any] | None = None,
                    **overrides: Any) -> TournamentFile:
    """Reads and validates a TOML tournament file; `overrides` replace top-level keys (None
    leaves a key as the file has it) and `game_options` are merged over the file's."""
    data = read_toml(path, TournamentError)
    data.update({k: v for k, v in overrides.items() if v is not None})
    if game_options:
        data["game_options"] = {**data.get("game_options", {}), **game_options}
    try:
        tournament = TournamentFile.model_validate(data)
        plan(tournament)  # game options are validated by building every game's config
    except ValidationError as err:
        raise TournamentError(f"{path}: {field_errors(err, 'file', hide=MATCH_SHAPES)}") from None
    except ValueError as err:
        raise TournamentError(f"{path}: {err}") from None
    return tournament


@dataclasses.dataclass(frozen=True)
class PlannedGame:
    roles: dict[str, Any]     # role -> agent id(s), for reports
    job: GameJob              # its job_key is stable within the run: g0000, g0001, …

    @property
    def key(self) -> str:
        return self.job.job_key or ""

    @property
    def seed(self) -> int:
        return self.job.seed


def plan(t: TournamentFile) -> list[PlannedGame]:
    return PLANNERS[t.game](t)


def _reverse_turing_plan(t: TournamentFile) -> list[PlannedGame]:
    from persona_arena.games.reverse_turing.config import ReverseTuringConfig

    game = get_game(t.game)
    if t.matches:
        pairings = [(m, [t.first_seed + s for s in range(m.seeds or t.seeds)]) for m in t.matches]
    else:
        pairings = _balanced_pairings(t)

    def build(m: MatchEntry) -> ReverseTuringConfig:
        try:
            return ReverseTuringConfig(
                judge=t.agent(m.judge).spec(), foils=[t.agent(c).spec() for c in m.candidates],
                twin=t.agent(m.twin).spec() if m.twin else None, **t.game_options)
        except ValidationError as err:
            raise ValueError(field_errors(err, "game_options", prefix="game_options")) from None

    games = []
    for m, seeds in pairings:
        config = build(m)
        for seed in seeds:
            key = f"g{len(games):04d}"
            games.append(PlannedGame(
                roles={"judge": m.judge, "foils": list(m.candidates), "twin": m.twin or m.judge},
                job=GameJob(game, config, seed, job_key=key)))
    return games


def _balanced_pairings(t: TournamentFile) -> list[tuple[MatchEntry, list[int]]]:
    """Every judge-capable agent judges `seeds` games; its foils rotate through the other agents
    in a seeded order, so each other agent is a foil equally often (±1), and the twin's seat
    rotates with the game seed."""
    n_candidates = t.game_options.get("candidates") or 3
    if n_candidates < 2:
        raise ValueError(f"game_options.candidates: {n_candidates}; a game has at least 2 (the twin and a foil)")
    judges = [a for a in t.agents if a.can_judge]
    if not judges:
        raise ValueError("no agent can judge: set judge = true on at least one agent")
    matches = []
    for judge in judges:
        others = [a.id for a in t.agents if a.id != judge.id]
        if not others:
            raise ValueError(f"{judge.id} has no other agent to play against")
        random.Random(f"{t.first_seed}:{judge.id}").shuffle(others)
        n_foils = n_candidates - 1
        for s in range(t.seeds):
            foils = [others[(s * n_foils + i) % len(others)] for i in range(n_foils)]
            matches.append((MatchEntry(judge=judge.id, candidates=foils), [t.first_seed + s]))
    return matches


class NegotiationPlanOptions(BaseModel):
    """game_options keys that shape the plan of a negotiation tournament (the others are the
    game's own options, e.g. rounds, accept_k)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenarios: list[str | None] = Field(default_factory=lambda: [None], min_length=1,
                                        description="built-in names or .toml paths; omit for generated ones")
    seats: int = Field(default=2, ge=2, le=6, description="parties in generated scenarios")
    personas: list[list[str]] = Field(default_factory=lambda: [["plain"]], min_length=1,
                                      description="persona assignments, each in seat order (cycled)")
    conditions: list[Literal["monitored", "unmonitored"]] = Field(
        default_factory=lambda: ["unmonitored"], min_length=1)



def _negotiation_plan(t: TournamentFile) -> list[PlannedGame]:
    """Round-robin: every combination of agents × persona assignment × seed × condition. The
    seating rotates with the seed so agents take turns in each seat, and every condition plays
    the same (scenario, seating, seed): the conditions are paired."""
    from persona_arena.games.negotiation.config import NegotiationConfig
    from persona_arena.games.negotiation.scenario import resolve_scenario

    game = get_game(t.game)
    raw = dict(t.game_options)
    try:
        shape = NegotiationPlanOptions.model_validate(
            {k: raw.pop(k) for k in ("scenarios", "seats", "personas", "conditions") if k in raw})
    except ValidationError as err:
        raise ValueError(field_errors(err, "game_options", prefix="game_options")) from None
    if "scenario" in raw:
        if "scenarios" in t.game_options:
            raise ValueError("game_options: scenario and scenarios exclude each other "
                             "(scenario = X is scenarios = [X])")
        shape = shape.model_copy(update={"scenarios": [raw.pop("scenario")]})
    if "condition" in raw:
        raise ValueError("game_options: use conditions = [...] (every game is played in each)")

    def build(seating: list[tuple[str, str]], scenario: str | None, condition: str) -> NegotiationConfig:
        try:
            return NegotiationConfig(
                parties=[{"agent": t.agent(a).spec(), "persona": p} for a, p in seating],
                scenario=scenario, condition=condition, **raw)
        except ValidationError as err:
            raise ValueError(field_errors(err, "game_options", prefix="game_options")) from None

    games: list[PlannedGame] = []

    def add(seating: list[tuple[str, str]], scenario: str | None, seed: int) -> None:
        for condition in shape.conditions:
            config = build(seating, scenario, condition)
            games.append(PlannedGame(
                roles={"parties": [a for a, _ in seating], "personas": [p for _, p in seating],
                       "scenario": scenario, "condition": condition},
                job=GameJob(game, config, seed, job_key=f"g{len(games):04d}")))

    if t.matches:
        for m in t.matches:
            assert isinstance(m, PartyMatch)
            for s in range(m.seeds or t.seeds):
                add(m.seats(), m.scenario, t.first_seed + s)
        return games
    ids = [a.id for a in t.agents]
    for scenario in shape.scenarios:
        try:
            seats = len(resolve_scenario(scenario).parties) if scenario else shape.seats
        except ValueError as err:
            raise ValueError(f"game_options.scenarios: {err}") from None
        combos = list(itertools.combinations(ids, seats)) if len(ids) >= seats \
            else list(itertools.combinations_with_replacement(ids, seats))
        for combo in combos:
            for assignment in shape.personas:
                personas = [assignment[i % len(assignment)] for i in range(seats)]
                for s in range(t.seeds):
                    shift = s % seats
                    agents = list(combo[shift:] + combo[:shift])
                    add(list(zip(agents, personas)), scenario, t.first_seed + s)
    return games


PLANNERS: dict[str, Callable[[TournamentFile], list[PlannedGame]]] = {
    "reverse-turing": _reverse_turing_plan,
    "negotiation": _negotiation_plan,
}


@dataclasses.dataclass
class ResumePlan:
    run_id: str
    todo: list[GameJob]
    finished: int
    abandoned: int
    planned: int


async def prepare_run(t: TournamentFile, store: Any, source: str) -> ResumePlan:
    """Records the run (once) and works out what is left to play."""
    run_id = t.run_id()
    games = plan(t)
    await store.ensure_run(run_id, meta={
        "kind": "tournament", "name": t.name, "game": t.game, "source": source, "planned": len(games),
        "agents": {a.id: a.spec().canonical() for a in t.agents},
        "tournament": t.model_dump(mode="json", exclude={"concurrency"}),
    })
    abandoned = await store.abandon_unfinished(run_id)
    sessions = await store.sessions(run_id)
    finished = {s.job_key for s in sessions if s.status == "finished"}
    attempts: dict[str | None, int] = {}
    for s in sessions:
        attempts[s.job_key] = attempts.get(s.job_key, 0) + 1
    todo = []
    for g in games:
        if g.key in finished:
            continue
        n = attempts.get(g.key, 0)
        session_id = f"{run_id}-{g.key}" + (f"-r{n + 1}" if n else "")
        todo.append(dataclasses.replace(g.job, session_id=session_id))
    return ResumePlan(run_id, todo, finished=len(finished), abandoned=abandoned, planned=len(games))
