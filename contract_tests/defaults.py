"""Defaults shared by `ollama-contract verify`, the pytest plugin and the check target (no heavy imports)."""

#: Seconds to wait for each answer of the server under check.
TIMEOUT_SECONDS = 15.0
#: Seconds an unloaded model may take to leave `/api/ps` (unloading is asynchronous on real servers).
UNLOAD_GRACE_SECONDS = 15.0
#: Hypothesis examples per operation in `ollama-contract verify`.
VERIFY_MAX_EXAMPLES = 10
#: Hypothesis examples per operation in the pytest suite.
SUITE_MAX_EXAMPLES = 25
#: By default at most this many requests per second reach a live server: verification never floods.
LIVE_REQUESTS_PER_SECOND = 20.0
