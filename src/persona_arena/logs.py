"""structlog setup: readable console lines by default, JSON lines with `--log-json`.

Every rendered line passes through `redact`, so a secret from the environment quoted in an
error never reaches the log. Lines go to whatever `sys.stderr` is at the time of writing (tests
and CLI runners swap it).
"""

from __future__ import annotations

import logging
import sys

import structlog

from persona_arena.core.secrets import redact


class _CurrentStderr:
    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_configured: dict[str, bool] | None = None


def configured() -> dict[str, bool] | None:
    """The arguments of the last `configure` call (a worker process repeats it), or None."""
    return _configured


def configure(*, json_lines: bool = False, verbose: bool = False) -> None:
    global _configured
    _configured = {"json_lines": json_lines, "verbose": verbose}
    level = logging.INFO if verbose else logging.WARNING
    render = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(
        # plain: a failing game's locals hold whole event logs, and colour codes inside a
        # message would split a secret so that it could not be masked
        exception_formatter=structlog.dev.plain_traceback)

    def renderer(logger, method, event_dict):
        return redact(render(logger, method, event_dict))

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info if json_lines else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),
        cache_logger_on_first_use=False,
    )
