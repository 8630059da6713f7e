"""The `human` agent's turn as a Textual screen: the conversation so far, the brief, and a
form built from the turn's JSON Schema (a choice list for every enum, a field per number,
checkboxes for a list of names, a switch for yes/no), so the person never types JSON.

What they enter is passed on as is: the game, not this screen, decides whether it is valid
(an empty field stays empty, a number that does not parse is sent as text).
"""

from __future__ import annotations

import json
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Collapsible, Footer, Header, Input, Label, Select, SelectionList, Static, Switch

from persona_arena.core.observations import Observation

NONE = "(none)"


class HumanTurnApp(App[str]):
    """Returns the reply text (JSON for a structured turn) from `run_async()`; None if the
    person quits without answering."""

    TITLE = "persona-arena — your turn"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+s", "send", "Send reply"), Binding("ctrl+q", "quit", "Quit without replying")]
    CSS = """
    #conversation { height: 1fr; border: round $primary; }
    #form { height: auto; max-height: 60%; border: round $accent; }
    .field-label { margin-top: 1; text-style: bold; }
    """

    def __init__(self, observation: Observation) -> None:
        super().__init__()
        self.observation = observation
        self.fields: dict[str, tuple[dict[str, Any], Any]] = {}  # field path -> (schema, widget)

    def compose(self) -> ComposeResult:
        obs = self.observation
        yield Header(show_clock=False)
        with VerticalScroll(id="conversation"):
            with Collapsible(title=f"Your brief: {obs.player} ({obs.role})", collapsed=bool(obs.messages)):
                yield Static(obs.instructions, markup=False)
            for message in obs.messages:
                who = "you" if message.role == "assistant" else "game"
                yield Static(f"[b]{who}[/b]: ", classes="field-label")
                yield Static(message.content, markup=False)
        with VerticalScroll(id="form"):
            if obs.reply_schema is None:
                yield Label("Your reply", classes="field-label")
                yield self._remember("", {"type": "string"}, Input(placeholder="type your reply", id="f-reply"))
            else:
                yield from self._form(obs.reply_schema, "")
            yield Button("Send (ctrl+s)", id="send", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.observation.game}: {self.observation.turn}"

    # -- the form, from the schema ------------------------------------------------------
    def _remember(self, path: str, schema: dict[str, Any], widget: Any) -> Any:
        self.fields[path] = (schema, widget)
        return widget

    def _form(self, schema: dict[str, Any], path: str):
        props: dict[str, Any] = schema.get("properties", {})
        for name, sub in props.items():
            key = f"{path}.{name}" if path else name
            wid = "f-" + key.replace(".", "-")
            hint = f" (at most {sub['maxLength']} characters)" if sub.get("maxLength") else ""
            yield Label(f"{key}{hint}", classes="field-label")
            if "enum" in sub:
                options = [(NONE if o is None else str(o), json.dumps(o)) for o in sub["enum"]]
                yield self._remember(key, sub, Select(options, id=wid, prompt=f"choose {name}"))
            elif sub.get("type") == "object" and any("enum" in p for p in sub.get("properties", {}).values()):
                with Vertical():
                    yield from self._form(sub, key)
            elif sub.get("type") == "object":  # e.g. probabilities: one number per name
                with Vertical():
                    for inner, inner_schema in sub.get("properties", {}).items():
                        yield Label(f"  {inner}", classes="field-label")
                        yield self._remember(f"{key}.{inner}", inner_schema,
                                             Input(placeholder="a number", id=f"{wid}-{inner}"))
            elif sub.get("type") == "array" and "enum" in sub.get("items", {}):
                yield self._remember(key, sub, SelectionList(*((str(o), o) for o in sub["items"]["enum"]), id=wid))
            elif sub.get("type") == "boolean":
                yield self._remember(key, sub, Switch(id=wid))
            elif sub.get("type") == "array":  # a list of objects: typed as JSON, a rare case
                yield self._remember(key, sub, Input(placeholder="JSON list, e.g. []", id=wid, value="[]"))
            else:
                yield self._remember(key, sub, Input(placeholder=sub.get("type", "text"), id=wid))

    # -- sending ------------------------------------------------------------------------
    def reply_value(self) -> Any:
        if self.observation.reply_schema is None:
            return self.fields[""][1].value
        value: dict[str, Any] = {}
        for path, (schema, widget) in self.fields.items():
            target = value
            *parents, last = path.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[last] = _read(schema, widget)
        return value

    def action_send(self) -> None:
        value = self.reply_value()
        self.exit(value if isinstance(value, str) else json.dumps(value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()


def _read(schema: dict[str, Any], widget: Any) -> Any:
    if isinstance(widget, Select):
        return None if widget.value is Select.BLANK else json.loads(widget.value)
    if isinstance(widget, SelectionList):
        return list(widget.selected)
    if isinstance(widget, Switch):
        return widget.value
    text = widget.value
    if schema.get("type") in ("number", "integer"):
        try:
            return float(text) if schema["type"] == "number" else int(text)
        except ValueError:
            return text  # sent as typed: the game records why it is not usable
    if schema.get("type") == "array":
        try:
            return json.loads(text or "[]")
        except json.JSONDecodeError:
            return text
    return text
