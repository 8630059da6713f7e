"""Imports reverse-Turing games recorded by github.com/nielsrolf/reverse-turing-test ("rtt-json":
one JSON object per game, `metadata` + `trajectory`) into ordinary runs: the same events,
outcome and god-view identities a game played here records, so imported runs replay in the
TUI, score with the scorer and report with the same analysis.

How a trajectory maps onto rounds: the anchor's entry k carries the judge's beliefs *before*
it sends message k (its `reasoning` and `probabilities`), then the message and the answers.
So round r here is entry r's message and answers, and round r's verdict is entry r+1's
probabilities and reasoning (with its `guess` when entry r+1 is the guess). Entry 1's
beliefs, held before any answer, are kept in the god-view `import.source` event. A trajectory
that ends without a guess ends with a defaulted uniform verdict: `no-guess`.

A file is validated completely before anything is written, and each file is written in one
database transaction: an invalid file is reported by name and skipped, never half-imported.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from persona_arena.core.events import PUBLIC, Event, EventDraft
from persona_arena.core.specs import AgentSpec
from persona_arena.core.validation import field_errors
from persona_arena.games.base import game_over
from persona_arena.games.reverse_turing.game import public_result
from persona_arena.games.reverse_turing.parsing import probabilities_for

FORMAT = "rtt-json"
JUDGE = "judge"


class RttFileError(ValueError):
    """A game file that cannot be imported; the message names the field."""


class ImportTargetError(ValueError):
    """A run that imported games must not be mixed into."""


class _Lenient(BaseModel):
    # The anchor adds fields over time; what is not used here is kept in `import.source`.
    model_config = ConfigDict(extra="ignore", frozen=True)


class RttCandidate(_Lenient):
    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    player_id: str | None = None
    system_prompt: str | None = None


class RttMetadata(_Lenient):
    judge_model: str = Field(min_length=1)
    judge_system_prompt: str | None = None
    target_model: str = Field(min_length=1)
    target_nickname: str = Field(min_length=1)
    target_player_id: str | None = None
    candidates: list[RttCandidate] = Field(min_length=2)
    start_time: datetime | None = None
    end_time: datetime | None = None
    num_rounds: int = Field(ge=1)
    group_chat_mode: bool = False
    judge_init_history_source: str | None = None


class RttResponse(_Lenient):
    candidate: str
    response: str | None = None


class RttStep(_Lenient):
    reasoning: str | None = None
    probabilities: dict[str, Any] | None = None
    responses: list[RttResponse] = Field(default_factory=list)
    action: Literal["send_message", "guess"]
    message: str | None = None
    recipients: list[str] | None = None
    guess: str | None = None
    correct: bool | None = None


class RttGame(_Lenient):
    metadata: RttMetadata
    trajectory: list[RttStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RttGame:
        m = self.metadata
        names = [c.name for c in m.candidates]
        if len({n.lower() for n in names}) != len(names):
            raise ValueError(f"metadata.candidates: nicknames must be unique, got {names}")
        target = _find(m.target_nickname, names)
        if target is None:
            raise ValueError(f"metadata.target_nickname: {m.target_nickname!r} is not a candidate {names}")
        target_model = next(c.model for c in m.candidates if c.name == target)
        if target_model != m.target_model:
            raise ValueError(f"metadata.target_model: {m.target_model!r}, but candidate {target} is {target_model!r}")
        last = len(self.trajectory) - 1
        for i, step in enumerate(self.trajectory):
            where = f"trajectory.{i}"
            if step.action == "guess":
                if i != last:
                    raise ValueError(f"{where}.action: a guess must be the last step")
                if step.guess is None or _find(step.guess, names) is None:
                    raise ValueError(f"{where}.guess: {step.guess!r} is not a candidate {names}")
                if step.correct is None:
                    raise ValueError(f"{where}.correct: missing")
                if step.correct != (_find(step.guess, names) == target):
                    raise ValueError(f"{where}.correct: says {step.correct}, but the guess {step.guess} "
                                     f"{'is' if not step.correct else 'is not'} the target {target}")
                continue
            if not (step.message or "").strip():
                raise ValueError(f"{where}.message: a send_message step needs a message")
            for j, name in enumerate(step.recipients or []):
                if _find(name, names) is None:
                    raise ValueError(f"{where}.recipients.{j}: {name!r} is not a candidate {names}")
            for j, response in enumerate(step.responses):
                if _find(response.candidate, names) is None:
                    raise ValueError(f"{where}.responses.{j}.candidate: {response.candidate!r} is not a candidate")
        return self


def _find(name: str, names: Sequence[str]) -> str | None:
    wanted = name.strip().lower()
    return next((n for n in names if n.lower() == wanted), None)


def read_game_file(path: Path) -> tuple[RttGame, dict[str, Any], str]:
    """The validated game, its raw JSON and the file's sha256; RttFileError otherwise."""
    try:
        raw_bytes = path.read_bytes()
    except OSError as err:
        raise RttFileError(err.strerror or str(err)) from None
    try:
        data = json.loads(raw_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RttFileError(f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise RttFileError("a game file must hold one JSON object")
    try:
        game = RttGame.model_validate(data)
    except ValidationError as err:
        raise RttFileError(field_errors(err, "file")) from None
    return game, data, hashlib.sha256(raw_bytes).hexdigest()


def agent_spec(model: str, system_prompt: str | None, where: str) -> AgentSpec:
    try:
        return AgentSpec(model=model, system_prompt=system_prompt or None)
    except ValidationError as err:
        raise RttFileError(f"{where}: {field_errors(err, 'spec')}") from None


def agent_id(spec: AgentSpec) -> str:
    """Reports name agents by id: the model, plus a short digest of the persona if it has one
    (the same model with other system prompts is another agent)."""
    if not spec.system_prompt:
        return spec.model
    return f"{spec.model}+{hashlib.sha256(spec.system_prompt.encode()).hexdigest()[:6]}"


def identity_kind(judge: AgentSpec, spec: AgentSpec, context_model: str | None) -> str:
    if spec == judge:
        return "exact"
    if context_model is not None and spec.model == context_model:
        return "context"
    if spec.model == judge.model:
        return "weights"
    if judge.system_prompt and spec.system_prompt == judge.system_prompt:
        return "persona"
    return "other"


@dataclass
class ConvertedGame:
    players: dict[str, str]              # player id -> canonical spec
    config: dict[str, Any]
    drafts: list[EventDraft]
    outcome: dict[str, Any]
    agents: dict[str, str]               # agent id -> canonical spec
    start: datetime
    end: datetime


def convert(game: RttGame, raw: dict[str, Any], *, file_name: str, sha256: str) -> ConvertedGame:
    m = game.metadata
    names = [c.name for c in m.candidates]
    judge = agent_spec(m.judge_model, m.judge_system_prompt, "metadata.judge_model")
    specs = [agent_spec(c.model, c.system_prompt, f"metadata.candidates.{i}.model")
             for i, c in enumerate(m.candidates)]
    target = _find(m.target_nickname, names)
    players = {name: f"candidate-{i + 1}" for i, name in enumerate(names)}
    kinds = {name: identity_kind(judge, spec, m.judge_init_history_source) for name, spec in zip(names, specs)}
    everyone = list(players.values())
    config = {"imported": FORMAT, "file": file_name, "judge": judge.canonical(), "candidates": len(names),
              "rounds": m.num_rounds, "group_chat": m.group_chat_mode}
    roster = [{"player": players[n], "nickname": n, "agent": s.canonical(), "is_twin": n == target,
               "kind": kinds[n]} for n, s in zip(names, specs)]
    first = game.trajectory[0]
    drafts: list[EventDraft] = [
        EventDraft(type="game.setup", visible_to=[], payload={
            "game": "reverse-turing", "seed": 0, "judge": judge.canonical(), "twin": target,
            "candidates": roster, "config": config}),
        EventDraft(type="import.source", visible_to=[], payload={
            "format": FORMAT, "file": file_name, "sha256": sha256,
            "metadata": raw.get("metadata"),
            "opening": {"reasoning": first.reasoning, "probabilities": first.probabilities}}),
        EventDraft(type="game.started", visible_to=[JUDGE], payload={"nicknames": names, "rounds": m.num_rounds}),
    ]
    violations: dict[str, int] = {}
    p_twin_by_round: list[float] = []
    messages = [s for s in game.trajectory if s.action == "send_message"]
    guess_step = game.trajectory[-1] if game.trajectory[-1].action == "guess" else None
    rounds = max(1, len(messages))
    verdict: dict[str, Any] = {}
    for r in range(1, rounds + 1):
        drafts.append(EventDraft(type="round.started", visible_to=PUBLIC, payload={"round": r}))
        if r <= len(messages):
            step = messages[r - 1]
            to = [n for n in names if n.lower() in {x.lower() for x in (step.recipients or names)}]
            hearers = everyone if m.group_chat_mode else [players[n] for n in to]
            drafts.append(EventDraft(type="judge.message", actor=JUDGE, visible_to=[JUDGE, *hearers],
                                     payload={"round": r, "message": step.message, "to": to}))
            for response in step.responses:
                nick = _find(response.candidate, names)
                assert nick is not None  # validated
                player = players[nick]
                drafts.append(EventDraft(
                    type="candidate.reply", actor=player,
                    visible_to=[JUDGE, *(everyone if m.group_chat_mode else [player])],
                    payload={"round": r, "nickname": nick, "text": (response.response or "").strip() or "(no reply)"}))
        # The beliefs after round r are those the next step starts from (only the last step
        # may be a guess, so message r is step r − 1). Without any message, the guess is round 1's.
        index = r if messages else 0
        after = game.trajectory[index] if index < len(game.trajectory) else None
        final = r == rounds
        if after is None:
            uniform = round(1 / len(names), 6)
            verdict = {"round": r, "rationale": "", "probabilities": {n: uniform for n in names},
                       "guess": None, "final": True, "defaulted": True}
        else:
            probabilities, flaws = probabilities_for(after.probabilities, names)
            for flaw in flaws:
                violations[JUDGE] = violations.get(JUDGE, 0) + 1
                drafts.append(EventDraft(type="rule.violation", visible_to=[JUDGE], payload={
                    "player": JUDGE, "round": r, "turn": "verdict", "attempt": 1, "kind": flaw.kind,
                    "detail": flaw.detail, "used": True, "excerpt": None}))
            guess = _find(after.guess, names) if after.action == "guess" and after.guess else None
            verdict = {"round": r, "rationale": after.reasoning or "",
                       "probabilities": {n: round(p, 6) for n, p in probabilities.items()},
                       "guess": guess, "final": final or guess is not None, "defaulted": False}
        p_twin_by_round.append(verdict["probabilities"][target])
        drafts.append(EventDraft(type="judge.verdict", actor=JUDGE, visible_to=[JUDGE], payload=verdict))
    guess = verdict["guess"]
    assert guess is None or guess_step is not None
    result = "no-guess" if guess is None else ("correct" if guess == target else "wrong")
    outcome = {
        "result": result, "guess": guess, "guess_player": players[guess] if guess else None,
        "twin": target, "twin_player": players[target], "rounds_used": rounds,
        "p_twin": verdict["probabilities"][target], "p_twin_by_round": p_twin_by_round,
        "violations": dict(sorted(violations.items())), "guess_kind": kinds[guess] if guess else None,
    }
    drafts += game_over(outcome, public_result(outcome))
    start = _utc(m.start_time) or datetime.now(timezone.utc)
    end = max(_utc(m.end_time) or start, start)
    all_specs = [judge, *specs]
    return ConvertedGame(
        players={JUDGE: judge.canonical(), **{players[n]: s.canonical() for n, s in zip(names, specs)}},
        config=config, drafts=drafts, outcome=outcome,
        agents={agent_id(s): s.canonical() for s in all_specs}, start=start, end=end)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def stamp(game: ConvertedGame, run_id: str, session_id: str) -> list[Event]:
    """Timestamps spread evenly from the game's start to its end (the files keep no others)."""
    n = len(game.drafts)
    step = (game.end - game.start) / (n - 1) if n > 1 else timedelta(0)
    return [Event.stamp(d, run_id=run_id, session_id=session_id, seq=i, ts=game.start + step * i)
            for i, d in enumerate(game.drafts)]


def session_id_for(run_id: str, relative: Path) -> str:
    """`<run>-<file path without .json>`, other characters than [A-Za-z0-9_.-] as '-'."""
    stem = str(relative.with_suffix(""))
    return f"{run_id}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', stem).strip('-') or 'game'}"


@dataclass
class ImportResult:
    imported: list[tuple[str, str]] = field(default_factory=list)   # (file name, session id)
    already: list[tuple[str, str]] = field(default_factory=list)    # imported before into this run
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (file name, why)


async def import_directory(store: Any, directory: Path, run_id: str) -> ImportResult:
    """Imports every `*.json` file under `directory` (recursively, in path order) into `run_id`.
    Re-importing a file into the same run is a no-op (its session id is derived from its name)."""
    from persona_arena.server.store import SessionRow

    run = await store.run(run_id)
    if run is not None and (run.meta or {}).get("kind") != "import":
        # a tournament's report and resume count its planned games; an `arena play` run is its own
        raise ImportTargetError(f"run {run_id!r} was not made by an import (a tournament or `arena play` "
                                "run): import into a run of its own")
    result = ImportResult()
    existing = {s.id for s in await store.sessions(run_id)}
    for path in sorted(directory.rglob("*.json")):
        name = str(path.relative_to(directory))
        session_id = session_id_for(run_id, path.relative_to(directory))
        if session_id in existing:
            result.already.append((name, session_id))
            continue
        try:
            game, raw, sha256 = read_game_file(path)
            converted = convert(game, raw, file_name=name, sha256=sha256)
        except RttFileError as err:
            result.skipped.append((name, str(err)))
            continue
        events = stamp(converted, run_id, session_id)
        row = SessionRow(id=session_id, run_id=run_id, job_key=None, game="reverse-turing", seed=0,
                         status="finished", config=converted.config, players=converted.players,
                         outcome=converted.outcome, started_at=converted.start, finished_at=converted.end)
        meta = {"kind": "import", "format": FORMAT, "game": "reverse-turing", "source": str(directory),
                "agents": converted.agents}
        await store.write_session(row, events, meta)
        existing.add(session_id)
        result.imported.append((name, session_id))
    return result
