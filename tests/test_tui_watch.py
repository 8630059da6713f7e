"""Watch screen against a real embedded amqtt broker: a game published through the spectator
bus (server/bus.py) appears in the list, updates as it goes on, and is followed in the replay
view; spectators get public events only."""

from __future__ import annotations

from pathlib import Path

import pytest

from persona_arena.server.broker import Credentials, EmbeddedBroker
from persona_arena.server.bus import SpectatorBus
from persona_arena.server.mqtt import MqttLink
from persona_arena.server.protocol import ADMIN_USER, SPECTATOR_USER
from persona_arena.transcripts.jsonl import read_jsonl
from persona_arena.tui.app import ArenaApp
from persona_arena.tui.live import spectator_events
from persona_arena.tui.screens.replay import ReplayScreen
from persona_arena.tui.screens.watch import WatchScreen

ROOT = Path(__file__).resolve().parents[1]
NEGOTIATION = ROOT / "tests" / "data" / "tui-negotiation.jsonl"
RT_SAMPLE = ROOT / "transcripts" / "samples" / "quickstart-gemma-judge.jsonl"
MAX_POLLS = 400  # a guard against hanging, not a timing assertion


async def wait_until(pilot, condition) -> None:
    for _ in range(MAX_POLLS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture
async def broker(tmp_path):
    credentials = Credentials.generate()
    async with EmbeddedBroker(credentials, state_dir=tmp_path / "broker", port=0) as running:
        yield running, credentials


async def connect_watcher(pilot, bus: SpectatorBus, screen: WatchScreen) -> None:
    """Publishes a warm-up event until the watcher shows it: from then on it is subscribed."""
    warmup = read_jsonl(RT_SAMPLE)[2].model_copy(update={"session_id": "warm-up", "run_id": "warm-up"})
    for seq in range(MAX_POLLS):
        bus.publish([warmup.model_copy(update={"seq": seq})])
        await bus.flush()
        await pilot.pause(0.05)
        if "warm-up" in screen.sources:
            return
    raise AssertionError("the watch screen never received anything")


async def test_live_game_appears_updates_and_is_followed(broker):
    running, credentials = broker
    bus = SpectatorBus(MqttLink(running.url, credentials.login(ADMIN_USER), client_id="test-bus"))
    await bus.start()
    events = read_jsonl(NEGOTIATION)
    public = [e for e in events if e.visible_to == "public"]
    app = ArenaApp.watch(lambda: spectator_events(running.url, credentials.login(SPECTATOR_USER)),
                         description=str(running.url))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await app.first_paint.wait()
            screen = app.screen
            assert isinstance(screen, WatchScreen)
            await connect_watcher(pilot, bus, screen)

            session = events[0].session_id
            bus.publish(events[:12])
            await bus.flush()
            first_public = [e for e in events[:12] if e.visible_to == "public"]
            await wait_until(pilot, lambda: session in screen.sources
                             and len(screen.sources[session]) == len(first_public))
            table = screen.query_one("#sessions")
            assert table.get_cell(session, "game") == "negotiation"
            assert table.get_cell(session, "events") == str(len(first_public))

            table.focus()
            table.move_cursor(row=table.get_row_index(session))
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen))
            replay = app.screen
            assert replay.follow and replay.source.live

            bus.publish(events[12:])
            await bus.flush()
            await wait_until(pilot, lambda: len(replay.source) == len(public))
            await pilot.pause()
            # Followed to the newest event; the list updated too.
            assert replay.cursor == len(replay.projection.entries) - 1
            assert replay.projection.entries[-1].type == "game.ended"
            text = replay.plain_text()
            assert "deal reached on #3" in text and "game over after 2 rounds" in text
            assert "SECRET PLAN" not in text and "My table" not in text   # scratchpads are never public
            assert table.get_cell(session, "events") == str(len(public))
            # The public end of the game is enough to mark it finished; its outcome is god-only.
            assert str(table.get_cell(session, "state")) == "finished"
            assert "scores" not in text and "game.outcome" not in {e.type for e in public}
    finally:
        await bus.close()


async def test_god_view_stream_carries_private_channels(broker):
    running, credentials = broker
    bus = SpectatorBus(MqttLink(running.url, credentials.login(ADMIN_USER), client_id="test-bus-god"))
    await bus.start()
    events = read_jsonl(RT_SAMPLE)
    app = ArenaApp.watch(lambda: spectator_events(running.url, credentials.login(ADMIN_USER), god=True),
                         description="god")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await app.first_paint.wait()
            screen = app.screen
            await connect_watcher(pilot, bus, screen)
            bus.publish(events)
            await bus.flush()
            session = events[0].session_id
            await wait_until(pilot, lambda: session in screen.sources and screen.sources[session].finished)
            assert len(screen.sources[session]) == len(events)
            table = screen.query_one("#sessions")
            table.focus()
            table.move_cursor(row=table.get_row_index(session))
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ReplayScreen))
            assert "TWIN" in app.screen.plain_text()
    finally:
        await bus.close()


async def test_refused_credentials_are_reported_on_screen(broker):
    running, _ = broker
    from persona_arena.server.mqtt import Login

    app = ArenaApp.watch(lambda: spectator_events(running.url, Login(SPECTATOR_USER, "wrong-password")),
                         description="bad login")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.first_paint.wait()
        status = app.screen.query_one("#status")
        await wait_until(pilot, lambda: "bad login:" in str(status.render()))
        assert "BrokerRefused" in str(status.render()), str(status.render())


def test_watch_logs_in_with_the_credentials_a_run_wrote_here(tmp_path, monkeypatch):
    from persona_arena.commands.tui import watch_login

    monkeypatch.chdir(tmp_path)
    assert watch_login(None, god=False) is None  # nothing written here: an anonymous login
    credentials = Credentials.generate()
    credentials.save(Path("transcripts/mqtt/credentials.json"))  # as `arena tournament run` writes it
    assert watch_login(None, god=False) == credentials.login(SPECTATOR_USER)
    assert watch_login(None, god=True) == credentials.login(ADMIN_USER)
    assert watch_login("someone:secret-pw", god=False).username == "someone"
