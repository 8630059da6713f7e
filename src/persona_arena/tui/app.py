"""The one Textual app behind `arena tui`, `arena replay` and `arena watch`: it opens on the
screen the command asks for; Runs opens Replay, Watch opens Replay in follow mode. Each entry
point imports only what its first screen needs: the first paint waits for those imports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual.app import App
from textual.screen import Screen

if TYPE_CHECKING:
    from persona_arena.server.store import Store
    from persona_arena.tui.live import EventStream
    from persona_arena.tui.projection import TagsOf
    from persona_arena.tui.sources import EventSource

ScreenFactory = Callable[["ArenaApp"], Awaitable[Screen[None]]]


class ArenaApp(App[None]):
    TITLE = "persona-arena"
    ENABLE_COMMAND_PALETTE = False  # every action has a key, shown in the footer

    def __init__(self, first_screen: ScreenFactory, *, db: str | None = None) -> None:
        super().__init__()
        self._first_screen = first_screen
        self.db = db  # the database of the Runs entry point
        self._store: Store | None = None
        self._store_lock = asyncio.Lock()
        self.first_paint = asyncio.Event()  # the first screen is drawn with its data

    async def on_mount(self) -> None:
        screen = await self._first_screen(self)
        await self.push_screen(screen)
        loaded = getattr(screen, "loaded", None)
        if isinstance(loaded, asyncio.Event):
            await loaded.wait()  # set by the screen once it is drawn with its data
            self.first_paint.set()
        else:
            self.call_after_refresh(self.first_paint.set)

    async def store(self) -> Store:
        """The database of `db`, opened on first use and closed when the app ends."""
        async with self._store_lock:
            if self._store is None:
                from persona_arena.server.store import Store

                self._store = await Store.open(self.db)
            return self._store

    async def on_unmount(self) -> None:
        if self._store is not None:
            await self._store.close()

    # -- the entry points ------------------------------------------------------------------
    @classmethod
    def replay(cls, source: EventSource, *, game: str | None = None, tags_of: TagsOf | None = None) -> ArenaApp:
        async def first(app: ArenaApp) -> Screen[None]:
            from persona_arena.tui.projection import payload_tags
            from persona_arena.tui.screens.replay import ReplayScreen

            return ReplayScreen(source, game=game, tags_of=tags_of or payload_tags)
        return cls(first)

    @classmethod
    def runs(cls, db: str | None, *, run: str | None = None) -> ArenaApp:
        async def first(app: ArenaApp) -> Screen[None]:
            from persona_arena.tui.catalog import StoreCatalog, sqlite_catalog
            from persona_arena.tui.screens.runs import RunsScreen

            catalog = sqlite_catalog(db) or StoreCatalog(await app.store())
            return RunsScreen(catalog, run=run)
        return cls(first, db=db)

    @classmethod
    def watch(cls, stream: EventStream, *, description: str) -> ArenaApp:
        async def first(app: ArenaApp) -> Screen[None]:
            from persona_arena.tui.screens.watch import WatchScreen

            return WatchScreen(stream, description=description)
        return cls(first)
