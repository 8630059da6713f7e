"""The MQTT wire protocol (contract): topic names and the JSON messages sent on them.

Everything lives under the versioned root `arena/v1/`, so a later incompatible protocol can
run beside this one on the same broker. A third party can speak it from any language: the
README's "The game server on MQTT" section documents every topic and message below.

Topics (who may use them is decided by the broker's ACL, see `server/broker.py`):

    arena/v1/public/<run>/<session>        events whose visible_to is "public"     (spectators read)
    arena/v1/god/<run>/<session>           every event, private channels included  (admin only)
    arena/v1/agents/<name>/inbox           turn and close requests for worker NAME (NAME reads)
    arena/v1/agents/<name>/outbox          NAME's replies                          (NAME writes)
    arena/v1/agents/<name>/status          NAME's presence, retained               (NAME writes)
    arena/v1/server/submit                 runs submitted to the server            (admin only)
    arena/v1/server/results/<submission>   what became of a submission             (admin only)
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from persona_arena.core.events import PUBLIC, Event
from persona_arena.core.observations import Observation

TOPIC_ROOT = "arena/v1"
PUBLIC_FILTER = f"{TOPIC_ROOT}/public/#"
GOD_FILTER = f"{TOPIC_ROOT}/god/#"
OUTBOX_FILTER = f"{TOPIC_ROOT}/agents/+/outbox"
STATUS_FILTER = f"{TOPIC_ROOT}/agents/+/status"
SUBMIT_TOPIC = f"{TOPIC_ROOT}/server/submit"

# QoS 1 everywhere: at-least-once delivery without QoS 2's extra round trip. Receivers
# de-duplicate (events by (session_id, seq), replies by request id).
QOS = 1

ADMIN_USER = "admin"
SPECTATOR_USER = "spectator"
RESERVED_NAMES = frozenset({ADMIN_USER, SPECTATOR_USER, "anonymous"})
# A worker's name is its MQTT username and one topic level: no '/', '+', '#' or spaces.
AGENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

_UNSAFE_LEVEL = re.compile(r"[/+#\x00]")


def check_agent_name(name: str) -> str:
    """Returns `name`, or raises ValueError saying why it cannot name a remote worker."""
    if not AGENT_NAME_RE.match(name):
        raise ValueError(f"remote agent name {name!r} must be 1-64 letters, digits, '_', '.' or '-', "
                         "starting with a letter or digit")
    if name in RESERVED_NAMES:
        raise ValueError(f"remote agent name {name!r} is reserved for the broker's {name} identity")
    return name


def topic_level(text: str) -> str:
    """An id as one topic level: MQTT wildcards and separators become '_' (the payload keeps the id)."""
    return _UNSAFE_LEVEL.sub("_", text) or "_"


def public_topic(run_id: str, session_id: str) -> str:
    return f"{TOPIC_ROOT}/public/{topic_level(run_id)}/{topic_level(session_id)}"


def god_topic(run_id: str, session_id: str) -> str:
    return f"{TOPIC_ROOT}/god/{topic_level(run_id)}/{topic_level(session_id)}"


def agent_topic(name: str, box: Literal["inbox", "outbox", "status"]) -> str:
    return f"{TOPIC_ROOT}/agents/{name}/{box}"


def agent_name_of(topic: str) -> str | None:
    """NAME of `arena/v1/agents/NAME/<box>`, else None."""
    parts = topic.split("/")
    if len(parts) == 5 and "/".join(parts[:3]) == f"{TOPIC_ROOT}/agents":
        return parts[3]
    return None


def result_topic(submission_id: str) -> str:
    return f"{TOPIC_ROOT}/server/results/{topic_level(submission_id)}"


def event_messages(event: Event) -> list[tuple[str, str]]:
    """(topic, payload) pairs for one event, decided by its `visible_to` alone (any game):
    every event goes to the god view, public ones also to the public topic."""
    payload = event.to_json()
    messages = [(god_topic(event.run_id, event.session_id), payload)]
    if event.visible_to == PUBLIC:
        messages.append((public_topic(event.run_id, event.session_id), payload))
    return messages


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TurnRequest(_Message):
    """Server -> worker inbox: answer this observation before `deadline`."""

    schema_: Literal["persona-arena/agent-request@1"] = Field(default="persona-arena/agent-request@1",
                                                                alias="schema")
    type: Literal["turn"] = "turn"
    id: str = Field(description="correlation id; the reply must carry it")
    agent_key: str = Field(description="one player of one session: the worker keeps one agent per key")
    seed: int = Field(description="the session's seed, for seeded agents")
    timeout: float = Field(gt=0, description="seconds the server waits for the reply")
    deadline: float = Field(description="Unix time after which the reply is ignored as late")
    observation: Observation


class CloseRequest(_Message):
    """Server -> worker inbox: the session of `agent_key` is over; drop its agent."""

    schema_: Literal["persona-arena/agent-request@1"] = Field(default="persona-arena/agent-request@1",
                                                                alias="schema")
    type: Literal["close"] = "close"
    agent_key: str


class TurnReply(_Message):
    """Worker outbox -> server: the raw reply (the game judges it), or why there is none."""

    schema_: Literal["persona-arena/agent-reply@1"] = Field(default="persona-arena/agent-reply@1", alias="schema")
    id: str
    text: str | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class WorkerStatus(_Message):
    """Retained on a worker's status topic; the broker publishes `offline` as its last will."""

    schema_: Literal["persona-arena/agent-status@1"] = Field(default="persona-arena/agent-status@1",
                                                               alias="schema")
    name: str
    state: Literal["online", "offline"]
    spec: str | None = None
    ts: float = Field(default_factory=time.time)


class Submission(_Message):
    """Admin -> server: play this tournament (TOML text, the format of `arena tournament run`)."""

    schema_: Literal["persona-arena/submission@1"] = Field(default="persona-arena/submission@1", alias="schema")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    tournament: str
    concurrency: int | None = Field(default=None, ge=1)


class SessionState(_Message):
    session_id: str
    status: str
    error: str | None = None


class SubmissionResult(_Message):
    """Server -> admin: `accepted` (with the run id), then `finished`; or `rejected` with why."""

    schema_: Literal["persona-arena/submission-result@1"] = Field(default="persona-arena/submission-result@1",
                                                                    alias="schema")
    id: str
    state: Literal["accepted", "rejected", "finished"]
    run_id: str | None = None
    planned: int | None = None
    to_play: int | None = None
    error: str | None = None
    offline_agents: list[str] = Field(default_factory=list)
    sessions: list[SessionState] = Field(default_factory=list)


def dump(message: BaseModel) -> str:
    return message.model_dump_json(by_alias=True)
