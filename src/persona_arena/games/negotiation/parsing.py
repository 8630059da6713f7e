"""Turns a party's raw reply into a validated move, or a precise reason why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from persona_arena.games.negotiation.scenario import Deal, Scenario
from persona_arena.games.replies import Flaw, Unusable, load_json_object

Action = Literal["propose", "accept", "reject", "none"]
ACTIONS: tuple[Action, ...] = ("propose", "accept", "reject", "none")


@dataclass
class Move:
    scratchpad: str
    message: str
    action: Action
    proposal: Deal | None
    flaws: list[Flaw] = field(default_factory=list)


@dataclass
class Debrief:
    hidden_agenda: bool
    suspects: list[dict[str, str]]  # {"party": player id, "goal": goal kind}
    explanation: str
    flaws: list[Flaw] = field(default_factory=list)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _cut(text: str, limit: int, what: str, flaws: list[Flaw]) -> str:
    if len(text) > limit:
        flaws.append(Flaw(f"{what}_too_long", f"{what} has {len(text)} characters; cut to {limit}"))
        return text[:limit]
    return text


def parse_proposal(value: Any, scenario: Scenario) -> Deal:
    """One option per issue; options are matched by id or label, case-insensitively."""
    if not isinstance(value, dict):
        raise Unusable("bad_proposal", '"proposal" must be an object with one option per issue')
    issues = {i.id.lower(): i for i in scenario.issues} | {i.title.lower(): i for i in scenario.issues}
    deal: Deal = {}
    for key, option_value in value.items():
        issue = issues.get(str(key).strip().lower())
        if issue is None:
            raise Unusable("unknown_issue", f"unknown issue {str(key)[:40]!r}; issues are "
                                            f"{[i.id for i in scenario.issues]}")
        wanted = str(option_value).strip().lower() if isinstance(option_value, (str, int)) else None
        option = next((o for o in issue.options if wanted in (o.id.lower(), o.label.lower())), None)
        if option is None:
            raise Unusable("unknown_option", f"unknown option {str(option_value)[:40]!r} for {issue.id!r}; "
                                             f"options are {[o.id for o in issue.options]}")
        deal[issue.id] = option.id
    missing = [i.id for i in scenario.issues if i.id not in deal]
    if missing:
        raise Unusable("incomplete_proposal", f"the proposal has no option for {', '.join(missing)}")
    return {i.id: deal[i.id] for i in scenario.issues}


def parse_move(raw: str, scenario: Scenario, *, allowed: tuple[Action, ...], max_raw_chars: int,
               max_message_chars: int, max_scratchpad_chars: int) -> Move:
    data = load_json_object(raw, max_raw_chars)
    flaws: list[Flaw] = []
    message = _text(data, "message")
    if not message:
        raise Unusable("missing_message", '"message" (what you say to the other parties) must be a non-empty string')
    message = _cut(message, max_message_chars, "message", flaws)
    scratchpad = _cut(_text(data, "scratchpad"), max_scratchpad_chars, "scratchpad", flaws)

    action = str(data.get("action") or "none").strip().lower()
    if action not in ACTIONS:
        raise Unusable("bad_action", f'"action" must be one of {list(ACTIONS)}, not {action[:40]!r}')
    proposal = None
    if action == "propose":
        if data.get("proposal") is None:
            raise Unusable("missing_proposal", 'action "propose" needs a "proposal" object')
        proposal = parse_proposal(data["proposal"], scenario)
    if action not in allowed:
        if action in ("accept", "reject") and "none" in allowed:
            flaws.append(Flaw("nothing_to_answer", "there is no standing proposal of another party to "
                                                   "accept or reject; the message was kept, the action ignored"))
            action, proposal = "none", None
        elif allowed == ("propose",):
            raise Unusable("proposal_required", 'this turn you must make a formal proposal (action "propose")')
        else:
            raise Unusable("action_not_allowed", f"action {action!r} is not allowed now; allowed: {list(allowed)}")
    return Move(scratchpad, message, action, proposal, flaws)  # type: ignore[arg-type]


def parse_debrief(raw: str, *, others: dict[str, str], goals: tuple[str, ...], max_raw_chars: int) -> Debrief:
    """`others`: display name -> player id of the parties the debriefed party may name."""
    data = load_json_object(raw, max_raw_chars)
    flaws: list[Flaw] = []
    claimed = data.get("hidden_agenda")
    if not isinstance(claimed, bool):
        raise Unusable("bad_debrief", '"hidden_agenda" must be true or false')
    suspects = []
    raw_suspects = data.get("suspects") or []
    if not isinstance(raw_suspects, list):
        raise Unusable("bad_debrief", '"suspects" must be a list of {"party", "goal"} objects')
    by_name = {name.lower(): player for name, player in others.items()}
    for item in raw_suspects[:len(others)]:
        if not isinstance(item, dict):
            flaws.append(Flaw("bad_suspect", "a suspect that is not an object was ignored"))
            continue
        player = by_name.get(str(item.get("party", "")).strip().lower())
        goal = str(item.get("goal", "")).strip().lower()
        if player is None or goal not in goals:
            flaws.append(Flaw("bad_suspect", f"suspect {str(item)[:60]} names no known party and goal; ignored"))
            continue
        if all(s["party"] != player for s in suspects):
            suspects.append({"party": player, "goal": goal})
    explanation = _text(data, "explanation")[:500]
    return Debrief(claimed, suspects, explanation, flaws)
