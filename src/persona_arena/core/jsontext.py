"""Finding the JSON object in a model's reply, leniently (code fences, text around it).

Games read structured replies with it, and LLM agents check their own replies with it before
handing them on, so both agree on what counts as a JSON object.
"""

from __future__ import annotations

import json
from typing import Any


class NotAJsonObject(ValueError):
    """`kind` is one of empty_reply, not_an_object, not_json."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def find_json_object(text: str) -> dict[str, Any]:
    body = text.strip()
    if not body:
        raise NotAJsonObject("empty_reply", "the reply is empty")
    if body.startswith("```"):  # a fenced block: drop the fence lines
        body = body.strip("`").removeprefix("json").strip()
    candidates = [body]
    start, end = body.find("{"), body.rfind("}")
    if 0 <= start < end:
        candidates.append(body[start:end + 1])
    error = ""
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError) as err:
            error = str(err)
            continue
        if isinstance(value, dict):
            return value
        raise NotAJsonObject("not_an_object", f"expected a JSON object, got {type(value).__name__}")
    raise NotAJsonObject("not_json", f"the reply is not valid JSON ({error[:200]})")
