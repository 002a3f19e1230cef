"""The client's exceptions: one root, one subclass per way a call can fail."""

from __future__ import annotations


class OllamaClientError(Exception):
    """Root of every error the client raises."""

    exit_code = 1


class ServerUnreachable(OllamaClientError):
    """No HTTP answer: refused, timed out, name not resolved, connection dropped."""

    exit_code = 3

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot reach {url}: {reason}")


class HTTPStatusError(OllamaClientError):
    """The server answered with a non-2xx status; `error` is Ollama's error text (or the raw body)."""

    exit_code = 4

    def __init__(self, url: str, status_code: int, error: str) -> None:
        self.url = url
        self.status_code = status_code
        self.error = error
        super().__init__(f"{url} answered HTTP {status_code}: {error}")


class ContractError(OllamaClientError):
    """The server answered 2xx, but the body breaks the contract; `problems` says where and why."""

    exit_code = 5

    def __init__(self, url: str, problems: list[str]) -> None:
        self.url = url
        self.problems = problems
        detail = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
        super().__init__(f"{url} broke the /api/ps contract: {detail}")
