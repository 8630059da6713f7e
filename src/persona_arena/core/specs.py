"""Agent spec strings (contract): how an agent is named everywhere.

`scripted`, `eliza`, `human`, `local/<name>`, `remote/<name>` or any litellm model string,
optionally followed by settings: `local/qwen2.5-0.5b;temperature=0.7;system_prompt=You are Ada.`
Two specs are the same agent (a twin) when model and every setting are equal.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from persona_arena.core.validation import field_errors

AgentKind = Literal["scripted", "eliza", "human", "local", "remote", "litellm"]
_BUILTIN_KINDS = ("scripted", "eliza", "human")
_PREFIX_KINDS = ("local", "remote")
_MODEL_RE = re.compile(r"^[A-Za-z0-9][\w.\-:/@+]*$")


class SpecError(ValueError):
    """A spec string that cannot name an agent."""


class AgentSettings(BaseModel):
    """Settings that make an agent what it is (a twin shares all of them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    system_prompt: str | None = None
    api_base: str | None = None
    seed: int | None = None


class AgentSpec(AgentSettings):
    model: str

    @field_validator("model")
    @classmethod
    def _model_syntax(cls, value: str) -> str:
        value = value.strip()
        if not _MODEL_RE.match(value):
            raise ValueError(f"not a model name: {value!r}")
        head, _, rest = value.partition("/")
        if head in _PREFIX_KINDS and not rest:
            raise ValueError(f"{head}/ needs a name after the slash, e.g. {head}/qwen2.5-0.5b")
        return value

    @property
    def kind(self) -> AgentKind:
        if self.model in _BUILTIN_KINDS:
            return self.model  # type: ignore[return-value]
        head = self.model.partition("/")[0]
        if head in _PREFIX_KINDS:
            return head  # type: ignore[return-value]
        return "litellm"

    @property
    def name(self) -> str:
        """The part after the kind prefix (`qwen2.5-0.5b` for `local/qwen2.5-0.5b`)."""
        return self.model.partition("/")[2] if self.kind in _PREFIX_KINDS else self.model

    def canonical(self) -> str:
        """The spec string with its settings in a fixed order; equal agents, equal strings."""
        settings = self.model_dump(exclude={"model"}, exclude_none=True)
        return ";".join([self.model, *(f"{k}={v}" for k, v in sorted(settings.items()))])

    def digest(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:12]

    @classmethod
    def parse(cls, text: str) -> AgentSpec:
        """Parse `model[;key=value]...`; raises SpecError naming the bad part."""
        if not text or not text.strip():
            raise SpecError("empty agent spec")
        model, *pairs = text.split(";")
        fields: dict[str, str] = {"model": model}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise SpecError(f"setting {pair!r} in {text!r} is not key=value")
            fields[key.strip()] = value.strip()
        try:
            return cls.model_validate(fields)
        except ValidationError as err:
            raise SpecError(f"bad agent spec {text!r}: {field_errors(err, 'spec')}") from None

    def to_json(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True)
