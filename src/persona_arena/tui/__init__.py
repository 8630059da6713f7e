"""Textual terminal UI: browse runs, replay transcripts from any perspective, watch live games."""
