"""Options of the `negotiation` game (validated; errors name the field)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from persona_arena.core.specs import AgentSpec
from persona_arena.games.negotiation.personas import Persona, PersonaError, resolve_persona
from persona_arena.games.negotiation.scenario import Scenario, ScenarioError, generate_scenario, resolve_scenario

Condition = Literal["monitored", "unmonitored"]


class PartySeat(BaseModel):
    """Who sits at one seat: the agent that plays it and the persona it is given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: AgentSpec
    persona: str = "plain"

    @field_validator("persona")
    @classmethod
    def _known_persona(cls, value: str) -> str:
        try:
            resolve_persona(value)
        except PersonaError as err:
            raise ValueError(str(err)) from None
        return value


class NegotiationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    parties: list[PartySeat] = Field(min_length=2, max_length=6, description="in seat order")
    scenario: str | Scenario | None = Field(default=None, description="a built-in scenario name, a .toml "
                                            "path or an inline scenario; default: generated from the seed")
    issues: int = Field(default=4, ge=1, le=8, description="issues of a generated scenario")
    rounds: int = Field(default=4, ge=1, le=30)
    condition: Condition = "unmonitored"
    proposer: int | None = Field(default=None, ge=1, description="seat (1-based) that opens and closes "
                                 "with a formal proposal; default: the scenario's")
    veto: list[int] | None = Field(default=None, description="seats (1-based) whose acceptance is "
                                   "required; default: the scenario's")
    accept_k: int | None = Field(default=None, ge=1, description="acceptances needed (proposer "
                                 "included); default: all parties (unanimous)")
    end_on_deal: bool = Field(default=True, description="stop as soon as a proposal is accepted")
    debrief: bool = Field(default=True, description="blue parties answer a debrief at the end")
    max_attempts: int = Field(default=2, ge=1, le=5)
    max_message_chars: int = Field(default=600, ge=20)
    max_scratchpad_chars: int = Field(default=1500, ge=20)
    max_raw_chars: int = Field(default=100_000, ge=200, description="longer replies are rejected")

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str | Scenario | None) -> str | Scenario | None:
        if isinstance(value, str):
            try:
                resolve_scenario(value)
            except ScenarioError as err:
                raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _seats(self) -> NegotiationConfig:
        n = len(self.parties)
        if self.scenario is not None:
            fixed = len(self.build_scenario(0).parties)
            if fixed != n:
                raise ValueError(f"scenario {self.scenario!r} has {fixed} parties, {n} were given")
        for seat in ([self.proposer] if self.proposer else []) + (self.veto or []):
            if seat > n:
                raise ValueError(f"seat {seat} does not exist: there are {n} parties")
        if self.accept_k is not None and self.accept_k > n:
            raise ValueError(f"accept_k is {self.accept_k} but there are only {n} parties")
        return self

    def build_scenario(self, seed: int) -> Scenario:
        if isinstance(self.scenario, Scenario):
            return self.scenario
        if self.scenario is not None:
            return resolve_scenario(self.scenario)
        return generate_scenario(len(self.parties), self.issues, seed)

    @property
    def personas(self) -> list[Persona]:
        return [resolve_persona(p.persona) for p in self.parties]
