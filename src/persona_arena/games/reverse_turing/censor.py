"""Masks model and vendor names in candidate replies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from dataclasses import dataclass

MASK = "[redacted]"


@dataclass(frozen=True)
class Censored:
    text: str
    masked: list[str]  # the original spellings that were masked, in order


class Censor:
    def __init__(self, terms: Iterable[str]) -> None:
        terms = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
        if terms:
            alternatives = "|".join(re.escape(t) for t in terms)
            # A term with an optional version tail: "GPT-4o", "Qwen2.5-Coder", "llama3".
            # Word boundaries keep "metadata" or "graphic" intact.
            self._pattern: re.Pattern[str] | None = re.compile(
                rf"(?<![\w])(?:{alternatives})(?:[-_ ]?\d(?:[\w.\-]*\w)?)?(?![\w])", re.IGNORECASE
            )
        else:
            self._pattern = None

    def apply(self, text: str) -> Censored:
        if self._pattern is None:
            return Censored(text, [])
        masked: list[str] = []

        def _mask(match: re.Match[str]) -> str:
            masked.append(match.group(0))
            return MASK

        return Censored(self._pattern.sub(_mask, text), masked)


@lru_cache(maxsize=64)
def censor_for(terms: tuple[str, ...]) -> Censor:
    """One compiled censor per term list, shared by every reply of every game that uses it."""
    return Censor(terms)
