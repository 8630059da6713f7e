"""The async runner with the real SQLite store: ordering, failures, round trips."""

import asyncio
import json

from helpers import SCRIPTED, ListAgent, config
from persona_arena.agents.registry import create_agent
from persona_arena.core.events import Event
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.runner import run_session
from persona_arena.transcripts.jsonl import read_jsonl, write_jsonl

SCRIPTED_CONFIG = ReverseTuringConfig(judge=SCRIPTED, foils=[SCRIPTED, SCRIPTED], rounds=4)


async def test_scripted_session_is_recorded_gapless_and_ends(store):
    result = await run_session(ReverseTuring(), SCRIPTED_CONFIG, 11, store=store, run_id="r1", agent_factory=create_agent)
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    events = await store.events(result.session_id)
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[0].type == "game.setup" and events[-1].type == "game.outcome"
    assert {e.run_id for e in events} == {"r1"}
    # Every agent call is in the log: a request, then the raw reply.
    requests = [e for e in events if e.type == "turn.request"]
    assert len(requests) == len([e for e in events if e.type == "agent.reply"]) > 0
    (session,) = await store.sessions("r1")
    assert session.status == "finished" and session.outcome == result.outcome
    assert (await store.runs())[0]["status"] == {"finished": 1}


async def test_replaying_into_the_same_database_gets_a_new_session_id(store):
    a = await run_session(ReverseTuring(), SCRIPTED_CONFIG, 1, store=store, run_id="r", agent_factory=create_agent)
    b = await run_session(ReverseTuring(), SCRIPTED_CONFIG, 1, store=store, run_id="r", agent_factory=create_agent)
    assert b.session_id == a.session_id + "-2"
    strip = lambda evs: [e.model_dump(exclude={"ts", "session_id"}) for e in evs]  # noqa: E731
    assert strip(await store.events(a.session_id)) == strip(await store.events(b.session_id))


class SlowAgent(ListAgent):
    async def act(self, observation):
        await asyncio.sleep(10)


async def test_agent_errors_and_timeouts_forfeit_turns_and_the_game_still_ends(store):
    def factory(spec, seed):
        if spec.model == "local/qwen2.5-0.5b":
            # the judge's first ask goes out; every later call (the twin's too) fails
            return ListAgent(spec, ['{"message": "hello?", "to": "all"}', RuntimeError("provider exploded")])
        if spec.model == "local/gemma-3-270m":
            return SlowAgent(spec, ["never"])
        return create_agent(spec, seed)
    result = await run_session(ReverseTuring(), config(rounds=2), 3, store=store, run_id="r",
                               turn_timeout=0.05, agent_factory=factory)
    assert result.status == "finished" and result.outcome["result"] == "no-guess"
    events = await store.events(result.session_id)
    failures = [e.payload["failure"] for e in events if e.type == "agent.reply" and e.payload["failure"]]
    assert any("provider exploded" in f for f in failures)
    assert any("timeout" in f for f in failures)
    kinds = {e.payload["kind"] for e in events if e.type == "rule.violation"}
    assert {"agent_failure", "turn_forfeited"} <= kinds


async def test_stop_interrupts_an_agent_call_in_progress_and_keeps_the_partial_log(store):
    stop = asyncio.Event()

    def factory(spec, seed):
        if spec.model == "local/gemma-3-270m":  # a foil that never answers in time
            return SlowAgent(spec, ["never"])
        return create_agent(spec, seed)

    async def press_ctrl_c():
        while not any(e.type == "turn.request" for e in await store.events("stop-me")):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # several turns in: the slow foil's call is in progress
        stop.set()

    game_config = config(rounds=2, judge=SCRIPTED)
    pressing = asyncio.create_task(press_ctrl_c())
    result = await asyncio.wait_for(
        run_session(ReverseTuring(), game_config, 2, store=store, run_id="r", session_id="stop-me",
                    agent_factory=factory, stop=stop), 5)  # long before the slow foil's 10 s
    await pressing
    assert result.status == "abandoned" and result.error == "interrupted"
    (session,) = await store.sessions("r")
    assert session.status == "abandoned"
    events = await store.events("stop-me")
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[-1].type == "turn.request"  # the call that was interrupted, with no reply
    # The interruption is the runner's own: the task carries no pending cancellation after it.
    assert asyncio.current_task().cancelling() == 0
    await asyncio.sleep(0)


async def test_stop_before_the_game_starts_plays_no_turn(store):
    stop = asyncio.Event()
    stop.set()
    result = await run_session(ReverseTuring(), SCRIPTED_CONFIG, 0, store=store, run_id="r",
                               agent_factory=create_agent, stop=stop)
    assert result.status == "abandoned"
    assert not [e for e in await store.events(result.session_id) if e.type == "agent.reply"]


async def test_cancelling_the_caller_is_not_mistaken_for_a_stop(store):
    def factory(spec, seed):
        return SlowAgent(spec, ["never"]) if spec.model == "local/gemma-3-270m" else create_agent(spec, seed)
    task = asyncio.create_task(run_session(ReverseTuring(), config(rounds=2, judge=SCRIPTED), 2, store=store,
                                           run_id="r", agent_factory=factory, stop=asyncio.Event()))
    await asyncio.sleep(0.3)
    task.cancel()
    try:
        await task
        raise AssertionError("the cancellation was swallowed")
    except asyncio.CancelledError:
        pass


async def test_a_game_bug_marks_the_session_failed_without_raising(store):
    class Broken(ReverseTuring):
        def apply(self, state, player, reply):
            raise ZeroDivisionError("bug")
    result = await run_session(Broken(), SCRIPTED_CONFIG, 0, store=store, run_id="r", agent_factory=create_agent)
    assert result.status == "failed" and "ZeroDivisionError" in result.error
    (session,) = await store.sessions("r")
    assert session.status == "failed"


async def test_jsonl_round_trip_and_validation(store, tmp_path):
    result = await run_session(ReverseTuring(), SCRIPTED_CONFIG, 5, store=store, run_id="r", agent_factory=create_agent)
    events = await store.events(result.session_id)
    path = write_jsonl(events, tmp_path / "s.jsonl")
    assert read_jsonl(path) == events
    first = json.loads(path.read_text().splitlines()[0])
    assert list(first)[:5] == ["schema", "run_id", "session_id", "seq", "ts"]
    assert first["schema"] == "persona-arena/event@1"

    lines = path.read_text().splitlines()
    (tmp_path / "gap.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    (tmp_path / "bad.jsonl").write_text(lines[0] + "\n{\"schema\": 1}\n")
    for name, fragment in (("gap.jsonl", "gapless"), ("bad.jsonl", ":2:")):
        try:
            read_jsonl(tmp_path / name)
        except ValueError as err:
            assert fragment in str(err)
        else:
            raise AssertionError(f"{name} was accepted")


def test_event_schema_describes_the_contract_fields():
    schema = Event.model_json_schema(by_alias=True)
    assert {"schema", "run_id", "session_id", "seq", "ts", "type", "actor", "visible_to", "payload"} <= set(
        schema["properties"])


async def test_concurrent_sessions_of_a_new_run_share_it(store):
    results = await asyncio.gather(*(
        run_session(ReverseTuring(), SCRIPTED_CONFIG, seed, store=store, run_id="fresh", agent_factory=create_agent)
        for seed in range(6)))
    assert {r.status for r in results} == {"finished"}
    assert (await store.runs())[0]["sessions"] == 6


async def test_usage_by_run_sums_every_agent_reply(store):
    from persona_arena.core.specs import AgentSpec

    class Paid(ListAgent):
        async def act(self, observation):
            response = await super().act(observation)
            response.usage.update(prompt_tokens=10, completion_tokens=5, cost_usd=0.001)
            return response

    judge = AgentSpec.parse("scripted;seed=1")
    paid = lambda spec, seed: Paid(spec, ["Hello there."]) if spec.canonical() == "eliza" else create_agent(spec, seed)
    cfg = ReverseTuringConfig(judge=judge, foils=[AgentSpec(model="eliza")], rounds=1)
    results = [await run_session(ReverseTuring(), cfg, seed, store=store, run_id="paid", agent_factory=paid)
               for seed in range(3)]
    answers = 0
    for r in results:
        answers += sum(1 for e in await store.events(r.session_id)
                       if e.type == "agent.reply" and e.payload["usage"].get("cost_usd"))
    usage = (await store.usage_by_run())["paid"]
    assert answers > 0
    assert usage["tokens"] == 15 * answers and abs(usage["cost_usd"] - 0.001 * answers) < 1e-9


async def test_a_failed_last_write_marks_the_session_failed_whether_or_not_the_slot_waited(store, monkeypatch):
    # Without waiting for the commit, the game's slot is free before its last turn is stored;
    # the session must still end failed, not finished, when that write fails.
    original = type(store)._transaction

    async def refuse_the_outcome(self, writes):
        if any(kind == "events" and any(event.type == "game.outcome" for event in rows) for kind, rows in writes):
            raise RuntimeError("disk full")
        await original(self, writes)

    monkeypatch.setattr(type(store), "_transaction", refuse_the_outcome)
    for seed, wait in ((1, True), (2, False)):
        result = await run_session(ReverseTuring(), SCRIPTED_CONFIG, seed, store=store, run_id="r",
                                   agent_factory=create_agent, wait_for_commit=wait)
        if not wait:
            assert result.status == "finished" and not result.committed.done()  # returned before the commit
            await result.committed
        assert result.status == "failed" and "disk full" in result.error and result.events == []
        (session,) = [s for s in await store.sessions("r") if s.id == result.session_id]
        assert session.status == "failed" and "disk full" in session.error
        events = await store.events(result.session_id)
        assert events and events[-1].type != "game.outcome"


async def test_without_waiting_for_the_commit_the_result_completes_when_stored(store):
    result = await run_session(ReverseTuring(), SCRIPTED_CONFIG, 3, store=store, run_id="r",
                               agent_factory=create_agent, wait_for_commit=False)
    await result.committed
    assert result.status == "finished"
    events = await store.events(result.session_id)
    assert [e.seq for e in result.events] == [e.seq for e in events] and events[-1].type == "game.outcome"
    (session,) = await store.sessions("r")
    assert session.status == "finished" and session.outcome == result.outcome
