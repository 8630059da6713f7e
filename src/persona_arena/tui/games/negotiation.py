"""The negotiation game in the TUI: messages and moves, scratchpads and briefs marked private,
and the standing proposal with every party's score (god view) or one's own score (a party's
view, computed from the score table in its brief, which is all that party knows)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from persona_arena.core.events import Event
from persona_arena.tui.games.generic import common_describe, fallback_describe, rounds_text
from persona_arena.tui.projection import Described, EntryKind, Known, PanelEvents


def _options_text(options: dict[str, Any], scenario: dict[str, Any]) -> str:
    titles = {i.get("id"): i for i in scenario.get("issues", [])}
    parts = []
    for issue_id, option_id in options.items():
        issue = titles.get(issue_id, {})
        label = next((o.get("label") for o in issue.get("options", []) if o.get("id") == option_id), option_id)
        parts.append(f"{issue.get('title', issue_id)}: {label}")
    return "; ".join(parts)


def own_score(brief: dict[str, Any], options: dict[str, Any]) -> int | None:
    table = brief.get("score_table") or {}
    try:
        return sum(int(table[issue][option]) for issue, option in options.items())
    except (KeyError, TypeError, ValueError):
        return None


def persona_rules(persona: dict[str, Any]) -> list[str]:
    """A persona's rules: one text in games played here, a list in older logs."""
    rules = persona.get("rules") or []
    return [rules] if isinstance(rules, str) else [str(r) for r in rules]


def goal_text(goal: Any) -> str:
    """A hidden goal: its text (`game.setup` records the whole goal, a brief only its text)."""
    return str(goal.get("text") or goal.get("kind")) if isinstance(goal, dict) else str(goal)


class NegotiationView:
    game = "negotiation"
    panel_types = frozenset({"game.setup", "game.started", "party.brief", "proposal.made", "proposal.scored",
                             "proposal.response", "deal.reached", "game.ended", "game.outcome"})

    def learn(self, event: Event, known: Known) -> None:
        p = event.payload
        if event.type in ("game.setup", "game.started"):
            for party in p.get("parties", []):
                known.names[party["player"]] = party.get("name", party["player"])
            if "scenario" in p:
                known.facts.setdefault("scenario", p["scenario"])
        elif event.type == "party.brief":
            known.names[p.get("player", event.actor)] = p.get("name", p.get("player"))
            if p.get("player") == known.perspective:
                known.facts["brief"] = p

    def describe(self, event: Event, known: Known) -> Described | None:
        p = event.payload
        scenario = known.facts.get("scenario", {})
        if event.type == "game.setup":
            lines = [f"scenario {p.get('scenario', {}).get('name')}, {p.get('condition')}"]
            for party in p.get("parties", []):
                goal = f"; hidden goal: {goal_text(party['hidden_goal'])}" if party.get("hidden_goal") else ""
                lines.append(f"{party.get('name')} = {party['player']} ({party.get('color')}): {party.get('agent')}; "
                             f"minimum {party.get('minimum')}{goal}")
            return Described(EntryKind.SECRET, "server", text="\n".join(lines), note=f"setup, seed {p.get('seed')}")
        if event.type == "party.brief":
            persona = p.get("persona") or {}
            lines = [f"persona: {persona.get('name')} ({persona.get('color')})"]
            lines += [f"rule: {r}" for r in persona_rules(persona)]
            if p.get("hidden_goal"):
                lines.append(f"hidden goal: {goal_text(p['hidden_goal'])}")
            lines.append(f"minimum: {p.get('minimum')}; monitored: {'yes' if p.get('monitored') else 'no'}")
            return Described(EntryKind.PRIVATE, known.label(str(p.get("player", event.actor))),
                             text="\n".join(lines), note="brief")
        if event.type == "game.started":
            sc = p.get("scenario", {})
            issues = "; ".join(f"{i.get('title')}: {' / '.join(o.get('label', '') for o in i.get('options', []))}"
                               for i in sc.get("issues", []))
            return Described(EntryKind.SYSTEM, "server", text=f"{sc.get('title')}\n{issues}",
                             note=f"game started, {p.get('rounds')} rounds")
        if event.type == "party.scratchpad":
            return Described(EntryKind.PRIVATE, known.label(event.actor), text=p.get("text", ""),
                             note="scratchpad", round=p.get("round"))
        if event.type == "party.message":
            return Described(EntryKind.UTTERANCE, known.label(event.actor), text=p.get("text", ""),
                             round=p.get("round"))
        if event.type == "proposal.made":
            return Described(EntryKind.VERDICT, known.label(str(p.get("by", event.actor))),
                             text=_options_text(p.get("options", {}), scenario),
                             note=f"proposal #{p.get('proposal')}", round=p.get("round"))
        if event.type == "proposal.scored":
            scores = p.get("scores", {})
            ok = p.get("acceptable", {})
            text = "; ".join(f"{known.label(party)} {score}{' ok' if ok.get(party) else ' below minimum'}"
                             for party, score in scores.items())
            return Described(EntryKind.SECRET, "server", text=text, note=f"scores of #{p.get('proposal')}")
        if event.type == "proposal.response":
            answer = "accepts" if p.get("accept") else "rejects"
            return Described(EntryKind.VERDICT, known.label(str(p.get("party", event.actor))),
                             note=f"{answer} #{p.get('proposal')}", round=p.get("round"))
        if event.type == "deal.reached":
            return Described(EntryKind.SYSTEM, "server", text=_options_text(p.get("options", {}), scenario),
                             note=f"deal reached on #{p.get('proposal')}", round=p.get("round"))
        if event.type == "debrief.answer":
            suspects = "; ".join(f"{known.label(str(s.get('party')))}: {s.get('goal')}" for s in p.get("suspects", []))
            return Described(EntryKind.PRIVATE, known.label(event.actor),
                             text=f"hidden agenda: {'yes' if p.get('hidden_agenda') else 'no'}; "
                                  f"suspects: {suspects or 'none'}", note="debrief")
        if event.type == "game.outcome":
            scores = "; ".join(f"{known.label(k)} {v}" for k, v in (p.get("scores") or {}).items())
            return Described(EntryKind.SECRET, "server",
                             text=f"deal: {'yes' if p.get('deal') else 'no'}; scores: {scores or 'none'}",
                             note="outcome")
        if event.type == "game.ended":
            text = _options_text(p.get("final_options") or {}, scenario) if p.get("deal") else "no deal"
            return Described(EntryKind.SYSTEM, "server", text=text,
                             note=f"game over after {rounds_text(p.get('rounds_played'))}")
        return common_describe(event, known) or fallback_describe(event, known)

    def panel(self, events: PanelEvents, known: Known) -> RenderableType:
        parts: list[RenderableType] = []
        scenario = known.facts.get("scenario", {})
        if scenario:
            parts.append(Text(f"{scenario.get('title', scenario.get('name', ''))}\n", style="bold"))
        deal = events.last("deal.reached")
        proposal = events.last("proposal.made")
        if proposal is not None:
            pid = proposal.payload.get("proposal")
            heading = f"Deal on #{pid}" if deal is not None and deal.payload.get("proposal") == pid \
                else f"Standing proposal #{pid}"
            box = Text(f"{heading} by {known.label(str(proposal.payload.get('by', proposal.actor)))}\n",
                       style="bold")
            options = proposal.payload.get("options", {})
            box.append(_options_text(options, scenario).replace("; ", "\n") + "\n")
            responses = [r.payload for r in events.all("proposal.response") if r.payload.get("proposal") == pid]
            for r in responses:
                yes = bool(r.get("accept"))
                box.append(f"{known.label(str(r.get('party')))} {'accepts' if yes else 'rejects'}\n",
                           style="green" if yes else "red")
            scored = next((s.payload for s in reversed(events.all("proposal.scored"))
                           if s.payload.get("proposal") == pid), None)
            if scored is not None:  # only the god view sees these
                box.append("scores\n", style="bold")
                for party, score in (scored.get("scores") or {}).items():
                    ok = (scored.get("acceptable") or {}).get(party)
                    box.append(f"{known.label(party)}: {score}", style="green" if ok else "red")
                    box.append(" ok\n" if ok else " below minimum\n")
            elif (brief := known.facts.get("brief")) is not None:
                score = own_score(brief, options)
                if score is not None:
                    ok = score >= int(brief.get("minimum") or 0)
                    box.append(f"your score: {score} (minimum {brief.get('minimum')})\n",
                               style="green" if ok else "red")
            parts.append(box)
        setup = events.last("game.setup")
        if setup is not None:
            roster = Text("Parties\n", style="bold")
            for party in setup.payload.get("parties", []):
                roster.append(f"{party.get('name')} ({party['player']}) {party.get('color')}\n",
                              style="red" if party.get("color") == "red" else "")
                if party.get("hidden_goal"):
                    roster.append(f"  hidden goal: {goal_text(party['hidden_goal'])}\n", style="magenta")
            parts.append(roster)
        ended = events.last("game.outcome") or events.last("game.ended")
        if ended is not None:
            parts.append(Text(f"deal: {'yes' if ended.payload.get('deal') else 'no'}\n", style="bold"))
        return Group(*parts)

    def players(self, setup: dict[str, Any]) -> list[str]:
        return [party["player"] for party in setup.get("parties", [])]
