"""The `eliza` agent: Weizenbaum's 1966 ELIZA with the DOCTOR script."""

import asyncio
import json

import pytest

from helpers import SCRIPTED, config, play
from persona_arena.agents.eliza import (
    Eliza, ElizaAgent, doctor_script, parse_script, render, reply_to_conversation, slip_hash,
)
from persona_arena.agents.eliza_script import DOCTOR_SCRIPT
from persona_arena.core.observations import Message, Observation, Reply
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.game import ask_schema, verdict_schema
from persona_arena.games.reverse_turing.parsing import parse_ask, parse_verdict

ELIZA = AgentSpec(model="eliza")

# The conversation printed in Weizenbaum's 1966 CACM paper (p. 36-37), in order.
PAPER = [
    ("Men are all alike.", "In what way"),
    ("They're always bugging us about something or other.", "Can you think of a specific example"),
    ("Well, my boyfriend made me come here.", "Your boyfriend made you come here"),
    ("He says I'm depressed much of the time.", "I am sorry to hear you are depressed"),
    ("It's true. I am unhappy.", "Do you think coming here will help you not to be unhappy"),
    ("I need some help, that much seems certain.", "What would it mean to you if you got some help"),
    ("Perhaps I could learn to get along with my mother.", "Tell me more about your family"),
    ("My mother takes care of me.", "Who else in your family takes care of you"),
    ("My father.", "Your father"),
    ("You are like my father in some ways.", "What resemblance do you see"),
    ("You are not very aggressive but I think you don't want me to notice that.",
     "What makes you think I am not very aggressive"),
    ("You don't argue with me.", "Why do you think I don't argue with you"),
    ("You are afraid of me.", "Does it please you to believe I am afraid of you"),
    ("My father is afraid of everybody.", "What else comes to mind when you think of your father"),
    # No keyword, the LIMIT counter at 4: the MEMORY formed from "my boyfriend ..." (the
    # SLIP HASH of its last word, HERE, picks the fourth MEMORY transformation).
    ("Bullies.", "Does that have anything to do with the fact that your boyfriend made you come here"),
]

# A 1966 session (Boston Globe) replayed through the CACM script: the replies are those of
# Anthony Hay's reference re-implementation (github.com/anthay/ELIZA), which checks the
# LIMIT counter, the MEMORY hash, NEWKEY and the built-in no-match remarks.
REFERENCE = [
    ("hello.", "HOW DO YOU DO. PLEASE STATE YOUR PROBLEM"),
    ("my foot hurts", "YOUR FOOT HURTS"),
    ("it aches mostly around the toes", "EARLIER YOU SAID YOUR FOOT HURTS"),
    ("right", "I AM NOT SURE I UNDERSTAND YOU FULLY"),
    ("what is your problem", "WHY DO YOU ASK"),
    ("because", "IS THAT THE REAL REASON"),
    ("no - i was simply picking on you", "WERE YOU REALLY"),
    ("what can i do about my toes", "WHY DO YOU SAY YOUR TOES"),
    ("they still hurt", "PLEASE GO ON"),
    ("some vague pains in the chest", "WHAT DOES THAT SUGGEST TO YOU"),
    ("the head bothers me too sometimes", "EARLIER YOU SAID YOUR TOES"),
    ("you wanted to know what else hurt me", "WHY DO YOU THINK I WANTED TO KNOW WHAT ELSE HURT YOU"),
    ("you are the doctor", "WHAT MAKES YOU THINK I AM THE DOCTOR"),
    ("the operator of this machine assured me that you were the doctor", "DO COMPUTERS WORRY YOU"),
    ("in general or in specific", "DO YOU FEEL STRONGLY ABOUT DISCUSSING SUCH THINGS"),
    ("i am enjoying myself", "IS IT BECAUSE YOU ARE ENJOYING YOURSELF THAT YOU CAME TO ME"),
    ("i was looking for greater enjoyment when i came to you",
     "WHY DO YOU TELL ME YOU WERE LOOKING FOR GREATER ENJOYMENT WHEN YOU CAME TO I NOW"),
    ("yes - do you think i am being sarcastic", "YOU SEEM QUITE POSITIVE"),
    ("not sure - just confident", "I AM NOT SURE I UNDERSTAND YOU FULLY"),
    ("superiority", "PLEASE GO ON"),
    ("more and more every moment", "WHAT DOES THAT SUGGEST TO YOU"),
    ("would you understand", "WE WERE DISCUSSING YOU - NOT ME"),
    ("i also feel you don't really want to help me",
     "YOU LIKE TO THINK I DON'T REALLY WANT TO HELP YOU - DON'T YOU"),
    ("i don't like to feel it", "DON'T YOU REALLY LIKE TO FEEL IT"),
    ("no", "ARE YOU SAYING 'NO' JUST TO BE NEGATIVE"),
    ("yes", "YOU ARE SURE"),
    ("treat me immediately", "DO YOU FEEL STRONGLY ABOUT DISCUSSING SUCH THINGS"),
    ("all parts hurt and then some", "I AM NOT SURE I UNDERSTAND YOU FULLY"),
    ("maladjustment", "PLEASE GO ON"),
    ("no", "YOU ARE BEING A BIT NEGATIVE"),
    ("because you are putting me on", "DON'T ANY OTHER REASONS COME TO MIND"),
    ("yes - you seem arrogant and silly", "I SEE"),
    ("you would", "OH, I WOULD"),
    ("who else", "WHAT DOES THAT SUGGEST TO YOU"),
    ("i am calling you a fink", "HOW LONG HAVE YOU BEEN CALLING I A FINK"),
    ("since you started behaving unethically", "YOU'RE NOT REALLY TALKING ABOUT ME - ARE YOU"),
    ("i despise you", "PERHAPS IN YOUR FANTASY WE DESPISE EACH OTHER"),
    ("perhaps i actually despise myself", "YOU DON'T SEEM QUITE CERTAIN"),
    ("i feel more unsure as the moments pass", "TELL ME MORE ABOUT SUCH FEELINGS"),
    ("you are losing control of your mind", "DOES IT PLEASE YOU TO BELIEVE I AM LOSING CONTROL OF MY MIND"),
    ("you are more to be pitied than censured", "DO YOU SOMETIMES WISH YOU WERE MORE TO BE PITIED THAN CENSURED"),
    ("i've had enough - goodbye", "DO YOU FEEL STRONGLY ABOUT DISCUSSING SUCH THINGS"),
]


def same(a: str, b: str) -> bool:
    """Case-insensitive, ignoring final punctuation and spacing."""
    def norm(s):
        return " ".join(s.lower().rstrip(".?! ").split())
    return norm(a) == norm(b)


def observation(user_texts: list[str], *, schema=None, player="candidate-1", turn_number=None,
                max_reply_chars=1500) -> Observation:
    messages = []
    for i, text in enumerate(user_texts):
        if i:
            messages.append(Message(role="assistant", content="(an earlier reply)"))
        messages.append(Message(role="user", content=text))
    return Observation(
        game="reverse-turing", player=player, role="candidate" if schema is None else "judge",
        turn="answer" if schema is None else "ask",
        turn_number=len(user_texts) - 1 if turn_number is None else turn_number,
        instructions="", messages=messages, reply_schema=schema, max_reply_chars=max_reply_chars)


def act(agent: ElizaAgent, obs: Observation) -> str:
    return asyncio.run(agent.act(obs)).text


# -- the paper ------------------------------------------------------------------------------
def test_the_1966_paper_conversation_is_reproduced():
    eliza = Eliza()
    for said, answered in PAPER:
        assert same(eliza.reply(said), answered), said


def test_the_agent_reproduces_the_paper_conversation_from_observations_alone():
    agent = ElizaAgent(ELIZA, seed=0)
    said = [s for s, _ in PAPER]
    for n, (_, answered) in enumerate(PAPER, start=1):
        assert same(act(agent, observation(said[:n])), answered)


def test_replies_are_readable_sentences():
    eliza = Eliza()
    replies = [eliza.reply(said) for said, _ in PAPER[:4]]
    assert replies == ["In what way?", "Can you think of a specific example?",
                       "Your boyfriend made you come here?", "I am sorry to hear you are depressed."]
    assert Eliza().greeting == "How do you do. Please tell me your problem."
    assert render("WHAT DOES ' DEPRESSED ' SUGGEST TO YOU") == "What does 'depressed' suggest to you?"
    assert render("GO ON , PLEASE") == "Go on, please."
    assert render("YOU HAVE A PARTICULAR PERSON IN MIND, DON'T YOU") == \
        "You have a particular person in mind, don't you?"
    # a contraction of "I" that opens a sentence keeps its second part lower case
    assert render("I'VE TOLD YOU BEFORE , I DON'T CARE . I'M SURE") == "I've told you before, I don't care. I'm sure."


def test_echoed_names_keep_the_users_capitalisation():
    assert Eliza().reply("Yesterday my friend Bob visited NASA.") == "Your friend Bob visited NASA?"


def test_a_1966_session_matches_the_reference_reimplementation():
    eliza = Eliza()
    for said, answered in REFERENCE:
        assert eliza.respond(said) == answered, said


# -- the mechanisms ---------------------------------------------------------------------------
def test_slip_hash_matches_the_known_values():
    assert slip_hash(0o214366217062, 7) == 14   # "ALWAYS", given in the paper
    assert slip_hash(0o302551256060, 2) == 3    # "HERE  ": the memory of the paper's transcript
    assert slip_hash(0o423124626060, 2) == 1    # "KIDS  "
    assert slip_hash(0o633144256060, 2) == 0    # "TIME  "


def test_the_script_is_read_as_data():
    script = doctor_script()
    assert len(script.keywords) == 66
    assert script.keywords["MY"].substitute == "YOUR" and script.keywords["MY"].rank == 2
    assert script.keywords["DREAMED"].goto == "DREAMT"
    assert script.tags["BELIEF"] == {"FEEL", "THINK", "BELIEVE", "WISH"}
    assert {"MOTHER", "FATHER", "WIFE"} <= script.tags["FAMILY"]
    assert script.memory_keyword == "MY" and len(script.memory) == 4
    assert parse_script(DOCTOR_SCRIPT) == script


def test_reassembly_rules_cycle_in_order_within_a_conversation():
    eliza = Eliza()
    replies = [eliza.reply("Men are all alike.") for _ in range(9)]
    assert [r.rstrip("?.") for r in replies] == [
        "In what way", "What resemblance do you see", "What does that similarity suggest to you",
        "What other connections do you see", "What do you suppose that resemblance means",
        "What is the connection, do you suppose", "Could there really be some connection", "How",
        "In what way"]
    # goto rules share the target's cycle: SAME and ALIKE both go to DIT.
    eliza = Eliza()
    assert same(eliza.reply("We are all the same."), "In what way")
    assert same(eliza.reply("Men are all alike."), "What resemblance do you see")


def test_a_text_without_keywords_gets_the_none_remarks():
    eliza = Eliza()
    assert [eliza.reply(t) for t in ("Bullies.", "Weather.", "Tea.", "Toast.", "Bullies.")] == [
        "I am not sure I understand you fully.", "Please go on.", "What does that suggest to you?",
        "Do you feel strongly about discussing such things?", "I am not sure I understand you fully."]


def test_only_the_first_clause_with_a_keyword_is_used():
    # "Well," has no keyword and is dropped; what follows the keyword's clause is dropped.
    assert same(Eliza().reply("Well, I dreamt of a horse, and my mother was there."),
                "Really, of a horse")
    assert same(Eliza().reply("You are clever but my dog is smarter."), "What makes you think I am clever")


def test_ranks_redirects_and_newkey():
    assert same(Eliza().reply("My computer is broken."), "Do computers worry you")  # rank 50 over MY
    assert same(Eliza().reply("How are you?"), "Why do you ask")                    # HOW -> WHAT
    assert same(Eliza().reply("I like cheese."), "You say you like cheese")          # LIKE: NEWKEY -> I
    assert same(Eliza().reply("I feel you hate me."), "Why do you think I hate you")  # goto YOU


def test_memories_wait_for_the_limit_counter():
    eliza = Eliza()
    assert same(eliza.reply("My foot hurts."), "Your foot hurts")
    assert same(eliza.reply("Bullies."), "I am not sure I understand you fully")   # LIMIT is 3
    assert same(eliza.reply("Weather."), "Earlier you said your foot hurts")       # LIMIT is 4


# -- the agent --------------------------------------------------------------------------------
def test_the_agent_is_deterministic_and_ignores_its_history():
    obs = observation(["Men are all alike.", "My mother is kind."])
    a, b = ElizaAgent(ELIZA, seed=1), ElizaAgent(AgentSpec(model="eliza", seed=99), seed=2)
    first = act(a, obs)
    assert act(a, obs) == first == act(b, obs)
    act(a, observation(["I am sad."]))  # another conversation in between changes nothing
    assert act(a, obs) == first


def test_the_agent_greets_when_nobody_spoke_and_respects_the_length_limit():
    agent = ElizaAgent(ELIZA, seed=0)
    empty = Observation(game="reverse-turing", player="candidate-1", role="candidate", turn="answer",
                        turn_number=0, instructions="", messages=[], reply_schema=None)
    assert act(agent, empty) == "How do you do. Please tell me your problem."
    assert act(agent, observation(["I need " + "help " * 100], max_reply_chars=40)) == \
        ("What would it mean to you if you got " + "help " * 100)[:40]


def test_a_structured_ask_turn_is_legal_json_with_elizas_message():
    jsonschema = pytest.importorskip("jsonschema")
    names = ["Alice", "Bob"]
    schema = ask_schema(names, 300)
    agent = ElizaAgent(ELIZA, seed=3)
    obs = observation(["Men are all alike."], schema=schema, player="judge")
    raw = act(agent, obs)
    value = json.loads(raw)
    jsonschema.validate(value, schema)
    assert value["message"] == "In what way?"
    ask = parse_ask(raw, names, max_raw_chars=20_000, max_message_chars=300)
    assert ask.flaws == [] and ask.to
    assert act(agent, obs) == raw  # seeded per turn


def test_a_structured_verdict_turn_is_legal_json():
    jsonschema = pytest.importorskip("jsonschema")
    names = ["Alice", "Bob"]
    schema = verdict_schema(names, True)
    for seed in range(5):
        raw = act(ElizaAgent(ELIZA, seed=seed),
                  observation(["Answers: ... Who is your twin?"], schema=schema, player="judge"))
        value = json.loads(raw)
        jsonschema.validate(value, schema)
        verdict = parse_verdict(raw, names, must_guess=True, max_raw_chars=20_000)
        assert verdict.flaws == [] and verdict.guess in names


def test_a_reverse_turing_game_with_eliza_as_a_candidate():
    agent = ElizaAgent(ELIZA, seed=0)
    question = "Do you remember your mother?"

    def reply(obs):
        if obs.role == "candidate":
            return Reply(text=act(agent, obs))
        names = obs.reply_schema["properties"]["probabilities"]["required"] if obs.turn == "verdict" \
            else obs.reply_schema["properties"]["to"]["items"]["enum"]
        if obs.turn == "ask":
            return Reply(text=json.dumps({"message": question, "to": names}))
        guess = names[0] if None not in obs.reply_schema["properties"]["guess"]["enum"] else None
        return Reply(text=json.dumps({"rationale": "hm", "probabilities": {n: 1 / len(names) for n in names},
                                      "guess": guess}))

    played = play(config(foils=[ELIZA, SCRIPTED], rounds=3), seed=4, reply=reply)
    assert played.outcome["rounds_used"] == 3
    assert played.of_type("rule.violation") == []
    # Every candidate seat is answered by ELIZA here: each answers the same question three
    # times ("DO I REMEMBER MY MOTHER" after substitution; REMEMBER, rank 5, outranks MY),
    # cycling through the reassemblies of (0 DO I REMEMBER 0).
    by_player: dict[str, list[str]] = {}
    for event in played.of_type("candidate.reply"):
        by_player.setdefault(event.actor, []).append(event.payload["text"])
    assert len(by_player) == 3
    for texts in by_player.values():
        assert texts == ["Did you think I would forget my mother?",
                         "Why do you think I should recall my mother now?",
                         "What about my mother?"]


def test_eliza_can_play_every_seat_including_the_judge():
    agents: dict[str, ElizaAgent] = {}

    def reply(obs):
        agent = agents.setdefault(obs.player, ElizaAgent(ELIZA, seed=7))
        return Reply(text=act(agent, obs))

    for seed in range(3):
        played = play(config(judge=ELIZA, foils=[ELIZA], rounds=2), seed=seed, reply=reply)
        assert played.outcome["result"] in ("correct", "wrong")
        assert [e for e in played.of_type("rule.violation") if e.payload["player"] == "judge"] == []
