"""Secrets from the environment never reach logs, events or exports.

Provider errors sometimes quote what was sent (an Authorization header, a URL with a key), and
agent failures are recorded in the event log. Every value of an environment variable whose name
marks it as a secret is masked wherever the server writes free text it did not compose itself.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$|^AWS_SECRET", re.I)
MASK = "[secret]"
MIN_SECRET_CHARS = 8  # shorter values ("1", "true") would mask ordinary text


@lru_cache(maxsize=8)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def secret_values(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    environ = dict(os.environ) if environ is None else environ
    return tuple(sorted({v.strip() for k, v in environ.items()
                         if SECRET_NAME.search(k) and len(v.strip()) >= MIN_SECRET_CHARS}))


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """`text` with every secret value from the environment replaced by `[secret]`."""
    pattern = _pattern(secret_values(environ))
    return text if pattern is None or not text else pattern.sub(MASK, text)
