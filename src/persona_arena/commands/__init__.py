"""Command groups of `arena` that live in their own modules.

Each module has `register(app)`, called from `persona_arena.cli`; shared helpers (consoles,
`fail`, common options) are in `persona_arena.commands.support`.
"""
