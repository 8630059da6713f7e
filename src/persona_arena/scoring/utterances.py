"""What the scorer reads from a transcript: each utterance, its speaker's agent and role.

Utterances are the free text players wrote (never server text, never a placeholder such as
"(no reply)"). The families scored depend on the event type: tactics only in public
negotiation messages (see taxonomy.FAMILIES_BY_KIND).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from persona_arena.core.events import Event
from persona_arena.scoring.taxonomy import families_for

# event type -> payload field holding the speaker's words
TEXT_FIELDS: dict[str, str] = {
    "judge.introduction": "text",
    "judge.message": "message",
    "candidate.reply": "text",
    "judge.verdict": "rationale",
    "party.message": "text",
    "party.scratchpad": "text",
}
PLACEHOLDERS = frozenset({"(no reply)"})


@dataclass(frozen=True)
class Utterance:
    session_id: str
    seq: int
    event_type: str
    speaker: str  # player id
    agent: str  # the speaker's canonical agent spec ("" if unknown)
    role: str
    text: str

    @property
    def families(self) -> frozenset[str]:
        return families_for(self.event_type)


def roles_of(events: Iterable[Event]) -> dict[str, str]:
    """player -> role, from the god-view `game.setup` (twin/foil, red/blue party, judge)."""
    roles: dict[str, str] = {}
    for e in events:
        if e.type != "game.setup":
            continue
        p = e.payload
        if "candidates" in p:  # reverse turing
            roles["judge"] = "judge"
            for c in p.get("candidates") or []:
                roles[c["player"]] = "twin" if c.get("is_twin") else "foil"
        for party in p.get("parties") or []:  # negotiation
            color = party.get("color")
            roles[party["player"]] = f"{color} party" if color else "party"
        break
    return roles


def agents_of(events: Iterable[Event]) -> dict[str, str]:
    """player -> canonical agent spec, from `game.setup` (used when the session row is missing)."""
    agents: dict[str, str] = {}
    for e in events:
        if e.type != "game.setup":
            continue
        p = e.payload
        if p.get("judge"):
            agents["judge"] = p["judge"]
        for entry in [*(p.get("candidates") or []), *(p.get("parties") or [])]:
            if entry.get("player") and entry.get("agent"):
                agents[entry["player"]] = entry["agent"]
        break
    return agents


def utterances_of(events: list[Event], players: dict[str, str] | None = None) -> list[Utterance]:
    roles = roles_of(events)
    agents = {**agents_of(events), **(players or {})}
    out = []
    for e in events:
        field = TEXT_FIELDS.get(e.type)
        if field is None:
            continue
        text = e.payload.get(field)
        if not isinstance(text, str) or not text.strip() or text.strip() in PLACEHOLDERS:
            continue
        speaker = e.actor
        out.append(Utterance(session_id=e.session_id, seq=e.seq, event_type=e.type, speaker=speaker,
                             agent=agents.get(speaker, ""),
                             role=roles.get(speaker, speaker.rsplit("-", 1)[0]), text=text))
    return out
