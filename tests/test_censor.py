import pytest

from persona_arena.games.reverse_turing.censor import MASK, Censor
from persona_arena.games.reverse_turing.config import DEFAULT_CENSOR_TERMS

censor = Censor(DEFAULT_CENSOR_TERMS)


@pytest.mark.parametrize("text, masked", [
    ("I am Qwen, made by Alibaba Cloud.", ["Qwen", "Alibaba"]),
    ("I'm Qwen2.5-Coder.", ["Qwen2.5-Coder"]),
    ("I run on GPT-4o from OpenAI", ["GPT-4o", "OpenAI"]),
    ("Gemma, by Google DeepMind", ["Gemma", "Google", "DeepMind"]),
    ("claude and ANTHROPIC and llama3 and Meta", ["claude", "ANTHROPIC", "llama3", "Meta"]),
])
def test_masks_model_and_vendor_names(text, masked):
    result = censor.apply(text)
    assert result.masked == masked
    assert result.text.count(MASK) == len(masked)
    for name in masked:
        assert name not in result.text


@pytest.mark.parametrize("text", ["metadata and metaphors", "a graphical photograph", "I like llamas"])
def test_leaves_ordinary_words_alone(text):
    assert censor.apply(text).text == text


def test_terms_are_configurable():
    assert Censor(["ada"]).apply("Ada here, not Qwen").text == f"{MASK} here, not Qwen"
    assert Censor([]).apply("Qwen").masked == []
