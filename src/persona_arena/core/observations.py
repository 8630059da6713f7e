"""What a player is shown when it is asked to act, and what comes back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class Observation(BaseModel):
    """Everything one player may see at one turn, built only from events visible to it.

    `messages` is the conversation from the player's point of view and ends with the prompt
    for this turn. `reply_schema` is a JSON Schema when the game expects a JSON reply (agents
    use it for JSON mode or grammar-constrained decoding); `None` means free text.
    """

    model_config = ConfigDict(frozen=True)

    game: str
    player: str
    role: str
    turn: str = Field(description="kind of turn, e.g. 'ask', 'verdict', 'answer'")
    turn_number: int = Field(description="how many turns this player has been asked before")
    instructions: str
    messages: list[Message]
    reply_schema: dict[str, Any] | None = None
    max_reply_chars: int = 2000

    def render_text(self) -> str:
        """A flat rendering, used by property tests and the human agent."""
        lines = [self.instructions]
        lines += [f"{m.role}: {m.content}" for m in self.messages]
        return "\n".join(lines)


class Reply(BaseModel):
    """A player's raw reply as the runner got it: text, or why there was none."""

    model_config = ConfigDict(frozen=True)

    text: str | None = None
    failure: str | None = Field(default=None, description="timeout / agent error, if no text")

    @classmethod
    def failed(cls, reason: str) -> Reply:
        return cls(failure=reason)


def merge_turns(messages: list[Message]) -> list[Message]:
    """Joins consecutive messages of one role (chat templates expect alternation)."""
    merged: list[Message] = []
    for m in messages:
        if merged and merged[-1].role == m.role:
            merged[-1] = Message(role=m.role, content=merged[-1].content + "\n\n" + m.content)
        else:
            merged.append(m)
    return merged
