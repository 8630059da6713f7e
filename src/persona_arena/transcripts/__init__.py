"""Transcript files: JSONL export/import of a session's event log."""
