"""structlog setup: readable console lines by default, JSON lines with `--log-json`."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(*, json_lines: bool = False, verbose: bool = False) -> None:
    level = logging.INFO if verbose else logging.WARNING
    renderer = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info if json_lines else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
