"""The `reverse-turing` rule engine: pure and deterministic given (config, seed, replies)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from persona_arena.core.events import PUBLIC, EventDraft
from persona_arena.core.observations import Message, Observation, Reply, merge_turns
from persona_arena.core.specs import AgentSpec
from persona_arena.games.base import GameStart, GameState, game_over
from persona_arena.games.reverse_turing import prompts
from persona_arena.games.reverse_turing.censor import censor_for
from persona_arena.games.reverse_turing.config import NICKNAMES, IdentityKind, ReverseTuringConfig
from persona_arena.games.reverse_turing.parsing import (
    MAX_RATIONALE_CHARS, Ask, Unusable, Verdict, parse_ask, parse_verdict,
)

JUDGE = "judge"
EXCERPT_CHARS = 300
Phase = Literal["introduce", "ask", "answer", "verdict"]


@dataclass
class ReverseTuringState(GameState):
    config: ReverseTuringConfig = None  # type: ignore[assignment]
    nicknames: list[str] = field(default_factory=list)   # in display order
    players: dict[str, str] = field(default_factory=dict)  # nickname -> player id
    twin: str = ""                                         # the twin's nickname (god view only)
    kinds: dict[str, str] = field(default_factory=dict)    # nickname -> identity kind (god view only)
    round: int = 1
    phase: Phase = "ask"
    attempt: int = 1
    pending: list[str] = field(default_factory=list)       # nicknames still to answer
    turns: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    p_twin_by_round: list[float] = field(default_factory=list)
    outcome: dict[str, Any] | None = None


class ReverseTuring:
    name: ClassVar[str] = "reverse-turing"
    description: ClassVar[str] = "A judge chats with anonymous candidates and must find its twin."
    config_model: ClassVar[type[ReverseTuringConfig]] = ReverseTuringConfig

    # -- setup -----------------------------------------------------------------------------
    def setup(self, config: ReverseTuringConfig, seed: int) -> GameStart:
        rng = random.Random(seed)
        n = config.n_candidates
        foils = config.foil_specs()
        rng.shuffle(foils)
        # The twin's seat cycles with the seed, so over any n consecutive seeds every seat
        # holds the twin once; nicknames are drawn afresh, so neither predicts the twin.
        twin_seat = seed % n
        seats: list[tuple[AgentSpec, bool]] = [(spec, False) for spec in foils]
        seats.insert(twin_seat, (config.twin_spec, True))
        nicknames = rng.sample(NICKNAMES, n)

        state = ReverseTuringState(config=config, nicknames=nicknames)
        players: dict[str, AgentSpec] = {JUDGE: config.judge}
        roster = []
        for i, (nick, (spec, is_twin)) in enumerate(zip(nicknames, seats)):
            player = f"candidate-{i + 1}"
            state.players[nick] = player
            players[player] = spec
            if is_twin:
                state.twin = nick
            state.kinds[nick] = identity_kind(config, spec)
            roster.append({"player": player, "nickname": nick, "agent": spec.canonical(),
                           "is_twin": is_twin, "kind": state.kinds[nick]})
        events = state.emit(
            EventDraft(type="game.setup", visible_to=[], payload={
                "game": self.name, "seed": seed, "judge": config.judge.canonical(),
                "twin": state.twin, "candidates": roster,
                "config": config.model_dump(mode="json", exclude_none=True),
            }),
            EventDraft(type="game.started", visible_to=[JUDGE], payload={
                "nicknames": nicknames, "rounds": config.rounds,
            }),
        )
        if config.primed_judge is not None:
            # The history is the judge's own context: only the judge sees it.
            events += state.emit(EventDraft(type="judge.primed", visible_to=[JUDGE], payload={
                "messages": [m.model_dump() for m in config.primed_judge.messages]}))
        if config.informed_candidates:
            state.phase = "introduce"  # round 1 starts once the judge has introduced itself
        else:
            events += state.emit(self._round_started(state))
        return GameStart(state=state, events=events, players=players)

    @staticmethod
    def _round_started(state: ReverseTuringState) -> EventDraft:
        return EventDraft(type="round.started", visible_to=PUBLIC, payload={"round": state.round})

    # -- turns -----------------------------------------------------------------------------
    def next_turn(self, state: ReverseTuringState) -> Observation | None:
        if state.finished:
            return None
        if state.phase == "answer":
            return self._candidate_observation(state, state.players[state.pending[0]])
        return self._judge_observation(state)

    def apply(self, state: ReverseTuringState, player: str, reply: Reply) -> list[EventDraft]:
        expected = JUDGE if state.phase != "answer" else state.players[state.pending[0]]
        if player != expected:
            raise ValueError(f"it is {expected}'s turn, not {player}'s")
        state.turns[player] += 1
        if state.phase == "introduce":
            return self._apply_introduction(state, reply)
        if state.phase == "answer":
            return self._apply_answer(state, player, reply)
        if state.phase == "ask":
            return self._apply_judge(state, reply, self._parse_ask)
        return self._apply_judge(state, reply, self._parse_verdict)

    def outcome(self, state: ReverseTuringState) -> dict[str, Any] | None:
        return state.outcome

    # -- the judge -------------------------------------------------------------------------
    def _parse_ask(self, state: ReverseTuringState, raw: str) -> Ask:
        c = state.config
        return parse_ask(raw, state.nicknames, max_raw_chars=c.max_raw_chars,
                         max_message_chars=c.max_message_chars)

    def _parse_verdict(self, state: ReverseTuringState, raw: str) -> Verdict:
        return parse_verdict(raw, state.nicknames, must_guess=self._must_guess(state),
                             max_raw_chars=state.config.max_raw_chars)

    @staticmethod
    def _must_guess(state: ReverseTuringState) -> bool:
        return state.round >= state.config.rounds

    def _apply_judge(self, state: ReverseTuringState, reply: Reply, parse) -> list[EventDraft]:
        events: list[EventDraft] = []
        try:
            if reply.text is None:
                raise Unusable("agent_failure", reply.failure or "no reply")
            move = parse(state, reply.text)
        except Unusable as problem:
            events += self._violation(state, JUDGE, problem.kind, problem.detail, reply.text)
            if state.attempt < state.config.max_attempts:
                state.attempt += 1
                return events
            events += self._violation(state, JUDGE, "turn_forfeited",
                                      f"no usable {state.phase} after {state.attempt} attempts", None)
            move = None
        state.attempt = 1
        if move is not None:
            for flaw in move.flaws:
                events += self._violation(state, JUDGE, flaw.kind, flaw.detail, reply.text, used=True)
        if state.phase == "ask":
            return events + self._after_ask(state, move)
        return events + self._after_verdict(state, move)

    def _after_ask(self, state: ReverseTuringState, ask: Ask | None) -> list[EventDraft]:
        if ask is None:  # the question is forfeited; the judge still gives its verdict
            state.phase = "verdict"
            return []
        state.pending = list(ask.to)
        state.phase = "answer"
        # In a group chat every candidate hears every question; otherwise only its recipients.
        hearers = state.nicknames if state.config.group_chat else ask.to
        return state.emit(EventDraft(
            type="judge.message", actor=JUDGE,
            visible_to=[JUDGE, *(state.players[n] for n in hearers)],
            payload={"round": state.round, "message": ask.message, "to": ask.to},
        ))

    def _after_verdict(self, state: ReverseTuringState, verdict: Verdict | None) -> list[EventDraft]:
        must_guess = self._must_guess(state)
        defaulted = verdict is None
        if verdict is None:
            uniform = round(1 / len(state.nicknames), 6)
            verdict = Verdict({n: uniform for n in state.nicknames}, None, "")
        state.p_twin_by_round.append(verdict.probabilities[state.twin])
        events = state.emit(EventDraft(
            type="judge.verdict", actor=JUDGE, visible_to=[JUDGE],
            payload={"round": state.round, "rationale": verdict.rationale,
                     "probabilities": verdict.probabilities, "guess": verdict.guess,
                     "final": verdict.guess is not None or must_guess, "defaulted": defaulted},
        ))
        if verdict.guess is not None or must_guess:
            return events + self._finish(state, verdict)
        state.round += 1
        state.phase = "ask"
        return events + state.emit(self._round_started(state))

    def _finish(self, state: ReverseTuringState, verdict: Verdict) -> list[EventDraft]:
        guess = verdict.guess
        result = "no-guess" if guess is None else ("correct" if guess == state.twin else "wrong")
        state.finished = True
        state.outcome = {
            "result": result,
            "guess": guess,
            "guess_player": state.players[guess] if guess else None,
            "twin": state.twin,
            "twin_player": state.players[state.twin],
            "rounds_used": state.round,
            "p_twin": verdict.probabilities[state.twin],
            "p_twin_by_round": state.p_twin_by_round,
            "violations": dict(sorted(state.violations.items())),
            "guess_kind": state.kinds.get(guess) if guess else None,
        }
        return state.emit(*game_over(state.outcome, public_result(state.outcome)))

    def _apply_introduction(self, state: ReverseTuringState, reply: Reply) -> list[EventDraft]:
        """informed_candidates: the judge's free-text self-introduction, shown to every
        candidate. Like a candidate's answer it is not retried: problems are recorded."""
        events, text = self._free_text(state, JUDGE, reply)
        events += state.emit(EventDraft(
            type="judge.introduction", actor=JUDGE, visible_to=[JUDGE, *state.players.values()],
            payload={"text": text or prompts.NO_REPLY}))
        state.phase = "ask"
        return events + state.emit(self._round_started(state))

    # -- the candidates --------------------------------------------------------------------
    def _free_text(self, state: ReverseTuringState, player: str, reply: Reply) -> tuple[list[EventDraft], str]:
        """A stripped free-text reply cut to `max_reply_chars`, with its violations."""
        limit = state.config.max_reply_chars
        events: list[EventDraft] = []
        text = (reply.text or "").strip()
        if reply.text is None:
            events += self._violation(state, player, "agent_failure", reply.failure or "no reply", None)
        elif not text:
            events += self._violation(state, player, "empty_reply", "the reply is empty", reply.text, used=True)
        elif len(text) > limit:
            events += self._violation(state, player, "reply_too_long",
                                      f"reply has {len(text)} characters; cut to {limit}", reply.text, used=True)
            text = text[:limit]
        return events, text

    def _apply_answer(self, state: ReverseTuringState, player: str, reply: Reply) -> list[EventDraft]:
        nick = state.pending.pop(0)
        events, text = self._free_text(state, player, reply)
        censored = censor_for(state.config.all_censor_terms()).apply(text)
        if censored.masked:
            events += state.emit(EventDraft(type="censor.masked", visible_to=[], payload={
                "round": state.round, "player": player, "nickname": nick,
                "masked": censored.masked, "original": text,
            }))
        hearers = list(state.players.values()) if state.config.group_chat else [player]
        events += state.emit(EventDraft(
            type="candidate.reply", actor=player, visible_to=[JUDGE, *hearers],
            payload={"round": state.round, "nickname": nick, "text": censored.text or prompts.NO_REPLY},
        ))
        if not state.pending:
            state.phase = "verdict"
        return events

    def _violation(self, state: ReverseTuringState, player: str, kind: str, detail: str,
                   raw: str | None, *, used: bool = False) -> list[EventDraft]:
        """`used`: the reply was still used after a repair (so the player is not asked again)."""
        state.violations[player] += 1
        return state.emit(EventDraft(
            type="rule.violation", visible_to=[player],
            payload={"player": player, "round": state.round, "turn": state.phase,
                     "attempt": state.attempt if player == JUDGE else 1, "kind": kind,
                     "detail": detail, "used": used,
                     "excerpt": None if raw is None else raw[:EXCERPT_CHARS]},
        ))

    # -- observations: built only from events the player may see ---------------------------
    def _judge_observation(self, state: ReverseTuringState) -> Observation:
        c = state.config
        names = state.nicknames
        messages: list[Message] = []
        answers: list[str] = []
        verdict_asked: set[int] = set()

        def ask_verdict(round_no: int) -> None:
            if round_no in verdict_asked:
                return
            verdict_asked.add(round_no)
            heard = "\n".join(answers) if answers else "No answers this round."
            answers.clear()
            must = round_no >= c.rounds
            messages.append(Message(role="user", content=f"Answers:\n{heard}\n\n"
                                    + prompts.verdict_prompt(round_no, c.rounds, names, must)))

        for event in state.visible_events(JUDGE):
            p = event.payload
            if event.type == "judge.primed":
                messages += [Message(role=m["role"], content=m["content"]) for m in p["messages"]]
            elif event.type == "judge.introduction":
                messages.append(Message(role="user", content=prompts.INTRODUCE_PROMPT))
                messages.append(Message(role="assistant", content=p["text"]))
            elif event.type == "round.started":
                messages.append(Message(role="user", content=prompts.ask_prompt(p["round"], c.rounds, names)))
            elif event.type == "judge.message":
                messages.append(Message(role="assistant", content=json.dumps(
                    {"message": p["message"], "to": p["to"]})))
            elif event.type == "candidate.reply":
                answers.append(f"{p['nickname']}: {p['text']}")
            elif event.type == "judge.verdict":
                ask_verdict(p["round"])
                messages.append(Message(role="assistant", content=json.dumps(
                    {k: p[k] for k in ("rationale", "probabilities", "guess")})))
            elif event.type == "rule.violation" and p["excerpt"] is not None and not p["used"]:
                if p["turn"] == "verdict":
                    ask_verdict(p["round"])
                messages.append(Message(role="assistant", content=p["excerpt"] or "(empty)"))
                messages.append(Message(role="user", content=prompts.retry_prompt(p["detail"])))
        if state.phase == "verdict":
            ask_verdict(state.round)
        brief = prompts.judge_brief(names, c.rounds) + prompts.judge_variant_notes(
            group_chat=c.group_chat, informed=c.informed_candidates, adversarial=c.adversarial_hiding)
        if state.phase == "introduce":
            messages.append(Message(role="user", content=prompts.INTRODUCE_PROMPT))
            return Observation(
                game=self.name, player=JUDGE, role="judge", turn="introduce",
                turn_number=state.turns[JUDGE], instructions=brief, messages=merge_turns(messages),
                reply_schema=None, max_reply_chars=c.max_reply_chars,
            )

        must_guess = state.phase == "verdict" and self._must_guess(state)
        schema = ask_schema(names, c.max_message_chars) if state.phase == "ask" \
            else verdict_schema(names, must_guess)
        return Observation(
            game=self.name, player=JUDGE, role="judge", turn=state.phase,
            turn_number=state.turns[JUDGE], instructions=brief,
            messages=merge_turns(messages), reply_schema=schema, max_reply_chars=c.max_raw_chars,
        )

    def _candidate_observation(self, state: ReverseTuringState, player: str) -> Observation:
        nickname = next(n for n, p in state.players.items() if p == player)
        instructions, messages = candidate_view(state.config, nickname, player, state.visible_events(player))
        return Observation(
            game=self.name, player=player, role="candidate", turn="answer",
            turn_number=state.turns[player], instructions=instructions,
            messages=messages, reply_schema=None, max_reply_chars=state.config.max_reply_chars,
        )


def public_result(outcome: dict[str, Any]) -> dict[str, Any]:
    """What anyone may know once a game is over: whether the judge found its twin, and when.
    Labels and agents stay in the god view (the chats that would give them meaning are private)."""
    return {"result": outcome["result"], "rounds_used": outcome["rounds_used"]}


def candidate_view(config: ReverseTuringConfig, nickname: str, player: str,
                   visible: list[Any]) -> tuple[str, list[Message]]:
    """A candidate's brief and conversation, from the events it may see (drafts or recorded
    events). Shared with the likelihood oracle, which scores replies in the context they were
    given in. A candidate learns its own nickname only in a group chat, where others use it."""
    introduction = None
    messages: list[Message] = []
    for event in visible:
        p = event.payload
        if event.type == "judge.introduction":
            introduction = p["text"]
        elif event.type == "judge.message":
            text = p["message"]
            if config.group_chat:
                text = f"Interviewer (to {', '.join(p['to'])}): {text}"
            messages.append(Message(role="user", content=text))
        elif event.type == "candidate.reply":
            if event.actor == player:
                messages.append(Message(role="assistant", content=p["text"]))
            elif config.group_chat:
                messages.append(Message(role="user", content=f"{p['nickname']}: {p['text']}"))
    instructions = prompts.candidate_brief(
        nickname=nickname if config.group_chat else None,
        introduction=introduction if config.informed_candidates else None,
        adversarial=config.adversarial_hiding)
    return instructions, merge_turns(messages)


def identity_kind(config: ReverseTuringConfig, spec: AgentSpec) -> IdentityKind:
    """How a candidate's agent relates to the judge's: its exact spec; the agent whose history
    primes the judge (context twin); the same weights (model and endpoint) with other
    settings; other weights with the judge's persona (system prompt); or none of these."""
    judge = config.judge
    if spec == judge:
        return "exact"
    primed = config.primed_judge
    if primed is not None and primed.source is not None and spec == primed.source:
        return "context"
    if spec.model == judge.model and spec.api_base == judge.api_base:
        return "weights"
    if judge.system_prompt and spec.system_prompt == judge.system_prompt:
        return "persona"
    return "other"


def ask_schema(nicknames: list[str], max_message_chars: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "message": {"type": "string", "minLength": 1, "maxLength": max_message_chars},
            "to": {"type": "array", "items": {"enum": nicknames}, "minItems": 1,
                   "maxItems": len(nicknames)},
        },
        "required": ["message", "to"],
        "additionalProperties": False,
    }


def verdict_schema(nicknames: list[str], must_guess: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "rationale": {"type": "string", "maxLength": MAX_RATIONALE_CHARS},
            "probabilities": {
                "type": "object",
                "properties": {n: {"type": "number", "minimum": 0, "maximum": 1} for n in nicknames},
                "required": nicknames,
                "additionalProperties": False,
                "x-sum": 1,  # the values must sum to 1 (agents that sample from the schema honour it)
            },
            "guess": {"enum": nicknames} if must_guess else {"enum": [*nicknames, None]},
        },
        "required": ["rationale", "probabilities", "guess"],
        "additionalProperties": False,
    }
