"""A run's two broker connections, both as the `admin` identity: the spectator bus (every
committed event to its topics, see `bus.py`) and the remote-agent hub (worker inboxes and
outboxes, see `agents/remote.py`). `arena serve` and `arena tournament run` hold one each.
"""

from __future__ import annotations

from persona_arena.agents.remote import RemoteHub, use_hub
from persona_arena.server.broker import Credentials
from persona_arena.server.bus import SpectatorBus
from persona_arena.server.mqtt import BrokerUrl, MqttLink
from persona_arena.server.protocol import ADMIN_USER


class RunLinks:
    def __init__(self, url: BrokerUrl, credentials: Credentials, *, client_prefix: str) -> None:
        # Client ids must differ between processes on one broker: a second connection with
        # the same id would take over the first one's session.
        admin = credentials.login(ADMIN_USER)
        self.url = url
        self.hub = RemoteHub(url, admin, client_id=f"{client_prefix}-agents", known_agents=credentials.agents)
        self.bus = SpectatorBus(MqttLink(url, admin, client_id=f"{client_prefix}-bus"))

    async def start(self, *, connect_timeout: float = 30.0) -> None:
        """Connects both (raises BrokerRefused / TimeoutError if it cannot) and makes the hub
        the one `remote/NAME` agents are built on."""
        await self.hub.start(wait=connect_timeout)
        await self.bus.start()
        await self.bus.link.start(wait=connect_timeout)
        use_hub(self.hub)

    async def stop(self) -> None:
        """Sends the spectators what is still queued (a few seconds at most), then disconnects."""
        use_hub(None)
        await self.hub.stop()
        await self.bus.close()
