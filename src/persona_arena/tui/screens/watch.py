"""Watch: live sessions from the spectator stream, listed as they start; opening one follows
it with the same Replay screen as a recorded game (the cursor stays on the newest event
until the reader steps back)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from persona_arena.core.events import Event
from persona_arena.tui.games import detect_game
from persona_arena.tui.live import EventStream
from persona_arena.tui.screens.replay import ReplayScreen, SourceGrew
from persona_arena.tui.sources import LiveSource
from persona_arena.tui.widgets import KeyBar

_QUIT = Binding.Group("quit", compact=True)
COLUMNS = ("session", "run", "game", "events", "state", "latest")


class WatchScreen(Screen[None]):
    DEFAULT_CSS = """
    WatchScreen { layout: vertical; }
    #status { height: 1; background: $primary-background; }
    #sessions { height: 1fr; }
    """

    BINDINGS = [
        Binding("enter", "open", "follow game", priority=True, key_display="⏎"),
        Binding("escape", "back", "quit", key_display="esc", group=_QUIT),
        Binding("q", "back", "quit", group=_QUIT),
    ]

    def __init__(self, stream: EventStream, *, description: str) -> None:
        super().__init__()
        self.stream, self.description = stream, description
        self.sources: dict[str, LiveSource] = {}
        self.received = 0

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#sessions", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self._status(f"waiting for games on {self.description}")
        self._consume()

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#status", Static).update(Text(f" {text}", style=style))

    @work(exclusive=True, group="stream")
    async def _consume(self) -> None:
        try:
            async for event in self.stream():
                self.add_event(event)
        except Exception as err:  # the broker refused us or is unreachable: say so, keep the screen
            self._status(f"{self.description}: {type(err).__name__}: {err}", style="bold red")

    def add_event(self, event: Event) -> None:
        self.received += 1
        table = self.query_one("#sessions", DataTable)
        source = self.sources.get(event.session_id)
        if source is None:
            source = self.sources[event.session_id] = LiveSource(event.session_id)
            source.add(event)
            table.add_row(*self._cells(source, event), key=event.session_id)
            self._status(f"sessions: {len(self.sources)} · {self.description}")
        elif source.add(event):
            for column, value in zip(COLUMNS, self._cells(source, event)):
                table.update_cell(event.session_id, column, value)
        else:
            return  # a resend (at-least-once delivery)
        for screen in self.app.screen_stack:
            if isinstance(screen, ReplayScreen) and screen.source is source:
                screen.post_message(SourceGrew())

    @staticmethod
    def _cells(source: LiveSource, event: Event) -> tuple[str | Text, ...]:
        state = Text("finished", style="green") if source.finished else Text("live", style="bold yellow")
        return (source.session_id, event.run_id, detect_game(source) or "?", str(len(source)), state,
                source.event(len(source) - 1).type)

    async def action_open(self) -> None:
        table = self.query_one("#sessions", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key is not None:
                await self.app.push_screen(ReplayScreen(self.sources[key], follow=True))

    @on(DataTable.RowSelected, "#sessions")
    async def _selected(self) -> None:
        await self.action_open()

    def action_back(self) -> None:
        self.app.exit()
