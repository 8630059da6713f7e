"""Options of the `reverse-turing` game (validated; errors name the field)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_validator, \
    model_serializer, model_validator

from persona_arena.core.specs import AgentSpec, SpecError

# Masked in candidate replies so that a name cannot give a model away.
DEFAULT_CENSOR_TERMS = (
    "qwen", "tongyi", "alibaba", "gemma", "gemini", "bard", "google", "deepmind",
    "gpt", "chatgpt", "openai", "claude", "anthropic", "llama", "meta", "mistral",
    "mixtral", "deepseek", "phi", "microsoft", "grok", "xai", "cohere", "command-r",
    "falcon", "vicuna", "eliza",
)

NICKNAMES = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi")

# How a candidate relates to the judge (recorded per candidate in `game.setup`, and for the
# picked one in the outcome): the identity-boundary question is which of these a judge calls
# "itself".
IdentityKind = Literal["exact", "context", "weights", "persona", "other"]


def _spec(value: Any) -> Any:
    """Spec strings are accepted wherever a spec is expected (tournament files, --set)."""
    if isinstance(value, str):
        try:
            return AgentSpec.parse(value)
        except SpecError as err:
            raise ValueError(str(err)) from None
    return value


class PartialTwin(BaseModel):
    """A candidate built from the judge's own spec with one part of its identity changed.

    - `exact`: the judge's exact spec (a control: a second full copy).
    - `weights`: the same model and settings, another persona (`system_prompt`, required).
    - `persona`: other weights (`model`, a spec string, required) given the judge's persona
      (its system prompt, which replaces any the model spec carries).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["exact", "weights", "persona"]
    system_prompt: str | None = None
    model: AgentSpec | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _parse_model(cls, value: Any) -> Any:
        return _spec(value)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> PartialTwin:
        if self.kind == "weights" and not (self.system_prompt or "").strip():
            raise ValueError("a 'weights' partial twin needs a system_prompt (its other persona)")
        if self.kind == "persona" and self.model is None:
            raise ValueError("a 'persona' partial twin needs a model (its other weights)")
        if self.kind == "exact" and (self.model is not None or self.system_prompt is not None):
            raise ValueError("an 'exact' partial twin is the judge's spec: give no model or system_prompt")
        return self

    def spec_for(self, judge: AgentSpec) -> AgentSpec:
        if self.kind == "exact":
            return judge
        if self.kind == "weights":
            return judge.model_copy(update={"system_prompt": self.system_prompt})
        assert self.model is not None
        return self.model.model_copy(update={"system_prompt": judge.system_prompt})


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str


class PrimedJudge(BaseModel):
    """A conversation the judge starts with, as if it had said the assistant turns itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[HistoryMessage] = Field(min_length=1)
    source: AgentSpec | None = Field(
        default=None, description="the agent that produced the history's assistant turns; a "
                                  "candidate with this spec is the judge's context twin")

    @field_validator("source", mode="before")
    @classmethod
    def _parse_source(cls, value: Any) -> Any:
        return _spec(value)


# Research variants: off by default, and left out of the config's JSON when off, so a game
# without them has the same config digest (session id) and setup event as before they existed.
VARIANT_DEFAULTS: dict[str, Any] = {
    "group_chat": False, "informed_candidates": False, "adversarial_hiding": False,
    "partial_twins": [], "primed_judge": None, "equalize_latency": None,
}


class ReverseTuringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: AgentSpec
    foils: list[AgentSpec] = Field(default_factory=list, description="the non-twin candidates' agents")
    twin: AgentSpec | None = Field(default=None, description="default: the judge's own spec")
    candidates: int | None = Field(
        default=None, ge=2, le=8,
        description="number of candidates including the twin; default len(foils)+1. "
                    "Foils are reused in order when fewer are given.",
    )
    rounds: int = Field(default=5, ge=1, le=50)
    max_attempts: int = Field(default=2, ge=1, le=5,
                              description="tries a judge gets for one structured reply")
    max_message_chars: int = Field(default=300, ge=20)
    max_reply_chars: int = Field(default=1500, ge=20)
    max_raw_chars: int = Field(default=20_000, ge=100,
                               description="longer replies are rejected before parsing")
    censor_terms: tuple[str, ...] = DEFAULT_CENSOR_TERMS
    extra_censor_terms: tuple[str, ...] = ()
    # -- research variants (README: "Variants") ------------------------------------------------
    group_chat: bool = Field(default=False, description="candidates see every question and each other's answers")
    informed_candidates: bool = Field(
        default=False, description="the judge introduces itself first; candidates see it and are asked to imitate it")
    adversarial_hiding: bool = Field(default=False, description="candidates (the twin too) are told to avoid being picked")
    partial_twins: list[PartialTwin] = Field(
        default_factory=list, description="extra candidates built from the judge's spec, seated in addition "
                                          "to the `candidates` (twin and foils)")
    primed_judge: PrimedJudge | None = Field(default=None, description="history the judge starts with")
    equalize_latency: float | None = Field(
        default=None, gt=0, le=3600,
        description="seconds: the runner releases every reply at the next multiple of this after the request")

    @field_validator("judge", "twin", mode="before")
    @classmethod
    def _parse_specs(cls, value: Any) -> Any:
        return _spec(value)

    @field_validator("foils", mode="before")
    @classmethod
    def _parse_foils(cls, value: Any) -> Any:
        return [_spec(v) for v in value] if isinstance(value, (list, tuple)) else value

    @model_validator(mode="after")
    def _candidate_count(self) -> ReverseTuringConfig:
        if not self.foils and not self.partial_twins:
            raise ValueError("foils: give at least one foil (or a partial twin)")
        if self.candidates is not None and len(self.foils) > self.candidates - 1:
            raise ValueError(
                f"{len(self.foils)} foils do not fit in {self.candidates} candidates "
                f"(one slot is the twin)"
            )
        if not self.foils and self.candidates is not None:
            raise ValueError("candidates: without foils there are no foil seats to fill; leave it out")
        if self.n_candidates > 8:
            with_twins = " with the partial twins" if self.partial_twins else " (the twin and the foils)"
            raise ValueError(f"{self.n_candidates} candidates{with_twins}; at most 8")
        return self

    @model_serializer(mode="wrap")
    def _drop_default_variants(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key, default in VARIANT_DEFAULTS.items():
            if key in data and data[key] == default:
                del data[key]
        return data

    @property
    def n_candidates(self) -> int:
        """N: the twin, the foil seats (`candidates` − 1, default one per foil) and the partial twins."""
        base = self.candidates if self.candidates is not None else len(self.foils) + 1
        return base + len(self.partial_twins)

    @property
    def twin_spec(self) -> AgentSpec:
        return self.twin or self.judge

    def foil_specs(self) -> list[AgentSpec]:
        """The specs of every seat but the twin's: the partial twins, then the foils (reused in
        order to fill the foil seats)."""
        partial = [p.spec_for(self.judge) for p in self.partial_twins]
        n = self.n_candidates - 1 - len(partial)
        return [*partial, *(self.foils[i % len(self.foils)] for i in range(n))]

    def all_censor_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.lower() for t in (*self.censor_terms, *self.extra_censor_terms)))
