"""`Event.stamp` builds events without pydantic's per-field bookkeeping (it runs for every
event of every game): it must give exactly the event `model_construct` and validation give."""

from datetime import datetime, timezone

import pytest

from persona_arena.core.events import EVENT_SCHEMA, Event, EventDraft

TS = datetime(2026, 11, 23, 16, 0, 0, 123456, tzinfo=timezone.utc)
DRAFTS = [
    EventDraft(type="party.message", actor="party-1", visible_to="public", payload={"text": "hi", "n": [1, 2]}),
    EventDraft(type="game.setup", payload={"scenario": {"issues": []}, "nan": float("inf")}),
    EventDraft(type="party.scratchpad", actor="party-2", visible_to=["party-2"], payload={}),
]


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: d.type)
def test_stamp_equals_model_construct_and_validation(draft):
    stamped = Event.stamp(draft, run_id="run", session_id="s-1", seq=7, ts=TS)
    constructed = Event.model_construct(schema_=EVENT_SCHEMA, run_id="run", session_id="s-1", seq=7, ts=TS,
                                        type=draft.type, actor=draft.actor, visible_to=draft.visible_to,
                                        payload=draft.payload)
    assert stamped == constructed
    assert stamped.model_fields_set == constructed.model_fields_set
    assert stamped.to_json() == constructed.to_json()
    assert Event.from_json(stamped.to_json()) == Event.from_json(constructed.to_json())
    assert stamped.schema_ == EVENT_SCHEMA and stamped.visible_for("party-2") == draft.visible_for("party-2")
    with pytest.raises(Exception):  # still frozen
        stamped.seq = 8  # type: ignore[misc]


def test_stamp_without_a_time_uses_now_in_utc():
    before = datetime.now(timezone.utc)
    event = Event.stamp(DRAFTS[0], run_id="r", session_id="s", seq=0)
    assert before <= event.ts <= datetime.now(timezone.utc) and event.ts.tzinfo is not None
