"""The contract suite against the in-process mock (or against --ollama-url when one is given)."""

from ollama_contract_kit.contract_tests.suite import *  # noqa: F403
