"""The app factory: a Flask app that answers like Ollama, from a world of fixture models."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from .config import MockConfig
from .control import control_routes
from .native.cloud import cloud_routes
from .native.embeddings import embedding_routes
from .native.inference import inference_routes
from .native.management import management_routes
from .native.routes import ollama_routes
from .native.show import show_routes
from .native.transfers import transfer_routes
from .openai.messages import messages_routes
from .openai.responses import responses_routes
from .openai.routes import openai_routes
from .openai.transcriptions import transcription_routes
from .serving.body_limit import apply_body_limit
from .serving.broken import dropped, truncated
from .serving.encoding import go_json
from .serving.fast_path import fast_ps
from .serving.pipeline import DROP_CONNECTION, TRUNCATE_AT, install_pipeline
from .serving.responses import JSON_TYPE, error_response, too_large_text
from .state import MockState

#: Every family of Ollama's routes, native and /v1 (the control API is added apart: it can be left out).
ROUTE_FAMILIES = (
    ollama_routes,
    inference_routes,
    show_routes,
    embedding_routes,
    transfer_routes,
    management_routes,
    openai_routes,
    responses_routes,
    messages_routes,
    transcription_routes,
    cloud_routes,
)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ExactMethodsRule(Rule):
    """A rule that answers HEAD only when asked to: gin does not add HEAD to GET routes."""

    def __init__(self, string: str, methods: Iterable[str] | None = None, **options: Any) -> None:
        asked_for_head = methods is not None and "HEAD" in {method.upper() for method in methods}
        super().__init__(string, methods=methods, **options)
        if not asked_for_head and self.methods is not None:
            self.methods.discard("HEAD")


def create_app(config: MockConfig | None = None) -> Flask:
    """Build a mock Ollama app; `app.extensions["ollama_mock"]` is its `MockState`."""
    config = config or MockConfig()
    state = MockState(config)
    here = str(Path(__file__).parent)
    # Explicit paths: Flask cannot locate an instance folder inside a namespace package.
    app = Flask(__name__, root_path=here, instance_path=here)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_rule_class = _ExactMethodsRule  # type: ignore[assignment]
    app.url_map.merge_slashes = False
    app.extensions["ollama_mock"] = state
    for routes in ROUTE_FAMILIES:
        app.register_blueprint(routes)
    if config.control:
        app.register_blueprint(control_routes)
    install_pipeline(app, state)
    state.faults.serve_only(served_routes(app))

    @app.errorhandler(Exception)
    def internal_error(error: Exception) -> Any:
        app.logger.exception("ollama-mock failed while answering")
        return error_response(500, f"ollama-mock internal error: {type(error).__name__}")

    app.wsgi_app = _outer_layer(app.wsgi_app, config, fast_ps(state))  # type: ignore[method-assign,assignment]
    return app


def served_routes(app: Flask) -> tuple[str, ...]:
    """Every `METHOD /path` of Ollama's API the app answers (what a fault may name), control API aside."""
    routes = {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] != "control" and rule.endpoint != "static"
        for method in sorted(rule.methods or ())
        if method != "OPTIONS"
    }
    return tuple(sorted(routes, key=lambda route: (route.split(" ")[1], route)))


def _outer_layer(
    inner: WSGIApp, config: MockConfig, fast: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes] | None]
) -> WSGIApp:
    """Serve below the base path, refuse bodies over the limit unread, answer plain `GET /api/ps` fast,
    and drop connections for `drop` faults."""
    base_path = config.normalized_base_path()
    too_large = go_json({"error": too_large_text(config.max_body)})

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if base_path:
            path = environ.get("PATH_INFO", "")
            if path != base_path and not path.startswith(base_path + "/"):
                start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "18")])
                return [b"404 page not found"]
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + base_path
            environ["PATH_INFO"] = path[len(base_path) :] or "/"
        if apply_body_limit(environ, config.max_body):
            start_response(
                "413 Request Entity Too Large",
                [("Content-Type", JSON_TYPE), ("Content-Length", str(len(too_large))), ("Connection", "close")],
            )
            return [too_large]
        if environ.get("PATH_INFO") == "/api/ps" and environ.get("REQUEST_METHOD") == "GET":
            answered = fast(environ, start_response)
            if answered is not None:
                return answered
        result = inner(environ, start_response)
        if environ.get(DROP_CONNECTION):
            return dropped(environ, result)
        if environ.get(TRUNCATE_AT) is not None:
            return truncated(environ, result, int(environ[TRUNCATE_AT]))
        return result

    return application
