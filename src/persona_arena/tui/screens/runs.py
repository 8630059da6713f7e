"""Runs: the recorded runs, the games of the selected run (filterable by game, agent and
outcome) and the run's leaderboard. Only the tables are read when the screen opens (see
`tui/catalog.py`), and only a screenful of games is tabulated before it is drawn; the other
games, the database connection for replays and the leaderboard, which needs every game's
events, come afterwards."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from persona_arena.scoring.summary import agent_label, agent_names
from persona_arena.tui.catalog import Catalog, GameRow
from persona_arena.tui.leaderboard import outcome_label
from persona_arena.tui.widgets import KeyBar

FILTER_KEYS = ("game", "agent", "outcome")
OUTCOME_LABELS = frozenset({"correct", "wrong", "no-guess", "deal", "no-deal", "finished", "failed", "running",
                            "abandoned"})
_BACK = Binding.Group("back", compact=True)
FIRST_ROWS = 60  # games tabulated before the first paint; more than a screen holds


@dataclass(frozen=True)
class Filter:
    """`game:… agent:… outcome:…` plus free words (matched against the session id); every
    part is a case-insensitive substring match, and all parts must match."""

    game: tuple[str, ...] = ()
    agent: tuple[str, ...] = ()
    outcome: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Filter:
        parts: dict[str, list[str]] = {k: [] for k in (*FILTER_KEYS, "words")}
        for token in text.lower().split():
            key, sep, value = token.partition(":")
            if sep and key in FILTER_KEYS and value:
                parts[key].append(value)
            else:
                parts["words"].append(token)
        return cls(**{k: tuple(v) for k, v in parts.items()})

    def matches_game(self, game: str) -> bool:
        return all(g in game.lower() for g in self.game)

    def matches(self, session: GameRow, names: dict[str, str] | None = None) -> bool:
        """`names`: the run's names for agent specs (its agent ids), matched as well."""
        agents = " ".join([*session.players.values(), *((names or {}).get(s, "") for s in session.players.values())])
        agents = agents.lower()
        outcome = outcome_label(session).lower()
        return (self.matches_game(session.game)
                and all(a in agents for a in self.agent)
                # a whole label is that label only (deal is not no-deal); a part of one, a substring
                and all(o == outcome if o in OUTCOME_LABELS else o in outcome for o in self.outcome)
                and all(w in session.id.lower() for w in self.words))


def players_label(session: GameRow, names: dict[str, str] | None = None) -> str:
    """The session's agents under the run's names (its agent ids, as the leaderboard shows them)."""
    agents = list(dict.fromkeys((names or {}).get(spec) or agent_label(spec) for spec in session.players.values()))
    return ", ".join(agents)


def run_game(run: dict[str, Any]) -> str:
    """A run's game: the tournament's, else its sessions' (an `arena play` run records none)."""
    return run["meta"].get("game") or ", ".join(run.get("games") or []) or "?"


class RunsScreen(Screen[None]):
    DEFAULT_CSS = """
    RunsScreen { layout: vertical; }
    #filter { height: 3; }
    #runs { height: 7; }
    TabbedContent { height: 1fr; }
    #games, #board { height: 1fr; }
    """

    BINDINGS = [
        Binding("slash", "focus_filter", "filter", key_display="/"),
        # priority: the focused table or filter would otherwise take Enter (and hide it here)
        Binding("enter", "open", "open", priority=True, key_display="⏎"),
        Binding("tab", "app.focus_next", "next pane", key_display="tab"),
        Binding("l", "leaderboard", "leaderboard"),
        Binding("escape", "back", "back", key_display="esc", group=_BACK),
        Binding("q", "back", "back", group=_BACK),
    ]

    def __init__(self, catalog: Catalog, *, run: str | None = None) -> None:
        super().__init__()
        self.catalog, self.initial_run = catalog, run
        self.filter = Filter()
        self.runs: list[dict[str, Any]] = []
        self.run_id: str | None = None
        self.sessions: list[GameRow] = []
        self.names: dict[str, str] = {}  # the selected run's names for its agent specs
        self.loaded = asyncio.Event()   # set once the first screen is drawn with its data
        self.leaderboard_ready = asyncio.Event()
        self._fill_generation = 0
        self._board_run: str | None = None  # the run whose leaderboard is shown or being computed
        self.board: RenderableType | None = None  # the leaderboard shown

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: game:… agent:… outcome:… words", id="filter")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        with TabbedContent(id="tabs"):
            with TabPane("Games", id="games-tab"):
                yield DataTable(id="games", cursor_type="row", zebra_stripes=True)
            with TabPane("Leaderboard", id="board-tab"):
                yield Static("select a run", id="board")
        yield KeyBar()

    async def on_mount(self) -> None:
        runs = self.query_one("#runs", DataTable)
        runs.add_columns("run", "game", "games", "finished", "failed")
        games = self.query_one("#games", DataTable)
        games.add_columns("session", "seed", "status", "outcome", "agents")
        self.runs = await self.catalog.runs()
        self._fill_runs()
        runs.focus()
        visible = [r["id"] for r in self._visible_runs()]
        if visible:
            first = self.initial_run if self.initial_run in visible else visible[0]
            runs.move_cursor(row=visible.index(first))
            await self.select_run(first)
        self.call_after_refresh(self._drawn)

    def _drawn(self) -> None:
        self.loaded.set()
        self._connect()

    @work(exclusive=True, group="store")
    async def _connect(self) -> None:
        """Opens the database for replays now, not when a game is first opened. SQLAlchemy is
        imported in a thread: the screen keeps answering keys meanwhile."""
        await asyncio.to_thread(importlib.import_module, "persona_arena.server.store")
        await self.app.store()

    def _visible_runs(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if self.filter.matches_game(run_game(r))]

    def _fill_runs(self) -> list[str]:
        """Lists the runs the filter lets through; returns their ids."""
        table = self.query_one("#runs", DataTable)
        table.clear()
        visible = self._visible_runs()
        for r in visible:
            status = r["status"]
            table.add_row(r["id"], run_game(r), str(r["sessions"]),
                          str(status.get("finished", 0)), str(status.get("failed", 0)), key=r["id"])
        ids = [r["id"] for r in visible]
        if self.run_id in ids:  # a refill keeps the run the reader had chosen
            table.move_cursor(row=ids.index(self.run_id))
        return ids

    async def select_run(self, run_id: str) -> None:
        self.run_id = run_id
        self.sessions = await self.catalog.sessions(run_id)
        run = next((r for r in self.runs if r["id"] == run_id), None)
        self.names = agent_names((run or {}).get("meta", {}).get("agents") or {},
                                 (spec for s in self.sessions for spec in s.players.values()))
        self._fill_games()
        self.leaderboard_ready.clear()
        self._board_run = None
        if self.query_one(TabbedContent).active == "board-tab":
            self._start_leaderboard()

    def _start_leaderboard(self) -> None:
        """Computed when first shown: it reads every game's events, which a big run has many of."""
        if self.run_id is not None and self._board_run != self.run_id:
            self._board_run = self.run_id
            self.query_one("#board", Static).update(Text("computing the leaderboard…", style="italic"))
            self._compute_leaderboard(self.run_id)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, message: TabbedContent.TabActivated) -> None:
        if message.pane.id == "board-tab":
            self._start_leaderboard()

    def _fill_games(self) -> None:
        """The first rows at once, the rest after the screen is drawn: a run of thousands of
        games shows as fast as one of ten."""
        table = self.query_one("#games", DataTable)
        table.clear()
        self._fill_generation += 1
        rows = [s for s in self.sessions if self.filter.matches(s, self.names)]
        self._add_game_rows(rows[:FIRST_ROWS])
        if len(rows) > FIRST_ROWS:  # after the screen is drawn (so after `loaded` on the first one)
            self.call_after_refresh(self.call_later, self._add_game_rows_later, rows[FIRST_ROWS:],
                                    self._fill_generation)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("games-tab").label = f"Games ({len(rows)}/{len(self.sessions)})"

    def _add_game_rows_later(self, rows: list[GameRow], generation: int) -> None:
        if generation == self._fill_generation:  # not superseded by a newer filter or run
            self._add_game_rows(rows)

    def _add_game_rows(self, rows: list[GameRow]) -> None:
        table = self.query_one("#games", DataTable)
        for s in rows:
            label = outcome_label(s)
            style = {"correct": "green", "deal": "green", "wrong": "red", "failed": "red"}.get(label, "")
            table.add_row(s.id, str(s.seed), s.status, Text(label, style=style), players_label(s, self.names),
                          key=s.id)

    @work(thread=True, exclusive=True, group="leaderboard")
    def _compute_leaderboard(self, run_id: str) -> None:
        # In a thread with its own connection: reading every game's events of a big run must
        # not freeze the screen.
        board = asyncio.run(self._leaderboard(run_id))
        self.app.call_from_thread(self._show_leaderboard, run_id, board)

    async def _leaderboard(self, run_id: str) -> RenderableType:
        from persona_arena.server.store import Store
        from persona_arena.tui.leaderboard import finished_events, leaderboard_tables

        store = await Store.open(self.app.db)
        try:
            run = await store.run(run_id)
            sessions = await store.sessions(run_id)
            events = await finished_events(store, run_id)
        finally:
            await store.close()
        return leaderboard_tables(run_id, run.meta if run else {}, sessions, events)

    def _show_leaderboard(self, run_id: str, board: RenderableType) -> None:
        if self.run_id == run_id:
            self.board = board
            self.query_one("#board", Static).update(board)
            self.leaderboard_ready.set()

    @on(Input.Changed, "#filter")
    async def _filter_changed(self, message: Input.Changed) -> None:
        self.filter = Filter.parse(message.value)
        shown = self._fill_runs()
        if shown and self.run_id not in shown:  # the chosen run is filtered out: the first one shown
            self.query_one("#runs", DataTable).move_cursor(row=0)
            await self.select_run(shown[0])
        else:
            self._fill_games()

    @on(DataTable.RowHighlighted, "#runs")
    async def _run_highlighted(self, message: DataTable.RowHighlighted) -> None:
        run_id = message.row_key.value
        # Only the reader's moves choose a run: refilling the table (a filter) highlights row 0.
        if not self.query_one("#runs", DataTable).has_focus:
            return
        if run_id is not None and run_id != self.run_id:
            await self.select_run(run_id)

    @on(DataTable.RowSelected, "#runs")
    def _run_selected(self) -> None:
        self.query_one("#games", DataTable).focus()

    @on(DataTable.RowSelected, "#games")
    async def _game_selected(self, message: DataTable.RowSelected) -> None:
        if message.row_key.value is not None:
            await self.open_session(message.row_key.value)

    async def open_session(self, session_id: str) -> None:
        from persona_arena.tui.screens.replay import ReplayScreen
        from persona_arena.tui.sources import ListSource

        session = next(s for s in self.sessions if s.id == session_id)
        store = await self.app.store()
        events = await store.events(session_id)
        if not events:
            self.notify(f"{session_id} has no events", severity="warning")
            return
        await self.app.push_screen(ReplayScreen(ListSource(events, title=session_id), game=session.game))

    async def action_open(self) -> None:
        """Enter: from the filter or the runs, go to the run's games; on a game, replay it."""
        games = self.query_one("#games", DataTable)
        if self.focused is not games:
            self.query_one(TabbedContent).active = "games-tab"
            games.focus()
            return
        if games.row_count and games.cursor_row >= 0:
            key = games.coordinate_to_cell_key(games.cursor_coordinate).row_key.value
            if key is not None:
                await self.open_session(key)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leaderboard(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "games-tab" if tabs.active == "board-tab" else "board-tab"

    def action_back(self) -> None:
        if self.query_one("#filter", Input).has_focus:  # Esc leaves the filter, not the app
            self.query_one("#runs", DataTable).focus()
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
