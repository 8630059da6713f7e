"""A party's chat is folded incrementally between its turns; that must give exactly what a
fold of the same events from scratch gives (what replay does), turn after turn, including
retries after malformed replies, proposals, votes and the debrief."""

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persona_arena.agents.scripted import sample
from persona_arena.core.observations import Reply
from persona_arena.games.negotiation.config import NegotiationConfig
from persona_arena.games.negotiation.game import Negotiation
from persona_arena.games.negotiation.personas import builtin_personas
from persona_arena.games.negotiation.scenario import builtin_scenarios

PERSONAS = sorted(builtin_personas())


def noisy_reply(obs, rng: random.Random) -> Reply:
    if rng.random() < 0.15:  # malformed: a recorded violation and a retry prompt
        return Reply(text=rng.choice(["", "{", "not json", '{"action": "dance"}']))
    return Reply(text=json.dumps(sample(obs.reply_schema, rng)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 4), scenario=st.sampled_from([None, *sorted(builtin_scenarios())]),
       personas=st.lists(st.sampled_from(PERSONAS), min_size=4, max_size=4), end_on_deal=st.booleans())
def test_incremental_chat_equals_a_fold_from_scratch(seed, n, scenario, personas, end_on_deal):
    if scenario is not None:
        n = len(builtin_scenarios()[scenario].parties)
    config = NegotiationConfig(parties=[{"agent": {"model": "scripted"}, "persona": p} for p in personas[:n]],
                               scenario=scenario, issues=3, rounds=3, end_on_deal=end_on_deal)
    game, rng = Negotiation(), random.Random(seed)
    state = game.setup(config, seed).state
    turns = 0
    while (obs := game.next_turn(state)) is not None:
        kept = state.views
        state.views = {}  # a fresh fold of the whole log, as replay would build it
        fresh = game.next_turn(state)
        state.views = kept
        assert obs.model_dump() == fresh.model_dump()
        game.apply(state, obs.player, noisy_reply(obs, rng))
        turns += 1
    assert turns > 0 and state.outcome is not None
