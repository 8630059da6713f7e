"""The `human` agent's Textual turn screen: a form from the turn's schema, driven by Pilot."""

import json

from textual.widgets import Input, Select, SelectionList, Switch

from helpers import play
from persona_arena.agents.human import HumanAgent
from persona_arena.core.observations import Message, Observation, Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.negotiation.config import NegotiationConfig
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.tui.human import HumanTurnApp


def first_observation(config, turn: str):
    captured = []

    def reply(obs):
        captured.append(obs)
        raise StopIteration

    try:
        play(config, 3, reply)
    except StopIteration:
        pass
    obs = captured[0]
    assert obs.turn == turn
    return obs


async def test_a_negotiation_turn_is_a_form_and_sends_valid_json():
    scripted = AgentSpec(model="scripted")
    config = NegotiationConfig(parties=[{"agent": scripted}, {"agent": scripted}], scenario="salary-package")
    obs = first_observation(config, "negotiate")  # the Employer opens: it must propose
    app = HumanTurnApp(obs)
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one("#f-scratchpad", Input).value = "Open low, keep remote days."
        app.query_one("#f-message", Input).value = "Here is our offer."
        app.query_one("#f-action", Select).value = json.dumps("propose")
        for issue, option in {"salary": "65k", "start": "1m", "remote": "1", "training": "1k"}.items():
            app.query_one(f"#f-proposal-{issue}", Select).value = json.dumps(option)
        await pilot.press("ctrl+s")
    reply = json.loads(app.return_value)
    assert reply == {"scratchpad": "Open low, keep remote days.", "message": "Here is our offer.",
                     "action": "propose",
                     "proposal": {"salary": "65k", "start": "1m", "remote": "1", "training": "1k"}}
    # the game takes it as a legal move
    from persona_arena.games.negotiation.game import Negotiation
    game = Negotiation()
    start = game.setup(config, 3)
    events = game.apply(start.state, obs.player, Reply(text=app.return_value))
    assert [e.type for e in events if e.type.startswith("proposal.made")] == ["proposal.made"]


async def test_a_judge_verdict_and_an_ask_turn():
    scripted = AgentSpec(model="scripted")
    config = ReverseTuringConfig(judge=scripted, foils=[scripted], rounds=2)
    obs = first_observation(config, "ask")
    app = HumanTurnApp(obs)
    names = obs.reply_schema["properties"]["to"]["items"]["enum"]
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one("#f-message", Input).value = "What did you dream about?"
        app.query_one("#f-to", SelectionList).select(names[1])
        await pilot.click("#send")
    assert json.loads(app.return_value) == {"message": "What did you dream about?", "to": [names[1]]}

    verdict = Observation(game="reverse-turing", player="judge", role="judge", turn="verdict", turn_number=1,
                          instructions="Find your twin.", messages=[Message(role="user", content="Answers: …")],
                          reply_schema={"type": "object", "properties": {
                              "rationale": {"type": "string"},
                              "probabilities": {"type": "object", "properties": {
                                  "Alice": {"type": "number"}, "Bob": {"type": "number"}}},
                              "guess": {"enum": ["Alice", "Bob", None]},
                              "sure": {"type": "boolean"}}})
    app = HumanTurnApp(verdict)
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one("#f-probabilities-Alice", Input).value = "0.7"
        app.query_one("#f-probabilities-Bob", Input).value = "lots"  # passed on: the game decides
        app.query_one("#f-guess", Select).value = json.dumps(None)
        app.query_one("#f-sure", Switch).value = True
        await pilot.press("ctrl+s")
    assert json.loads(app.return_value) == {"rationale": "", "probabilities": {"Alice": 0.7, "Bob": "lots"},
                                            "guess": None, "sure": True}


async def test_free_text_turns_and_quitting():
    obs = Observation(game="reverse-turing", player="candidate-1", role="candidate", turn="answer", turn_number=0,
                      instructions="Answer the interviewer.", messages=[Message(role="user", content="Hi?")])
    app = HumanTurnApp(obs)
    async with app.run_test() as pilot:
        app.query_one("#f-reply", Input).value = "Hello, I like tea."
        await pilot.press("ctrl+s")
    assert app.return_value == "Hello, I like tea."

    agent = HumanAgent(AgentSpec(model="human"), 0, ui="tui")
    app = HumanTurnApp(obs)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+q")
    assert app.return_value is None  # the agent turns this into a failure: a forfeited turn
    assert agent.ui == "tui"
