"""One benchmark figure: a value, the baseline it is compared with, and the ratio."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Figure(BaseModel):
    """`ratio` is value/baseline (baseline/value when lower is better); where no baseline fits
    (P5, P6) `baseline` is null and `ratio` is the value itself, as the issue asks."""

    name: str
    value: float | None
    baseline: float | None
    ratio: float | None
    goal: float | None
    unit: str
    lower_is_better: bool = False
    detail: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    @classmethod
    def compare(cls, name: str, value: float, baseline: float, *, goal: float | None, unit: str,
                lower_is_better: bool = False, **detail: Any) -> Figure:
        ratio = (baseline / value if lower_is_better else value / baseline) if value and baseline else None
        return cls(name=name, value=value, baseline=baseline, ratio=ratio, goal=goal, unit=unit,
                   lower_is_better=lower_is_better, detail=detail)

    @classmethod
    def alone(cls, name: str, value: float, *, goal: float | None, unit: str, lower_is_better: bool = False,
              **detail: Any) -> Figure:
        return cls(name=name, value=value, baseline=None, ratio=value, goal=goal, unit=unit,
                   lower_is_better=lower_is_better, detail=detail)

    @classmethod
    def failed(cls, name: str, error: str, *, goal: float | None, unit: str) -> Figure:
        return cls(name=name, value=None, baseline=None, ratio=None, goal=goal, unit=unit, error=error)

    @property
    def met(self) -> bool | None:
        if self.ratio is None or self.goal is None:
            return None
        return self.ratio <= self.goal if self.lower_is_better and self.baseline is None else self.ratio >= self.goal

    def public(self) -> dict[str, Any]:
        """The `--json` shape: value, baseline, ratio, goal, unit, lower_is_better (+ detail)."""
        return self.model_dump(exclude={"name"}, exclude_none=False)
