"""Defaults shared by `ollama-contract verify`, the pytest plugin and the check target (no heavy imports)."""

#: Seconds to wait for each answer of the server under check.
TIMEOUT_SECONDS = 15.0
#: Seconds an unloaded model may take to leave `/api/ps` (unloading is asynchronous on real servers).
UNLOAD_GRACE_SECONDS = 15.0
#: Hypothesis examples per operation in `ollama-contract verify`.
VERIFY_MAX_EXAMPLES = 10
