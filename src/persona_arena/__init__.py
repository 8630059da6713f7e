"""persona-arena: a game server for research on the identity and motivations of LLM personas."""

__version__ = "0.1.0"
