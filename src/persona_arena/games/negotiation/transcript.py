"""One party's view of a negotiation as a chat: the events it may see, folded into messages.

The fold keeps its place between the party's turns, so each turn only reads the events that
are new since the last one (rebuilding from the whole log every turn made a game's
observations quadratic in its length). Folding the same events from scratch gives the same
messages: replay and the live runner share this code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from persona_arena.core.events import EventDraft
from persona_arena.core.observations import Message
from persona_arena.games.negotiation.prompts import retry_prompt
from persona_arena.games.negotiation.scenario import Deal


def _option_words(public_scenario: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(issue id, title, option id -> label) per issue, in the scenario's order."""
    return [(issue["id"], issue["title"], {o["id"]: o["label"] for o in issue["options"]})
            for issue in public_scenario["issues"]]


def _deal_words(words: list[tuple[str, str, dict[str, str]]], options: Deal) -> str:
    """A deal in words, from the public scenario only."""
    return "; ".join(f"{title}: {labels[options[issue_id]]}" for issue_id, title, labels in words)


@dataclass
class _Chat:
    """Messages so far, plus the user text and the party's own reply not yet closed."""

    messages: list[Message] = field(default_factory=list)
    user: list[str] = field(default_factory=list)
    mine: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> _Chat:
        return _Chat(list(self.messages), list(self.user), dict(self.mine))

    def flush_user(self) -> None:
        if self.user:
            self.messages.append(Message(role="user", content="\n".join(self.user)))
            self.user.clear()

    def flush_mine(self) -> None:
        if self.mine:
            self.flush_user()
            self.messages.append(Message(role="assistant", content=json.dumps(self.mine)))
            self.mine.clear()


@dataclass
class PartyTranscript:
    player: str
    rounds: int
    seen: int = 0  # events of the log folded so far (visible to this party or not)
    started: dict[str, Any] | None = None  # the public game.started payload
    brief: dict[str, Any] | None = None    # this party's own party.brief payload
    names: dict[str, str] = field(default_factory=dict)
    words: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # for describing deals
    proposals: dict[int, dict[str, Any]] = field(default_factory=dict)
    accepted: dict[int, set[str]] = field(default_factory=dict)
    chat: _Chat = field(default_factory=_Chat)

    def catch_up(self, log: list[EventDraft]) -> None:
        for event in log[self.seen:]:
            if event.visible_for(self.player):
                self._fold(event)
        self.seen = len(log)

    def worth(self, options: Deal) -> int:
        table = self.brief["score_table"]  # type: ignore[index]
        return sum(table[i][o] for i, o in options.items())

    def describe(self, options: Deal) -> str:
        return _deal_words(self.words, options)

    def open_chat(self) -> _Chat:
        """The messages up to now with the party's own last reply closed: a copy that the
        caller may extend with this turn's prompt."""
        chat = self.chat.copy()
        chat.flush_mine()
        return chat

    def _fold(self, event: EventDraft) -> None:
        p, chat = event.payload, self.chat
        own = event.actor == self.player
        if not own or event.type == "rule.violation":
            chat.flush_mine()
        if event.type == "game.started":
            self.started = p
            self.names = {q["player"]: q["name"] for q in p["parties"]}
            self.words = _option_words(p["scenario"])
        elif event.type == "party.brief":
            self.brief = p
        elif event.type == "round.started":
            chat.user.append(f"— Round {p['round']} of {self.rounds} —")
        elif event.type == "party.scratchpad":
            chat.flush_user()
            chat.mine["scratchpad"] = p["text"]
        elif event.type == "party.message":
            if own:
                chat.flush_user()
                chat.mine["message"] = p["text"]
            else:
                chat.user.append(f"{self.names[event.actor]} says: {json.dumps(p['text'], ensure_ascii=False)}")
        elif event.type == "proposal.made":
            self.proposals[p["proposal"]] = p
            self.accepted[p["proposal"]] = {p["by"]}
            if own:
                chat.mine.update(action="propose", proposal=p["options"])
                chat.flush_mine()
                chat.user.append(f"Your proposal is #{p['proposal']} (worth {self.worth(p['options'])} points to you).")
            else:
                chat.user.append(f"{self.names[p['by']]} proposes #{p['proposal']}: {self.describe(p['options'])} "
                                 f"(worth {self.worth(p['options'])} points to you).")
        elif event.type == "proposal.response":
            (self.accepted[p["proposal"]].add if p["accept"] else self.accepted[p["proposal"]].discard)(p["party"])
            if own:
                chat.mine["action"] = "accept" if p["accept"] else "reject"
            else:
                chat.user.append(f"{self.names[p['party']]} {'accepts' if p['accept'] else 'rejects'} "
                                 f"proposal #{p['proposal']}.")
        elif event.type == "deal.reached":
            chat.user.append(f"Proposal #{p['proposal']} has been accepted: a deal is reached.")
        elif event.type == "rule.violation":
            if p["used"]:
                chat.user.append(f"(Note: {p['detail']}.)")
            elif p["excerpt"] is not None:
                chat.flush_user()
                chat.messages.append(Message(role="assistant", content=p["excerpt"] or "(empty)"))
                chat.user.append(retry_prompt(p["detail"]))
