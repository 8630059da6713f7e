"""Vocabulary shared by every part: events, observations, replies, agent specs. No I/O here."""
