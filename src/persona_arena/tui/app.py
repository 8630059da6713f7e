"""The one Textual app behind `arena tui`, `arena replay` and `arena watch`: it opens on the
screen the command asks for; Runs opens Replay, Watch opens Replay in follow mode."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from typing import TYPE_CHECKING

from textual.app import App
from textual.screen import Screen

from persona_arena.tui.projection import TagsOf, payload_tags
from persona_arena.tui.screens.replay import ReplayScreen
from persona_arena.tui.sources import EventSource

if TYPE_CHECKING:
    from persona_arena.server.store import Store
    from persona_arena.tui.live import EventStream

ScreenFactory = Callable[["ArenaApp"], Awaitable[Screen[None]]]


class ArenaApp(App[None]):
    TITLE = "persona-arena"
    ENABLE_COMMAND_PALETTE = False  # every action has a key, shown in the footer

    def __init__(self, first_screen: ScreenFactory) -> None:
        super().__init__()
        self._first_screen = first_screen
        self.store: Store | None = None  # opened by the Runs entry point, closed on exit
        self.first_paint = asyncio.Event()  # the first screen is drawn with its data

    async def on_mount(self) -> None:
        screen = await self._first_screen(self)
        await self.push_screen(screen)
        loaded = getattr(screen, "loaded", None)
        if isinstance(loaded, asyncio.Event):
            await loaded.wait()
        self.call_after_refresh(self.first_paint.set)

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.close()

    # -- the entry points ------------------------------------------------------------------
    @classmethod
    def replay(cls, source: EventSource, *, game: str | None = None, tags_of: TagsOf = payload_tags) -> ArenaApp:
        async def first(app: ArenaApp) -> Screen[None]:
            return ReplayScreen(source, game=game, tags_of=tags_of)
        return cls(first)

    @classmethod
    def runs(cls, db: str | None, *, run: str | None = None) -> ArenaApp:
        async def first(app: ArenaApp) -> Screen[None]:
            from persona_arena.server.store import Store
            from persona_arena.tui.screens.runs import RunsScreen

            app.store = await Store.open(db)
            return RunsScreen(app.store, db, run=run)
        return cls(first)

    @classmethod
    def watch(cls, stream: EventStream, *, description: str) -> ArenaApp:
        async def first(app: ArenaApp) -> Screen[None]:
            from persona_arena.tui.screens.watch import WatchScreen

            return WatchScreen(stream, description=description)
        return cls(first)
