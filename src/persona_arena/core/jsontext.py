"""Finding the JSON object in a model's reply, leniently (code fences, text around it).

Games read structured replies with it, and LLM agents check their own replies with it before
handing them on, so both agree on what counts as a JSON object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
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
            # Only a JSON escape (\\uXXXX) can make a lone surrogate out of clean text.
            return scrub(value) if "\\u" in candidate else value
        raise NotAJsonObject("not_an_object", f"expected a JSON object, got {type(value).__name__}")
    raise NotAJsonObject("not_json", f"the reply is not valid JSON ({error[:200]})")


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_text(text: str) -> str:
    """Lone surrogates (a model's broken output, or a JSON escape like "\\ud800") cannot be
    encoded as UTF-8, so no store, export or broker could carry them: each becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def scrub(value: Any) -> Any:
    """`scrub_text` over every string (keys too) of a freshly parsed JSON value, in place.
    Iterative: a reply can nest as deep as the JSON parser allows."""
    if isinstance(value, str):
        return scrub_text(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                item = node[key]
                if isinstance(item, str):
                    node[key] = scrub_text(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
                clean = scrub_text(key)
                if clean != key:
                    node[clean] = node.pop(key)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = scrub_text(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value


def json_object_lines(path: Path, error: type[Exception]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`file:line`, object) for every non-blank line of a JSON-lines file; `error(message)`
    names the file and line of anything that is not a JSON object."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise error(f"{path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise error(f"{where}: not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise error(f"{where}: a line must be a JSON object")
        yield where, row
