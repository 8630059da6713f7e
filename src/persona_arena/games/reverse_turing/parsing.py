"""Turns a judge's raw reply into a validated move, or a precise reason why not."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from persona_arena.games.replies import Flaw, Unusable, load_json_object

SUM_TOLERANCE = 0.02
MAX_RATIONALE_CHARS = 300


@dataclass
class Ask:
    message: str
    to: list[str]
    flaws: list[Flaw] = field(default_factory=list)


@dataclass
class Verdict:
    probabilities: dict[str, float]
    guess: str | None
    rationale: str
    flaws: list[Flaw] = field(default_factory=list)


def _match_name(value: Any, nicknames: list[str]) -> str | None:
    if not isinstance(value, str):
        return None
    wanted = value.strip().lower()
    return next((n for n in nicknames if n.lower() == wanted), None)


def parse_ask(raw: str, nicknames: list[str], *, max_raw_chars: int, max_message_chars: int) -> Ask:
    data = load_json_object(raw, max_raw_chars)
    message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        raise Unusable("missing_message", '"message" must be a non-empty string')
    flaws: list[Flaw] = []
    message = message.strip()
    if len(message) > max_message_chars:
        flaws.append(Flaw("message_too_long", f"message cut to {max_message_chars} characters"))
        message = message[:max_message_chars]

    to = data.get("to", "all")
    if isinstance(to, str):
        to = nicknames if to.strip().lower() in ("all", "everyone") else [to]
    if not isinstance(to, list) or not to:
        raise Unusable("bad_recipients", f'"to" must be a non-empty list of names from {nicknames}')
    recipients: list[str] = []
    for name in to:
        matched = _match_name(name, nicknames)
        if matched is None:
            raise Unusable("unknown_nickname", f"unknown recipient {str(name)[:40]!r}; names are {nicknames}")
        if matched not in recipients:
            recipients.append(matched)
    return Ask(message, [n for n in nicknames if n in recipients], flaws)


def probabilities_for(value: Any, nicknames: list[str]) -> tuple[dict[str, float], list[Flaw]]:
    """One finite, non-negative number per nickname, renormalised; otherwise uniform. Shared
    with the rtt-json importer, which applies the game's rules to imported verdicts."""
    uniform = {n: 1 / len(nicknames) for n in nicknames}

    def invalid(detail: str) -> tuple[dict[str, float], list[Flaw]]:
        return uniform, [Flaw("invalid_probabilities", detail + "; using uniform probabilities")]

    if not isinstance(value, dict):
        return invalid('"probabilities" must be an object with one number per candidate')
    probs: dict[str, float] = {}
    for key, p in value.items():
        name = _match_name(key, nicknames)
        if name is None:
            return invalid(f"unknown candidate {str(key)[:40]!r}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not math.isfinite(p):
            return invalid(f"probability of {name} is not a number")
        if p < 0:
            return invalid(f"probability of {name} is negative")
        probs[name] = float(p)
    missing = [n for n in nicknames if n not in probs]
    if missing:
        return invalid(f"no probability for {', '.join(missing)}")
    total = sum(probs.values())
    if total <= 0:
        return invalid("probabilities sum to 0")
    flaws = []
    if abs(total - 1) > SUM_TOLERANCE:
        flaws.append(Flaw("probabilities_not_normalised", f"probabilities sum to {total:.4g}; renormalised"))
    return {n: probs[n] / total for n in nicknames}, flaws


def parse_verdict(raw: str, nicknames: list[str], *, must_guess: bool, max_raw_chars: int,
                  max_rationale_chars: int = MAX_RATIONALE_CHARS) -> Verdict:
    data = load_json_object(raw, max_raw_chars)
    guess_value = data.get("guess")
    guess = None
    if guess_value not in (None, "", "null", "none"):
        guess = _match_name(guess_value, nicknames)
        if guess is None:
            raise Unusable("unknown_nickname", f"unknown guess {str(guess_value)[:40]!r}; names are {nicknames}")
    if must_guess and guess is None:
        raise Unusable("missing_guess", f'after the last round "guess" must be one of {nicknames}')
    probabilities, flaws = probabilities_for(data.get("probabilities"), nicknames)
    rationale = data.get("rationale", "")
    rationale = rationale.strip()[:max_rationale_chars] if isinstance(rationale, str) else ""
    return Verdict({n: round(p, 6) for n, p in probabilities.items()}, guess, rationale, flaws)
