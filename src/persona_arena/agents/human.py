"""`human`: a person plays a role from the terminal.

With `ARENA_HUMAN_UI=tui` (`arena play --human-ui tui`) each turn is a Textual screen with
the conversation and a form built from the turn's schema (persona_arena.tui.human); otherwise
a plain prompt on stderr, as below.

Free-text turns read one line. Structured turns are asked field by field from the turn's JSON
Schema (a choice by name or number, one number per candidate, a list of names or "all"), so
the person never types JSON. What they type is passed on as is: the game, not this agent,
decides whether it is valid. The game's normal turn timeout applies.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any, TextIO

from persona_arena.agents.base import AgentResponse
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec

_terminal = asyncio.Lock()  # one prompt at a time when a person plays several seats


class HumanAgent:
    def __init__(self, spec: AgentSpec, seed: int, *, stdin: TextIO | None = None,
                 stdout: TextIO | None = None, ui: str | None = None) -> None:
        self.spec = spec
        self.ui = ui or os.environ.get("ARENA_HUMAN_UI", "terminal")
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stderr  # keeps stdout for the command's own output
        self.shown: dict[str, int] = {}     # player -> messages already printed

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _ask(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        return line.rstrip("\n")

    async def act(self, observation: Observation) -> AgentResponse:
        if self.ui == "tui":
            from persona_arena.tui.human import HumanTurnApp

            async with _terminal:
                text = await HumanTurnApp(observation).run_async()
            if text is None:
                raise RuntimeError("the person left the turn without replying")
            return AgentResponse(text)
        async with _terminal:
            player = observation.player
            if player not in self.shown:
                self._say(f"\n=== you play {player} ({observation.role}) ===\n{observation.instructions}")
            for m in observation.messages[self.shown.get(player, 0):]:
                self._say(f"\n[{m.role}] {m.content}")
            self.shown[player] = len(observation.messages)
            if observation.reply_schema is None:
                return AgentResponse(await self._ask(f"\n{player} > "))
            value = await self._fill(observation.reply_schema, name="")
            return AgentResponse(json.dumps(value))

    async def _fill(self, schema: dict[str, Any], name: str) -> Any:
        if "enum" in schema:
            options = schema["enum"]
            listing = "  ".join(f"{i}) {'(none)' if o is None else o}" for i, o in enumerate(options, 1))
            answer = (await self._ask(f"{name}: {listing}\n{name} > ")).strip()
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1]
            return None if answer.lower() in ("", "none", "null") and None in options else answer
        kind = schema.get("type")
        if kind == "object":
            return {key: await self._fill(sub, name=f"{name}.{key}" if name else key)
                    for key, sub in schema.get("properties", {}).items()}
        if kind == "array":
            names = schema.get("items", {}).get("enum")
            hint = f" (comma-separated; {', '.join(names)}, or all)" if names else " (comma-separated)"
            answer = (await self._ask(f"{name}{hint} > ")).strip()
            if names and answer.lower() == "all":
                return list(names)
            return [part.strip() for part in answer.split(",") if part.strip()]
        if kind in ("number", "integer"):
            answer = (await self._ask(f"{name} (a number) > ")).strip()
            try:
                return float(answer) if kind == "number" else int(answer)
            except ValueError:
                return answer
        return await self._ask(f"{name} > ")

    async def close(self) -> None:
        return None
