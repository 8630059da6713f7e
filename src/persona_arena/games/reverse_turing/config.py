"""Options of the `reverse-turing` game (validated; errors name the field)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from persona_arena.core.specs import AgentSpec

# Masked in candidate replies so that a name cannot give a model away.
DEFAULT_CENSOR_TERMS = (
    "qwen", "tongyi", "alibaba", "gemma", "gemini", "bard", "google", "deepmind",
    "gpt", "chatgpt", "openai", "claude", "anthropic", "llama", "meta", "mistral",
    "mixtral", "deepseek", "phi", "microsoft", "grok", "xai", "cohere", "command-r",
    "falcon", "vicuna", "eliza",
)

NICKNAMES = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi")


class ReverseTuringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: AgentSpec
    foils: list[AgentSpec] = Field(min_length=1, description="the non-twin candidates' agents")
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

    @model_validator(mode="after")
    def _candidate_count(self) -> ReverseTuringConfig:
        if self.candidates is not None and len(self.foils) > self.candidates - 1:
            raise ValueError(
                f"{len(self.foils)} foils do not fit in {self.candidates} candidates "
                f"(one slot is the twin)"
            )
        return self

    @property
    def n_candidates(self) -> int:
        return self.candidates if self.candidates is not None else len(self.foils) + 1

    @property
    def twin_spec(self) -> AgentSpec:
        return self.twin or self.judge

    def foil_specs(self) -> list[AgentSpec]:
        n = self.n_candidates - 1
        return [self.foils[i % len(self.foils)] for i in range(n)]

    def all_censor_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.lower() for t in (*self.censor_terms, *self.extra_censor_terms)))
