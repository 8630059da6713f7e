"""Replay: one session, event by event, from the god view or exactly one player's view.

The cursor is an entry of the current perspective's projection; stepping folds only as far as
needed. A live source (Watch) grows while the screen is open: when the cursor is on the last
entry the screen follows the game, otherwise it stays where the reader is.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from persona_arena.core.events import SERVER_ACTOR
from persona_arena.tui.games import DETECT_WINDOW, detect_game, view_for
from persona_arena.tui.projection import GOD, Projection, TagsOf, payload_tags
from persona_arena.tui.render import entry_text, legend
from persona_arena.tui.sources import EventSource
from persona_arena.tui.widgets import KeyBar, Pane, PositionBar

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # entries per second when playing
WINDOW = 80  # entries rendered up to the cursor; older ones are a keypress away, not on screen
BIG_STEP = 10

_STEP = Binding.Group("step", compact=True)
_JUMP = Binding.Group("±10", compact=True)
_ENDS = Binding.Group("start/end", compact=True)
_SPEED = Binding.Group("speed", compact=True)
_TAGS = Binding.Group("tagged", compact=True)
_BACK = Binding.Group("back", compact=True)


class SourceGrew(Message):
    """Posted to a replay screen when its live source has new events."""


class ReplayScreen(Screen[None]):
    DEFAULT_CSS = """
    ReplayScreen { layout: vertical; }
    #title { height: 1; background: $primary-background; color: $text; }
    #body { height: 1fr; }
    #conversation { width: 1fr; padding: 0 1; }
    #side { width: 32; border-left: solid $primary; padding: 0 1; }
    #position { height: 1; }
    """

    BINDINGS = [
        Binding("left", "step(-1)", "step", group=_STEP, key_display="←"),
        Binding("right", "step(1)", "step", group=_STEP, key_display="→"),
        Binding("shift+left", f"step(-{BIG_STEP})", "±10", group=_JUMP, key_display="⇧←"),
        Binding("shift+right", f"step({BIG_STEP})", "±10", group=_JUMP, key_display="⇧→"),
        Binding("home", "first", "start", group=_ENDS, key_display="⇱"),
        Binding("end", "last", "end", group=_ENDS, key_display="⇲"),
        Binding("space", "play", "play/pause", key_display="␣"),
        Binding("minus", "speed(-1)", "speed", group=_SPEED, key_display="-"),
        Binding("plus,equals_sign", "speed(1)", "speed", group=_SPEED, key_display="+"),
        Binding("v", "perspective(1)", "view"),
        Binding("g", "god", "god view"),
        Binding("t", "tagged(1)", "tagged", group=_TAGS),
        Binding("T", "tagged(-1)", "tagged", group=_TAGS, key_display="T"),
        Binding("f", "tag_filter", "tag filter"),
        Binding("r", "raw", "raw"),
        Binding("escape", "back", "back", group=_BACK, key_display="esc"),
        Binding("q", "back", "back", group=_BACK),
    ]

    def __init__(self, source: EventSource, *, game: str | None = None, tags_of: TagsOf = payload_tags,
                 follow: bool = False) -> None:
        super().__init__()
        self.source = source
        self.tags_of = tags_of
        self.game = game or detect_game(source)
        self.view = view_for(self.game)
        self.perspective = GOD
        self.raw = False
        self.cursor = -1                      # entry index in the current projection
        self.position = 0                     # source position the reader is at, whatever the view
        self.follow = follow                  # keep the cursor on the newest entry
        self.speed_index = 2
        self.playing: Timer | None = None
        self.tag_filter: str | None = None
        self._projections: dict[tuple[str, bool], Projection] = {}

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="body"):
            with Pane(id="conversation"):
                yield Static(id="log")
            with Pane(id="side"):
                yield Static(id="panel")
                yield Static(id="legend")
        yield PositionBar(id="position")
        yield KeyBar()

    def on_mount(self) -> None:
        projection = self.projection
        projection.ensure_entries(1)
        self._place(0 if projection.entries else -1)
        if self.follow:
            self._to_newest()
        self.refresh_view()

    # -- state -----------------------------------------------------------------------------
    @property
    def projection(self) -> Projection:
        key = (self.perspective, self.raw)
        if key not in self._projections:
            self._projections[key] = Projection(self.source, self.view, self.perspective, raw=self.raw,
                                                tags_of=self.tags_of)
        return self._projections[key]

    def perspectives(self) -> list[str]:
        """The god view, then every player: from the setup if visible, else from who appears."""
        setup: dict[str, Any] = {}
        seen: dict[str, None] = {}
        for i in range(min(len(self.source), DETECT_WINDOW)):
            event = self.source.event(i)
            if event.type == "game.setup":
                setup = event.payload
            if event.actor != SERVER_ACTOR:
                seen[event.actor] = None
            if isinstance(event.visible_to, list):
                seen.update(dict.fromkeys(event.visible_to))
        players = self.view.players(setup) if setup else []
        return [GOD, *players, *(p for p in seen if p not in players)]

    def _place(self, cursor: int) -> None:
        """Puts the cursor on an entry and the reader's position on its event."""
        self.cursor = cursor
        entries = self.projection.entries
        if 0 <= cursor < len(entries):
            self.position = entries[cursor].index

    def _move_to(self, cursor: int) -> None:
        projection = self.projection
        projection.ensure_entries(cursor + 1)
        self._place(min(max(cursor, 0), len(projection.entries) - 1) if projection.entries else -1)
        self.follow = self.source.live and projection.exhausted and self.cursor == len(projection.entries) - 1
        self.refresh_view()

    def _to_newest(self) -> None:
        self.projection.fold_all()
        self._place(len(self.projection.entries) - 1)

    def _switch(self, *, perspective: str | None = None, raw: bool | None = None) -> None:
        """Changes what is shown while keeping the reader at the same point of the game (the
        position does not move, even if this perspective saw nothing there)."""
        if perspective is not None:
            self.perspective = perspective
        if raw is not None:
            self.raw = raw
        found = self.projection.entry_at_or_before(self.position)
        self.cursor = -1 if found is None else found
        self.refresh_view()

    # -- actions ---------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._to_newest()
        self._move_to(self.cursor)

    def action_play(self) -> None:
        if self.playing is not None:
            self._stop_playing()
        else:
            if self._at_end():
                self._move_to(0)
            self.playing = self.set_interval(1 / SPEEDS[self.speed_index], self._tick)
        self.refresh_view()

    def _stop_playing(self) -> None:
        if self.playing is not None:
            self.playing.stop()
            self.playing = None

    def _at_end(self) -> bool:
        projection = self.projection
        projection.ensure_entries(self.cursor + 2)
        return self.cursor >= len(projection.entries) - 1

    def _tick(self) -> None:
        if self._at_end():
            if not self.source.live:
                self._stop_playing()
                self.refresh_view()
            return  # a live game: wait for the next event
        self._move_to(self.cursor + 1)

    def action_speed(self, delta: int) -> None:
        self.speed_index = min(max(self.speed_index + delta, 0), len(SPEEDS) - 1)
        if self.playing is not None:
            self._stop_playing()
            self.playing = self.set_interval(1 / SPEEDS[self.speed_index], self._tick)
        self.refresh_view()

    def action_perspective(self, delta: int) -> None:
        options = self.perspectives()
        current = options.index(self.perspective) if self.perspective in options else 0
        self._switch(perspective=options[(current + delta) % len(options)])

    def action_god(self) -> None:
        self._switch(perspective=GOD)

    def action_raw(self) -> None:
        self._switch(raw=not self.raw)

    def action_tagged(self, step: int) -> None:
        found = self.projection.find_tagged(self.cursor, step, self.tag_filter)
        if found is None:
            self.notify("no further tagged utterance" + (f" ({self.tag_filter})" if self.tag_filter else ""),
                        timeout=2)
            return
        self._move_to(found)

    def action_tag_filter(self) -> None:
        labels = self.projection.tag_labels()
        if not labels:
            self.notify("no tags in this session so far", timeout=2)
            return
        cycle: list[str | None] = [None, *labels]
        position = cycle.index(self.tag_filter) if self.tag_filter in cycle else 0
        self.tag_filter = cycle[(position + 1) % len(cycle)]
        self.refresh_view()

    def action_back(self) -> None:
        self._stop_playing()
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    @on(PositionBar.Seek)
    def _seek(self, message: PositionBar.Seek) -> None:
        target = int(message.fraction * max(len(self.source) - 1, 0))
        found = self.projection.entry_at_or_before(target)
        self._move_to(found if found is not None else 0)

    @on(SourceGrew)
    def _source_grew(self) -> None:
        if self.view.game != (game := detect_game(self.source)) and game is not None:
            # A spectator may learn the game only from later events: re-read with its view.
            self.game, self.view = game, view_for(game)
            self._projections.clear()
            self.cursor, self.position = -1, 0
        if self.follow or self.cursor < 0:
            self._to_newest()
        self.refresh_view()

    # -- drawing ---------------------------------------------------------------------------
    def conversation(self) -> list[RenderableType]:
        entries = self.projection.entries
        if self.cursor < 0:
            return [Text("(nothing visible to this perspective yet)", style="italic dim")]
        first = max(0, self.cursor - WINDOW + 1)
        god = self.perspective == GOD
        return [entry_text(e, perspective_is_god=god, current=i == self.cursor)
                for i, e in enumerate(entries[first:self.cursor + 1], start=first)]

    def side_panel(self) -> RenderableType:
        return self.view.panel(self.projection.panel_events(self.position), self.projection.known)

    def refresh_view(self) -> None:
        projection = self.projection
        who = "god view" if self.perspective == GOD else f"as {projection.known.label(self.perspective)}"
        state = f"▶ {SPEEDS[self.speed_index]:g}/s" if self.playing else f"{SPEEDS[self.speed_index]:g}/s"
        live = " · live" if self.source.live else ""
        raw = " · raw" if self.raw else ""
        self.query_one("#title", Static).update(Text.assemble(
            (f" {self.view.game} ", "bold reverse"), f" {self.source.title} · ", (who, "bold yellow"),
            f" · {state}{live}{raw}"))
        self.query_one("#log", Static).update(Group(*self.conversation()))
        self.query_one("#panel", Static).update(self.side_panel())
        self.query_one("#legend", Static).update(legend(projection.entries, self.tag_filter))
        total = len(self.source)
        at = self.position + 1 if total else 0
        self.query_one(PositionBar).show(at, total, f"{at}/{total}{'+' if not projection.exhausted else ''}")
        conversation = self.query_one("#conversation", Pane)
        conversation.call_after_refresh(conversation.scroll_end, animate=False)

    def plain_text(self) -> str:
        """What the conversation and side panel say, as plain text (for tests and bench)."""
        console = Console(width=100, record=True, file=_Discard(), color_system=None)
        console.print(Group(*self.conversation()))
        console.print(self.side_panel())
        return console.export_text()


class _Discard:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        return None
