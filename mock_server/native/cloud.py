"""The routes that need ollama.com, answered as a server with Ollama's cloud turned off answers them.

The mock never reaches ollama.com. It answers as Ollama does with `OLLAMA_NO_CLOUD=1` and no network:
- `POST /api/me`: 503 `account unavailable` (the handler asks ollama.com whatever the setting);
- `POST /api/signout` and its old `DELETE /api/user/keys/:encodedKey`: 500 `there was an error signing out`;
- `POST /api/experimental/web_search` and `web_fetch`: 400 `missing request body` for an empty body,
  else 403 `ollama cloud is disabled: web search is unavailable` (or `web fetch`);
- `GET /api/experimental/model-recommendations`: the built-in list, as a server that never fetched a
  newer one (it lists `:cloud` models whatever the setting).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..serving.responses import error_response, json_response

cloud_routes = Blueprint("cloud", __name__)

#: `defaultModelRecommendations` (`server/model_recommendations.go`), served until a fresher list is fetched.
MODEL_RECOMMENDATIONS = [
    {
        "model": "kimi-k2.6:cloud",
        "description": "State-of-the-art coding, long-horizon execution, and multimodal agent swarm capability",
        "context_length": 262144,
        "max_output_tokens": 262144,
    },
    {
        "model": "glm-5.1:cloud",
        "description": "Reasoning and code generation",
        "context_length": 202752,
        "max_output_tokens": 131072,
    },
    {
        "model": "qwen3.5:cloud",
        "description": "Reasoning, coding, and agentic tool use with vision",
        "context_length": 262144,
        "max_output_tokens": 32768,
    },
    {
        "model": "minimax-m2.7:cloud",
        "description": "Fast, efficient coding and real-world productivity",
        "context_length": 204800,
        "max_output_tokens": 128000,
    },
    {"model": "gemma4", "description": "Reasoning and code generation locally", "vram_bytes": 12_000_000_000},
    {
        "model": "qwen3.5",
        "description": "Reasoning, coding, and visual understanding locally",
        "vram_bytes": 14_000_000_000,
    },
]


@cloud_routes.route("/api/me", methods=["POST"])
def whoami() -> Response:
    """Who is signed in: ollama.com cannot be asked."""
    return error_response(503, "account unavailable")


@cloud_routes.route("/api/signout", methods=["POST"])
@cloud_routes.route("/api/user/keys/<encoded_key>", methods=["DELETE"])
def sign_out(encoded_key: str = "") -> Response:
    """Sign out of ollama.com (the key in the old path is ignored): ollama.com cannot be reached."""
    return error_response(500, "there was an error signing out")


def _web_tool(operation: str) -> Response:
    if not request.get_data().strip():
        return error_response(400, "missing request body")
    return error_response(403, f"ollama cloud is disabled: {operation} is unavailable")


@cloud_routes.route("/api/experimental/web_search", methods=["POST"])
def web_search() -> Response:
    """A web search through ollama.com: refused, the cloud being off."""
    return _web_tool("web search")


@cloud_routes.route("/api/experimental/web_fetch", methods=["POST"])
def web_fetch() -> Response:
    """A page fetched through ollama.com: refused, the cloud being off."""
    return _web_tool("web fetch")


@cloud_routes.route("/api/experimental/model-recommendations", methods=["GET"])
def model_recommendations() -> Response:
    """The models Ollama recommends (its built-in list)."""
    return json_response({"recommendations": MODEL_RECOMMENDATIONS})
