"""Servers for the self-test of `verify`: the mock broken in one way each, and unusual-but-valid ones."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ollama_contract_kit.mock_server import MockOllama, Pace
from ollama_contract_kit.openapi.releases import profiles

Headers = list[tuple[str, str]]
ResponseRewrite = Callable[[str, str, str, Headers, bytes], tuple[str, Headers, bytes]]
RequestRewrite = Callable[[dict[str, Any]], None]


class Breaker:
    """WSGI middleware that rewrites requests and responses of the app it wraps."""

    def __init__(self, inner: Any, on_response: ResponseRewrite | None, on_request: RequestRewrite | None) -> None:
        self.inner, self.on_response, self.on_request = inner, on_response, on_request

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.on_request is not None:
            self.on_request(environ)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.inner(environ, capture))
        status, headers = captured["status"], list(captured["headers"])
        if self.on_response is not None:
            status, headers, body = self.on_response(
                environ["REQUEST_METHOD"], environ["PATH_INFO"], status, headers, body
            )
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body] if environ["REQUEST_METHOD"] != "HEAD" else []


@dataclass
class Server:
    """One self-test server: settings of the mock, and how it is broken (if at all)."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    on_response: ResponseRewrite | None = None
    on_request: RequestRewrite | None = None
    headers: dict[str, str] = field(default_factory=dict)
    world: dict[str, Any] | None = None
    #: For a broken server: words the failing checks' titles or evidence must contain (the intended reason).
    expect: str = ""

    def start(self) -> MockOllama:
        # Instant loads and tokens unless the server says otherwise: what is judged is the answers' form.
        mock = MockOllama(log_requests=False, **{"pace": Pace.instant(), **self.settings})
        if self.world is not None:
            mock.use_world(self.world)
        mock.app.wsgi_app = Breaker(mock.app.wsgi_app, self.on_response, self.on_request)  # type: ignore[method-assign]
        return mock.start()


def ps_body(change: Callable[[dict[str, Any]], Any]) -> ResponseRewrite:
    """Rewrite the JSON body of GET /api/ps."""

    def rewrite(method: str, path: str, status: str, headers: Headers, body: bytes) -> tuple[str, Headers, bytes]:
        if method == "GET" and path == "/api/ps" and status.startswith("200"):
            data = json.loads(body)
            changed = change(data)
            body = json.dumps(data if changed is None else changed, separators=(",", ":")).encode()
        return status, headers, body

    return rewrite


def each_model(change: Callable[[dict[str, Any]], None]) -> ResponseRewrite:
    """Rewrite every model of GET /api/ps."""
    return ps_body(lambda data: [change(model) for model in data["models"]] and None)


def answer(
    method: str,
    path: str,
    status: str | None = None,
    headers: Headers | None = None,
    body: bytes | None = None,
    drop_header: str | None = None,
) -> ResponseRewrite:
    """Replace the status, headers or body of one route's answers."""

    def rewrite(
        request_method: str, request_path: str, old_status: str, old_headers: Headers, old_body: bytes
    ) -> tuple[str, Headers, bytes]:
        if request_method != method or request_path != path:
            return old_status, old_headers, old_body
        new_headers = [(k, v) for k, v in old_headers if not drop_header or k.lower() != drop_header.lower()]
        if headers:
            names = {name.lower() for name, _ in headers}
            new_headers = [(k, v) for k, v in new_headers if k.lower() not in names] + headers
        return status or old_status, new_headers, old_body if body is None else body

    return rewrite


def chain(*rewrites: ResponseRewrite) -> ResponseRewrite:
    """Apply several response rewrites, first to last."""

    def rewrite(method: str, path: str, status: str, headers: Headers, body: bytes) -> tuple[str, Headers, bytes]:
        for step in rewrites:
            status, headers, body = step(method, path, status, headers, body)
        return status, headers, body

    return rewrite


def request_body(change: Callable[[dict[str, Any]], None], path: str = "/api/generate") -> RequestRewrite:
    """Rewrite the JSON body of POST requests to `path` before the mock sees it."""

    def rewrite(environ: dict[str, Any]) -> None:
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != path:
            return
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            change(data)
            raw = json.dumps(data).encode()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))

    return rewrite


def _past(model: dict[str, Any]) -> None:
    model["expires_at"] = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


BROKEN = [
    Server(
        "models null", expect="$.models: None is not of type 'array'", on_response=ps_body(lambda d: {"models": None})
    ),
    Server(
        "models wrapped in data",
        expect="$: 'models' is a required property",
        on_response=ps_body(lambda d: {"data": d}),
    ),
    Server("top level array", expect="$: [", on_response=ps_body(lambda d: d["models"])),
    Server("size as text", expect="$.models[0].size", on_response=each_model(lambda m: m.update(size="3.7 GB"))),
    Server(
        "Ollama 0.12 without context_length",
        expect="no context_length; Ollama sends it on every model since 0.9.7",
        on_response=chain(
            answer("GET", "/api/version", body=b'{"version":"0.12.3"}'),
            each_model(lambda m: m.pop("context_length")),
        ),
    ),
    Server(
        "sizes written as floats",
        expect="$.models[0].size: 3717522432.0 is not of type 'integer'",
        on_response=each_model(lambda m: m.update(size=float(m["size"]), size_vram=float(m["size_vram"]))),
    ),
    Server(
        "size_vram above size", expect="size_vram", on_response=each_model(lambda m: m.update(size_vram=m["size"] + 1))
    ),
    Server(
        "name without tag",
        expect="differs from model",
        on_response=each_model(lambda m: m.update(name=m["name"].split(":")[0])),
    ),
    Server(
        "expires_at missing",
        expect="'expires_at' is a required property",
        on_response=each_model(lambda m: m.pop("expires_at")),
    ),
    Server(
        "expires_at without zone",
        expect="$.models[0].expires_at",
        on_response=each_model(lambda m: m.update(expires_at=m["expires_at"][:19])),
    ),
    Server(
        "expires_at as unix time",
        expect="$.models[0].expires_at",
        on_response=each_model(lambda m: m.update(expires_at=1754393725)),
    ),
    Server(
        "digest with sha256 prefix",
        expect="$.models[0].digest",
        on_response=each_model(lambda m: m.update(digest="sha256:" + m["digest"])),
    ),
    Server(
        "digest shortened",
        expect="$.models[0].digest",
        on_response=each_model(lambda m: m.update(digest=m["digest"][:12])),
    ),
    Server(
        "families missing",
        expect="'families' is a required property",
        on_response=each_model(lambda m: m["details"].pop("families")),
    ),
    Server(
        "details null",
        expect="$.models[0].details: None is not of type 'object'",
        on_response=each_model(lambda m: m.update(details=None)),
    ),
    Server(
        "context_length as text",
        expect="$.models[0].context_length",
        on_response=each_model(lambda m: m.update(context_length="4096")),
    ),
    Server(
        "earliest expiry first",
        expect="latest expiry first",
        on_response=ps_body(lambda d: {"models": d["models"][::-1]}),
    ),
    Server(
        "dev build (0.0.0) listing earliest expiry first",
        expect="latest expiry first",
        on_response=chain(
            answer("GET", "/api/version", body=b'{"version":"0.0.0"}'),
            ps_body(lambda d: {"models": d["models"][::-1]}),
        ),
    ),
    Server("expired model still listed", expect="an expired model leaves", on_response=each_model(_past)),
    Server(
        "model listed twice",
        expect="listed twice",
        on_response=ps_body(lambda d: {"models": d["models"] + d["models"][-1:]}),
    ),
    Server(
        "ps as text/plain",
        expect="should be application/json",
        on_response=answer("GET", "/api/ps", headers=[("Content-Type", "text/plain; charset=utf-8")]),
    ),
    Server("ps answers 201", expect="answered 201", on_response=answer("GET", "/api/ps", status="201 Created")),
    Server(
        "HEAD on ps answers 200",
        expect="HEAD http",
        on_response=answer("HEAD", "/api/ps", status="200 OK", headers=[("Content-Type", "application/json")]),
    ),
    Server(
        "POST on ps answers 404",
        expect="answered 404, expected 405",
        on_response=answer("POST", "/api/ps", status="404 Not Found", body=b"404 page not found"),
    ),
    Server("405 without Allow", expect="Allow is None", on_response=answer("DELETE", "/api/ps", drop_header="Allow")),
    Server(
        "unknown path answers JSON",
        expect="no-such-route",
        on_response=answer(
            "GET", "/api/no-such-route", headers=[("Content-Type", "application/json")], body=b'{"error":"not found"}'
        ),
    ),
    Server(
        "unknown model answers 500",
        expect="answered 500",
        on_response=answer("POST", "/api/generate", status="500 Internal Server Error"),
    ),
    Server(
        "tags without families",
        expect="[GET /api/tags]",
        on_response=lambda m, p, s, h, b: (s, h, b.replace(b'"families":["llama"],', b"") if p == "/api/tags" else b),
    ),
    Server("version empty", expect="[GET /api/version]", on_response=answer("GET", "/api/version", body=b"{}")),
    Server(
        "unload ignored",
        expect="unload answer",
        on_request=request_body(lambda d: d.pop("keep_alive") if d.get("keep_alive") == 0 else None),
    ),
    Server(
        "keep_alive ignored on load",
        expect="should be the load time",
        on_request=request_body(lambda d: d.pop("keep_alive", None)),
    ),
    Server(
        "completion model refuses generate",
        expect="(load smollm2:360m) answered 400",
        on_response=answer(
            "POST",
            "/api/generate",
            status="400 Bad Request",
            body=b'{"error":"\\"smollm2:360m\\" does not support generate"}',
        ),
    ),
    Server(
        "loaded model not listed",
        expect="does not list it",
        on_response=ps_body(lambda d: {"models": [m for m in d["models"] if m["name"] != "smollm2:360m"]}),
    ),
]


_ONE_MODEL = {
    "models": [
        {
            "name": "smollm2:360m",
            "size": 725566512,
            "digest": "297281b699fc51376006233ca400cd664c4f7b80ed88a47ef084f1e4b089803b",
            "details": {
                "parent_model": "",
                "format": "safetensors",
                "family": "llama",
                "families": None,
                "parameter_size": "361.82M",
                "quantization_level": "F16",
            },
        },
    ],
}


def _tags_body(change: Callable[[dict[str, Any]], None]) -> ResponseRewrite:
    """Rewrite the JSON body of GET /api/tags."""

    def rewrite(method: str, path: str, status: str, headers: Headers, body: bytes) -> tuple[str, Headers, bytes]:
        if method == "GET" and path == "/api/tags" and status.startswith("200"):
            data = json.loads(body)
            change(data)
            body = json.dumps(data, separators=(",", ":")).encode()
        return status, headers, body

    return rewrite


def _without_capabilities(tags: dict[str, Any]) -> None:
    for model in tags["models"]:
        model.pop("capabilities", None)


_CLOUD_MODEL = {
    "name": "gpt-oss:120b-cloud",
    "model": "gpt-oss:120b-cloud",
    "remote_model": "gpt-oss:120b",
    "remote_host": "https://ollama.com:443",
    "modified_at": "2026-09-01T10:00:00.5+02:00",
    "size": 384,
    "digest": "569662207105f3a1dc4d5da0aa3bb4d4c2bd6d4d0b23d2ed8fb3ba2b2a1d39ec",
    "details": {
        "parent_model": "",
        "format": "",
        "family": "",
        "families": None,
        "parameter_size": "116.8B",
        "quantization_level": "MXFP4",
    },
    "capabilities": ["completion", "tools", "thinking"],
}

#: A small embedding model whose name and family do not give it away, and a small chat model.
_UNHINTED_EMBEDDING_WORLD = {
    "models": [
        {
            "name": "granite-vectors:30m",
            "size": 62857216,
            "digest": "8c4f3e0f2e1b4c9a7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "granite",
                "families": ["granite"],
                "parameter_size": "30.3M",
                "quantization_level": "F16",
            },
            "capabilities": ["embedding"],
        },
        _ONE_MODEL["models"][0],
    ],
}

#: OLLAMA_MAX_LOADED_MODELS=1 with a bigger model running: loading the probe model evicts it.
_ONE_AT_A_TIME_WORLD = {
    "models": [
        _ONE_MODEL["models"][0],
        {
            "name": "llama3.2:latest",
            "size": 2019393189,
            "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        },
    ],
    "running": [{"model": "llama3.2:latest", "keep_alive": "1h"}],
}


VALID = [
    Server("the default world"),
    # Every release profile of the mock (openapi/releases.py): verify judges each by its own release.
    *(Server(f"Ollama {release} profile", settings={"ollama_version": release}) for release in profiles()),
    Server("tags without capabilities (embedding models guessed)", on_response=_tags_body(_without_capabilities)),
    Server(
        "smallest model refuses generate, tags without capabilities",
        world=_UNHINTED_EMBEDDING_WORLD,
        on_response=_tags_body(_without_capabilities),
    ),
    Server("a cloud model in the tags", on_response=_tags_body(lambda tags: tags["models"].append(_CLOUD_MODEL))),
    Server("one model at a time: the probe load evicts", settings={"max_loaded": 1}, world=_ONE_AT_A_TIME_WORLD),
    Server("nothing running", world=_ONE_MODEL),
    Server(
        "families null and CPU only",
        world={**_ONE_MODEL, "running": [{"model": "smollm2:360m", "size_vram": 0, "keep_alive": "1h"}]},
    ),
    Server("only a forever model", world={**_ONE_MODEL, "running": [{"model": "smollm2:360m", "keep_alive": -1}]}),
    Server("zone +05:30", settings={"timezone": timezone(timedelta(hours=5, minutes=30))}),
    Server("zone -07:00", settings={"timezone": timezone(timedelta(hours=-7))}),
    Server(
        "Ollama 0.1.38 profile, CPU only: modified_at, no size_vram",
        settings={"ollama_version": "0.1.38"},
        world={**_ONE_MODEL, "running": [{"model": "smollm2:360m", "size_vram": 0, "keep_alive": "1h"}]},
    ),
    Server(
        "nanosecond fractions",
        settings={"timezone": timezone.utc},
        on_response=each_model(
            lambda m: m.update(expires_at=m["expires_at"].rstrip("Z").split(".")[0] + ".123456789Z")
        ),
    ),
    Server(
        "pretty-printed by a proxy",
        on_response=lambda m, p, s, h, b: (
            s,
            h,
            json.dumps(json.loads(b), indent=2).encode() if p == "/api/ps" and s.startswith("200") else b,
        ),
    ),
    Server(
        "behind nginx, which refuses TRACE itself",
        on_response=lambda m, p, s, h, b: (
            ("405 Not Allowed", [("Content-Type", "text/html")], b"<html><center>405 Not Allowed</center></html>")
            if m == "TRACE"
            else (s, h, b)
        ),
    ),
    Server(
        "behind a prefix and a token",
        settings={"base_path": "/ollama", "token": "s3cr3t-t0ken"},
        headers={"Authorization": "Bearer s3cr3t-t0ken"},
    ),
]
