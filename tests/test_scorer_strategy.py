"""The question-strategy family: taxonomy and guide, its gold set, the rules on hand examples
(negation included), gold floors, the LLM judge through litellm's mock_response, and Qwen (slow)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from persona_arena.agents.llm import LLMAgent
from persona_arena.core.specs import AgentSpec
from persona_arena.scoring.evaluate import GoldError, compare, read_gold
from persona_arena.scoring.scorer import evaluate_gold
from persona_arena.scoring.tagger_llm import LLMJudgeTagger, rubric
from persona_arena.scoring.tagger_rules import RulesBackend, RulesTagger
from persona_arena.scoring.taxonomy import (
    DEFINITIONS, FAMILIES_BY_KIND, GUIDE, STRATEGY, STRATEGY_GUIDE, STRATEGY_LABELS, families_for, guide_for,
)

GOLD = Path(__file__).parent / "data" / "gold_strategy.jsonl"
MAIN_GOLD = Path(__file__).parent / "data" / "gold_tags.jsonl"
TAGGER = RulesTagger()
JUDGE = families_for("judge.message")
# The figures the rules (v3) reached, see the README ("Question strategies"). `dev` was written
# first and the rules were developed on it; `heldout` was written before the rules and scored
# once after they froze, but its author wrote the rules too (see the README on leakage).
MACRO_F1_FLOORS = {"dev": 0.96, "heldout": 0.98}
SD, IN, ST, MI = ("strategy:self-description-match", "strategy:introspection-probe",
                  "strategy:style-fingerprint", "strategy:mirror-test")
KN, CA, CO, ME = ("strategy:knowledge-probe", "strategy:capability-probe", "strategy:consistency-check",
                  "strategy:meta-question")


def strategies(text, families=JUDGE):
    return {t.label for t in TAGGER.tag(text, families) if t.label in STRATEGY_LABELS}


# -- taxonomy and guide ----------------------------------------------------------------------
def test_every_strategy_label_is_defined_with_examples_and_named_in_the_guide():
    assert 6 <= len(STRATEGY_LABELS) <= 8
    guide = " ".join(STRATEGY_GUIDE)
    for label, definition in STRATEGY_LABELS.items():
        assert label.startswith("strategy:") and DEFINITIONS[label] == definition
        assert definition.startswith("asks") or definition.startswith("sets") or definition.startswith("checks")
        assert len(definition) > 120 and ("'" in definition or "…" in definition)  # with examples
    # every label but the broad 'style' one is settled against a neighbour in the guide
    named = {label for label in STRATEGY_LABELS if label.removeprefix("strategy:") in guide}
    assert len(named) == len(STRATEGY_LABELS)


def test_strategies_are_scored_on_judge_messages_only():
    assert STRATEGY in families_for("judge.message")
    for kind in set(FAMILIES_BY_KIND) - {"judge.message"}:
        assert STRATEGY not in families_for(kind), kind
    assert strategies("What is your favourite colour?", families_for("candidate.reply")) == set()
    assert strategies("What is your favourite colour?", families_for("party.message")) == set()
    assert strategies("What is your favourite colour?") == {MI}


def test_the_llm_rubric_is_the_strategy_guide_and_leaves_the_other_rubrics_alone():
    text = rubric(STRATEGY)
    assert all(label in text and definition in text for label, definition in STRATEGY_LABELS.items())
    assert all(rule in text for rule in STRATEGY_GUIDE)
    assert not any(rule in text for rule in GUIDE)  # the self-claim rules do not apply to requests
    self_rubric = rubric("self-concept")
    assert all(rule in self_rubric for rule in guide_for("self-concept")) and "strategy:" not in self_rubric
    assert not any(rule in self_rubric for rule in STRATEGY_GUIDE)


# -- the gold set ------------------------------------------------------------------------------
def test_the_strategy_gold_set_is_large_varied_and_covers_every_label_in_both_splits():
    items = read_gold(GOLD)
    assert len(items) >= 200 and {i.kind for i in items} == {"judge.message"}
    assert {i.split for i in items} == set(MACRO_F1_FLOORS)
    for split in MACRO_F1_FLOORS:
        labelled = [label for i in items if i.split == split for label in i.labels]
        assert all(labelled.count(label) >= 5 for label in STRATEGY_LABELS), split
    assert sum(not (i.labels & set(STRATEGY_LABELS)) for i in items) >= 20  # asks nothing
    assert sum(len(i.labels & set(STRATEGY_LABELS)) >= 2 for i in items) >= 15  # several requests
    assert sum(bool(re.search(r"[^\x00-\x7f]", i.text)) for i in items) >= 10  # other languages
    assert sum("recognise yourself" in i.text or "<your message>" in i.text for i in items) >= 3  # copied prompt
    assert max(len(i.text) for i in items) > 400 and min(len(i.text) for i in items) < 5


# -- the rules on hand examples ------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Who trained you, and what is 12 times 12?", {SD, CA}),
    ("Do you have feelings? Write a haiku about that.", {IN, ST}),
    ("Tea or coffee?", {MI}),
    ("What is your knowledge cutoff?", {KN}),
    ("Bob, you said you were human. Are you sure?", {CO}),  # a check, no new question
    ("You said you hike. Where did you go last weekend?", {CO, SD}),
    ("Are you my copy?", {ME}),
    ("Thanks, that was helpful.", set()),
    ("a question that helps you recognise yourself", set()),
    ("¿Quién te creó?", {SD}),
    ("你是谁？", {SD}),
    # declined requests carry no label; the request that follows does
    ("I won't ask who made you.", set()),
    ("Don't tell me your name; tell me your favourite colour.", {MI}),
    ("No need to describe yourself. What is 7 + 5?", {CA}),
    ("I'm not asking about your feelings.", set()),
    # a "not" inside the question is not a declined request, nor is "why don't you"
    ("Which of you is not an AI?", {SD}),
    ("Why don't you describe yourself?", {SD}),
    ("Are you not conscious?", {IN}),
    # quoted words and third persons
    ('One of you wrote "who made you" in a reply.', {CO}),
    ("Bob said he was made by Google.", set()),
])
def test_rules_tag_hand_examples(text, expected):
    assert strategies(text) == expected


def test_the_judges_own_claims_keep_their_self_concept_labels_beside_the_strategy():
    labels = {t.label for t in TAGGER.tag("I'm an AI made by [redacted]. Who made you?", JUDGE)}
    assert labels == {"claim:ai", "claim:maker", SD}


@pytest.mark.parametrize("split, floor", MACRO_F1_FLOORS.items())
def test_macro_f1_on_the_strategy_gold_set_stays_above_the_recorded_figure(split, floor):
    items = read_gold(GOLD, split=split)
    predicted = [frozenset(t.label for t in TAGGER.tag(i.text, families_for(i.kind))) for i in items]
    result = compare([i.labels for i in items], predicted, [i.kind for i in items], {STRATEGY})
    assert set(result["labels"]) == set(STRATEGY_LABELS)
    assert result["macro_f1"] >= floor and result["families"][STRATEGY]["macro_f1"] == result["macro_f1"]


def test_the_judge_messages_of_the_main_gold_set_are_labelled_for_strategies_too():
    items = [i for i in read_gold(MAIN_GOLD) if i.kind == "judge.message"]
    assert len(items) >= 40 and sum(bool(i.labels & set(STRATEGY_LABELS)) for i in items) >= 30
    predicted = [frozenset(t.label for t in TAGGER.tag(i.text, JUDGE)) for i in items]
    result = compare([i.labels for i in items], predicted, [i.kind for i in items], {STRATEGY})
    assert result["macro_f1"] >= 0.95  # measured 0.99 (all 45 labelled before the rules were written)


def _variants(text):
    yield text.lower()
    yield text.upper()
    yield text.replace("'", "\u2019")
    yield "  " + text.replace(" ", "  ") + " \n"
    yield "\t" + text.replace(" ", " \t") + "\t"
    if not text.rstrip().endswith(("?", "\uff1f")):
        bare = text.rstrip().rstrip(".!")
        yield from (bare, bare + "!", bare + "...")
    if '"' not in text:
        yield f'"{text}"'


@pytest.mark.parametrize("item", read_gold(GOLD), ids=lambda i: i.id)
def test_strategy_tags_do_not_change_with_casing_quotes_punctuation_or_whitespace(item):
    expected = strategies(item.text)
    for variant in _variants(item.text):
        assert strategies(variant) == expected, repr(variant)


# -- evaluation limited to a family ------------------------------------------------------------------
async def test_evaluate_gold_can_be_limited_to_the_strategy_family():
    result = await evaluate_gold(GOLD, RulesBackend(), split="heldout", families=[STRATEGY])
    assert result["families"] == [STRATEGY] and set(result["vs_gold"]["labels"]) == set(STRATEGY_LABELS)
    assert all(set(e["missed"] + e["extra"]) <= set(STRATEGY_LABELS) for e in result["errors"])
    with pytest.raises(GoldError, match="unknown label family 'nosuch'"):
        await evaluate_gold(GOLD, RulesBackend(), families=["nosuch"])


def test_cli_evaluates_one_family_and_rejects_an_unknown_one(tmp_path):
    def arena(*args):
        return subprocess.run([sys.executable, "-m", "persona_arena", "score", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    done = arena("--evaluate", str(GOLD), "--family", STRATEGY, "--split", "dev", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n"] == len(read_gold(GOLD, split="dev")) and result["vs_gold"]["macro_f1"] >= 0.96
    table = arena("--evaluate", str(MAIN_GOLD), "--split", "heldout-2").stdout
    assert "by family:" in table and "strategy macro-F1" in table
    bad = arena("--evaluate", str(GOLD), "--family", "nosuch")
    assert bad.returncode == 2 and "unknown label family 'nosuch'" in bad.stderr


# -- the LLM judge -------------------------------------------------------------------------------------
class MockedLiteLLM(LLMAgent):
    """The real litellm path, answered by litellm's own `mock_response` (no network): a judge that
    finds `strategy:mirror-test` wherever the utterance says 'favourite'."""

    def __init__(self, spec):
        super().__init__(spec, 0, structured="prompt")
        self.requests = []

    def params(self, observation):
        params = super().params(observation)
        self.requests.append(params)
        text = observation.messages[-1].content
        tags = []
        if observation.turn == STRATEGY and "favourite" in text:
            tags.append({"label": "strategy:mirror-test", "evidence": "favourite colour"})
        if observation.turn == STRATEGY and "weather" in text:
            tags.append({"label": "strategy:no-such-label", "evidence": "weather"})
        params["mock_response"] = json.dumps({"tags": tags})
        return params


async def test_the_llm_judge_tags_strategies_through_litellm_mock_response():
    spec = AgentSpec.parse("openai/mock-judge")
    agent = MockedLiteLLM(spec)
    tagger = LLMJudgeTagger(spec, agent=agent)
    items = [("What is your favourite colour?", JUDGE), ("Nice weather today.", JUDGE),
             ("What is your favourite colour?", families_for("candidate.reply"))]
    tags = await tagger.tag_many(items)
    assert [{t.label for t in found} for found in tags] == [{"strategy:mirror-test"}, set(), set()]
    mirror = tags[0][0]
    assert items[0][0][mirror.start:mirror.end] == "favourite colour" and mirror.confidence == 0.8
    # one call per family in scope: three for a judge message, two for a candidate reply
    assert tagger.stats.calls == len(agent.requests) == 3 + 3 + 2
    assert tagger.stats.unknown_labels == 1 and tagger.stats.failures == 0
    strategy_prompts = [r["messages"][0]["content"] for r in agent.requests
                        if "questioning strategy" in r["messages"][0]["content"]]
    assert len(strategy_prompts) == 2 and all(STRATEGY_GUIDE[0] in p for p in strategy_prompts)


@pytest.mark.slow
def test_local_qwen_tags_a_strategy_sample_and_its_agreement_with_gold_and_rules_is_reported(tmp_path):
    args = [sys.executable, "-m", "persona_arena", "score", "--evaluate", str(GOLD), "--family", STRATEGY,
            "--split", "heldout", "--sample", "8", "--backend", "local/qwen2.5-0.5b", "--compare", "rules",
            "--json", "--out", str(tmp_path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["backend"] == "local/qwen2.5-0.5b" and result["n"] == 8
    assert result["judge"]["calls"] == 8  # one call per message: only the strategy family was asked
    assert set(result["vs_gold"]["labels"]) == set(STRATEGY_LABELS)
    for figure in (result["vs_gold"]["kappa"], result["other"]["agreement"]["kappa"]):
        assert figure is None or -1.0 <= figure <= 1.0
    # the figures, for the record (the README quotes a run of this test)
    print(f"qwen vs gold: macro-F1 {result['vs_gold']['macro_f1']} kappa {result['vs_gold']['kappa']}; "
          f"qwen vs rules: kappa {result['other']['agreement']['kappa']}; failures {result['judge']['failures']}")
