"""Imports litellm with the settings this project needs, before anything else imports it."""

import os

# litellm otherwise fetches its model cost map over the network at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

import litellm  # noqa: E402

litellm.telemetry = False
litellm.suppress_debug_info = True

__all__ = ["litellm"]
