"""Agent adapters: everything that can produce a reply to an observation."""
