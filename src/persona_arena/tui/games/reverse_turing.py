"""The reverse Turing test in the TUI: who said what to whom, the judge's probabilities per
round as bars, and the twin, revealed only in the god view."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from persona_arena.core.events import Event
from persona_arena.scoring.summary import agent_label
from persona_arena.tui.games.generic import bar, common_describe, fallback_describe, rounds_text
from persona_arena.tui.projection import GOD, Described, EntryKind, Known, PanelEvents

JUDGE = "judge"


class ReverseTuringView:
    game = "reverse-turing"
    panel_types = frozenset({"game.setup", "game.started", "judge.verdict", "game.ended", "game.outcome"})

    def learn(self, event: Event, known: Known) -> None:
        p = event.payload
        if event.type == "game.setup":
            for c in p.get("candidates", []):
                known.names[c["player"]] = c["nickname"]
            known.facts["twin"] = p.get("twin")
        elif event.type == "candidate.reply" and known.perspective in (JUDGE, GOD):
            # The judge knows candidates by nickname only; a candidate never learns its own.
            known.names[event.actor] = p.get("nickname", event.actor)

    def describe(self, event: Event, known: Known) -> Described | None:
        p = event.payload
        if event.type == "game.setup":
            lines = [f"judge: {p.get('judge')}"]
            for c in p.get("candidates", []):
                twin = "  ← TWIN" if c.get("is_twin") else ""
                lines.append(f"{c['nickname']} = {c['player']}: {c['agent']}{twin}")
            return Described(EntryKind.SECRET, "server", text="\n".join(lines), note=f"setup, seed {p.get('seed')}")
        if event.type == "game.started":
            return Described(EntryKind.SYSTEM, "server",
                             text=f"candidates: {', '.join(p.get('nicknames', []))}; "
                                  f"at most {p.get('rounds')} rounds", note="game started")
        if event.type == "judge.message":
            to = p.get("to") or []
            # A candidate is "you" when only the addressed hear the message; in a group chat
            # every candidate hears every message, addressed by nickname, as the game shows it.
            hearers = [v for v in (event.visible_to if isinstance(event.visible_to, list) else []) if v != JUDGE]
            group = len(hearers) > len(to)
            addressees = ", ".join(to) if known.perspective in (JUDGE, GOD) or group else "you"
            return Described(EntryKind.UTTERANCE, known.label(JUDGE), text=p.get("message", ""),
                             note=f"→ {addressees}", round=p.get("round"))
        if event.type == "judge.introduction":  # informed_candidates: every candidate reads it
            return Described(EntryKind.UTTERANCE, known.label(JUDGE), text=p.get("text", ""), note="introduction")
        if event.type == "judge.primed":  # primed_judge: the history put in the judge's context
            history = "\n".join(f"{m.get('role')}: {m.get('content')}" for m in p.get("messages", []))
            return Described(EntryKind.PRIVATE, known.label(JUDGE), text=history,
                             note=f"primed with {len(p.get('messages', []))} messages")
        if event.type == "candidate.reply":
            return Described(EntryKind.UTTERANCE, known.label(event.actor), text=p.get("text", ""),
                             round=p.get("round"))
        if event.type == "judge.verdict":
            probs = p.get("probabilities") or {}
            shares = "  ".join(f"{name} {value:.2f}" for name, value in probs.items())
            guess = p.get("guess") or "none"
            final = ", final" if p.get("final") else ""
            defaulted = ", defaulted" if p.get("defaulted") else ""
            return Described(EntryKind.VERDICT, known.label(JUDGE), text=p.get("rationale", ""),
                             note=f"verdict{final}{defaulted}: guess {guess}; {shares}", round=p.get("round"))
        if event.type == "censor.masked":
            return Described(EntryKind.SECRET, known.label(str(p.get("player"))),
                             text=p.get("original", ""), note=f"censor masked {', '.join(p.get('masked', []))}",
                             round=p.get("round"))
        if event.type == "game.outcome":
            guess = p.get("guess") or "no guess"
            return Described(EntryKind.SECRET, "server",
                             text=f"{p.get('result')}: guessed {guess}; the twin was {p.get('twin')} "
                                  f"({p.get('twin_player')}); {rounds_text(p.get('rounds_used'))}",
                             note="outcome")
        if event.type == "game.ended":
            return Described(EntryKind.SYSTEM, "server", text=f"{p.get('result')} after {rounds_text(p.get('rounds_used'))}",
                             note="game over")
        return common_describe(event, known) or fallback_describe(event, known)

    def panel(self, events: PanelEvents, known: Known) -> RenderableType:
        parts: list[RenderableType] = []
        setup = events.last("game.setup")
        started = events.last("game.started")
        twin = known.facts.get("twin") if known.god else None
        title = Text("Candidates\n", style="bold")
        if setup is not None:
            body = Text()
            for c in setup.payload.get("candidates", []):
                body.append(f"{c['nickname']:<6} {c['player']:<12}")
                body.append(" TWIN" if c.get("is_twin") else "     ", style="bold magenta")
                body.append(f" {agent_label(c['agent'])}\n", style="dim")
            parts += [title, body]
        elif started is not None:
            parts += [title, Text(", ".join(started.payload.get("nicknames", [])) + "\n")]
        elif known.perspective != JUDGE:
            parts.append(Text(f"You are {known.perspective}: the judge's names for the candidates and "
                              "its verdicts are hidden from you.\n", style="italic"))
        verdicts = events.all("judge.verdict")
        if verdicts:
            last = verdicts[-1].payload
            parts.append(Text(f"Judge's probabilities, round {last.get('round')}\n", style="bold"))
            chart = Text()
            for name, value in (last.get("probabilities") or {}).items():
                style = "bold magenta" if name == twin else "cyan"
                chart.append(f"{name:<6} ")
                chart.append(bar(value), style=style)
                chart.append(f" {value:.2f}\n")
            guess = last.get("guess")
            if guess:
                chart.append(f"guess: {guess}")
                if twin is not None:
                    chart.append("  ✓ twin" if guess == twin else "  ✗ not the twin",
                                 style="green" if guess == twin else "red")
                chart.append("\n")
            parts.append(chart)
            if twin is not None:
                history = [v.payload.get("probabilities", {}).get(twin, 0.0) for v in verdicts]
                parts.append(Text("p(twin) by round: " + " ".join(f"{x:.2f}" for x in history) + "\n",
                                  style="magenta"))
        # The public end says as much as this line needs (a spectator of the public stream has no outcome).
        ended = events.last("game.outcome") or events.last("game.ended")
        if ended is not None:
            parts.append(Text(f"result: {ended.payload.get('result')}\n", style="bold"))
        return Group(*parts)

    def players(self, setup: dict[str, Any]) -> list[str]:
        return [JUDGE, *(c["player"] for c in setup.get("candidates", []))]
