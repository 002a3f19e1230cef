"""Show, embed, pull, push, create, copy, delete, blobs and status: the real server's bytes, errors and effects."""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.openapi import validator_for

from .conftest import model_names


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _installed(http: FlaskClient) -> list[str]:
    return [model["name"] for model in http.get("/api/tags").get_json()["models"]]


def _running(http: FlaskClient) -> list[str]:
    return model_names(http.get("/api/ps").get_json())


# -- show ----------------------------------------------------------------------------------------------


def test_show_answers_in_go_order_and_validates(http: FlaskClient) -> None:
    before = _running(http)
    response = http.post("/api/show", json={"model": "LLAMA3.2"})
    assert response.status_code == 200 and response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert validator_for("ollama", "ShowResponse").problems(body) == []
    assert list(body) == [
        "license", "modelfile", "parameters", "template", "details", "model_info", "tensors", "capabilities",
        "modified_at",
    ]  # fmt: skip
    assert body["parameters"].splitlines()[0] == 'stop                           "<|start_header_id|>"'
    fields = ("parent_model", "format", "family", "families", "parameter_size", "quantization_level")
    assert list(body["details"]) == list(fields), "the six details, no context or embedding length"
    assert b"\\u003c|start_header_id|\\u003e" in response.get_data(), "Go escapes <, > and &"
    assert _running(http) == before, "show loads nothing"


def test_show_derives_model_info_from_the_fixture(http: FlaskClient) -> None:
    nomic = http.post("/api/show", json={"name": "nomic-embed-text"}).get_json()
    assert nomic["model_info"]["general.architecture"] == "nomic-bert"
    assert nomic["model_info"]["nomic-bert.embedding_length"] == 768
    assert nomic["model_info"]["general.parameter_count"] == 137_000_000
    assert "nomic-bert.pooling_type" in nomic["model_info"] and nomic["capabilities"] == ["embedding"]
    llava = http.post("/api/show", json={"model": "llava:7b"}).get_json()
    assert "projector_info" in llava and "vision" in llava["capabilities"]
    assert "system" not in llava and "license" not in llava, "empty fields are left out (omitempty)"
    assert http.post("/api/show", json={"model": "llava:7b", "system": "Be terse."}).get_json()["system"] == "Be terse."


def _from_blobs(show: dict[str, Any]) -> list[str]:
    """The digests the Modelfile's FROM lines name (`.../blobs/sha256-<hex>`)."""
    return [
        "sha256:" + line.rsplit("sha256-", 1)[1] for line in show["modelfile"].splitlines() if line.startswith("FROM ")
    ]


def test_the_blobs_the_modelfile_names_are_on_disk(http: FlaskClient) -> None:
    llava = http.post("/api/show", json={"model": "llava:7b"}).get_json()
    weights, projector = _from_blobs(llava)
    assert llava["modelfile"].splitlines()[4] == f"FROM /root/.ollama/models/blobs/{weights.replace(':', '-')}"
    assert http.head(f"/api/blobs/{weights}").status_code == 200
    assert http.head(f"/api/blobs/{projector}").status_code == 200


def test_tensors_follow_the_architecture(http: FlaskClient) -> None:
    shown = http.post("/api/show", json={"model": "llama3.2"}).get_json()
    info, tensors = shown["model_info"], shown["tensors"]
    blocks, width = info["llama.block_count"], info["llama.embedding_length"]
    heads, kv_heads = info["llama.attention.head_count"], info["llama.attention.head_count_kv"]
    assert len(tensors) == 3 + 9 * blocks
    by_name = {tensor["name"]: tensor for tensor in tensors}
    vocabulary = info["llama.vocab_size"]
    assert by_name["token_embd.weight"] == {"name": "token_embd.weight", "type": "Q4_K", "shape": [width, vocabulary]}
    assert by_name[f"blk.{blocks - 1}.attn_k.weight"]["shape"] == [width, width // heads * kv_heads]
    assert by_name["blk.0.ffn_down.weight"]["shape"] == [info["llama.feed_forward_length"], width]
    assert by_name["blk.0.attn_norm.weight"] == {"name": "blk.0.attn_norm.weight", "type": "F32", "shape": [width]}


def test_verbose_show_sends_the_tokenizer_arrays(http: FlaskClient) -> None:
    plain = http.post("/api/show", json={"model": "smollm2:360m"}).get_json()["model_info"]
    verbose = http.post("/api/show", json={"model": "smollm2:360m", "verbose": True}).get_json()["model_info"]
    assert plain["tokenizer.ggml.tokens"] is None and plain["tokenizer.ggml.token_type"] is None
    tokens, types = verbose["tokenizer.ggml.tokens"], verbose["tokenizer.ggml.token_type"]
    assert len(tokens) == len(types) == verbose["llama.vocab_size"] and tokens[:3] == ["<unk>", "<s>", "</s>"]
    assert set(verbose) == set(plain), "the same keys, arrays in full"


def test_a_model_made_with_a_system_prompt_adds_one_layer(http: FlaskClient) -> None:
    base = next(
        model for model in http.get("/api/tags").get_json()["models"] if model["name"] == "nomic-embed-text:latest"
    )
    made = http.post("/api/create", json={"model": "terse", "from": "nomic-embed-text", "system": "Be terse."})
    system = "sha256:" + hashlib.sha256(b"Be terse.").hexdigest()
    weights = _from_blobs(http.post("/api/show", json={"model": "nomic-embed-text"}).get_json())[0]
    assert _lines(made.get_data()) == [
        {"status": f"using existing layer {weights}"},
        {"status": f"creating new layer {system}"},
        {"status": "writing manifest"},
        {"status": "success"},
    ], "the base's layers (its weights: the default template has no layer), then the new system layer"
    terse = next(model for model in http.get("/api/tags").get_json()["models"] if model["name"] == "terse:latest")
    assert terse["size"] == base["size"] + len(b"Be terse.")
    assert _from_blobs(http.post("/api/show", json={"model": "terse"}).get_json()) == [weights], "the same weights"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 400, "model is required"),
        ({"model": "bad name!"}, 400, "invalid model name"),
        ({"model": "foo"}, 404, "model 'foo:latest' not found"),
        ({"model": "hf.co/u/r"}, 404, "model 'hf.co/u/r:latest' not found"),
        ({"model": "x", "verbose": "true"}, 400,
         "json: cannot unmarshal string into Go struct field ShowRequest.verbose of type bool"),
    ],
)  # fmt: skip
def test_show_errors(http: FlaskClient, body: dict[str, Any], status: int, error: str) -> None:
    response = http.post("/api/show", json=body)
    assert (response.status_code, response.get_json()) == (status, {"error": error})


# -- embed -----------------------------------------------------------------------------------------------


def test_embed_vectors_are_deterministic_unit_vectors(http: FlaskClient) -> None:
    first = http.post("/api/embed", json={"model": "nomic-embed-text", "input": "hello"}).get_json()
    again = http.post("/api/embed", json={"model": "nomic-embed-text", "input": ["hello", "world"]}).get_json()
    assert validator_for("ollama", "EmbedResponse").problems(again) == []
    assert first["embeddings"][0] == again["embeddings"][0] != again["embeddings"][1]
    assert all(math.isclose(math.fsum(v * v for v in vector), 1, rel_tol=1e-5) for vector in again["embeddings"])
    assert again["prompt_eval_count"] == 2 and again["total_duration"] > again["load_duration"] > 0
    cut = http.post("/api/embed", json={"model": "nomic-embed-text", "input": "hello", "dimensions": 64}).get_json()
    assert len(cut["embeddings"][0]) == 64
    assert math.isclose(math.fsum(v * v for v in cut["embeddings"][0]), 1, rel_tol=1e-5), "normalized again"


def test_embed_loads_even_without_input_and_keep_alive_0_expires(http: FlaskClient) -> None:
    empty = http.post("/api/embed", json={"model": "nomic-embed-text"}).get_json()
    assert empty == {"model": "nomic-embed-text", "embeddings": []}
    assert "nomic-embed-text:latest" in _running(http)
    http.post("/api/embed", json={"model": "nomic-embed-text", "input": "x", "keep_alive": 0})
    assert "nomic-embed-text:latest" not in _running(http)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"input": "x"}, 404, "model '' not found"),
        ({"model": "nomic-embed-text", "input": 5}, 400, "invalid input type"),
        ({"model": "nomic-embed-text", "input": ["a", 1]}, 400, "invalid input type"),
        ({"model": "nope", "input": "x"}, 404, 'model "nope" not found, try pulling it first'),
        ({"model": "smollm2:360m", "input": "x"}, 501,
         "This server does not support embeddings. Start it with `--embeddings`"),
        ({"model": "nomic-embed-text", "input": " ".join(["w"] * 3000), "truncate": False}, 400,
         "the input length exceeds the context length"),
    ],
)  # fmt: skip
def test_embed_errors(http: FlaskClient, body: dict[str, Any], status: int, error: str) -> None:
    response = http.post("/api/embed", json=body)
    assert (response.status_code, response.get_json()) == (status, {"error": error})


def test_legacy_embeddings(http: FlaskClient) -> None:
    answer = http.post("/api/embeddings", json={"model": "nomic-embed-text", "prompt": "hello"}).get_json()
    assert len(answer["embedding"]) == 768
    assert http.post("/api/embeddings", json={"model": "nomic-embed-text", "prompt": ""}).get_json() == {
        "embedding": []
    }
    assert http.post("/api/embeddings", json={}).get_json() == {"error": "model is required"}
    wrong_case = http.post("/api/embeddings", json={"model": "Nomic-Embed-Text", "prompt": "x"})
    assert wrong_case.status_code == 404, "this route does not fold case"
    cannot = http.post("/api/embeddings", json={"model": "smollm2:360m", "prompt": "x"})
    assert (cannot.status_code, cannot.get_json()) == (
        500, {"error": "This server does not support embeddings. Start it with `--embeddings`"}
    ), "llama-server's refusal, relayed as a 500 (server/routes.go EmbeddingsHandler)"  # fmt: skip


# -- pull, push, create ------------------------------------------------------------------------------------


def test_pull_streams_ollamas_sequence_and_installs(http: FlaskClient) -> None:
    assert "gemma3:1b" not in _installed(http)
    response = http.post("/api/pull", json={"model": "gemma3:1b"})
    assert response.status_code == 200 and response.content_type == "application/x-ndjson"
    lines = _lines(response.get_data())
    assert validator_for("ollama", "ProgressEvent").problems(lines[0]) == []
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [line for line in lines if "digest" in line]
    for line in layers:
        assert line["status"] == f"pulling {line['digest'][7:19]}" and line["digest"].startswith("sha256:")
    assert "completed" not in layers[0], "the first line of a download has no completed yet"
    totals = {line["digest"]: line["total"] for line in layers}
    assert sum(totals.values()) == next(m["size"] for m in http.get("/api/tags").get_json()["models"]
                                        if m["name"] == "gemma3:1b")  # fmt: skip
    assert _installed(http)[0] == "gemma3:1b"
    again = _lines(http.post("/api/pull", json={"name": "gemma3:1b"}).get_data())
    assert all(line.get("completed") == line["total"] for line in again if "digest" in line), "layers on disk"


def test_pull_without_streaming_and_failures(http: FlaskClient) -> None:
    done = http.post("/api/pull", json={"model": "all-minilm", "stream": False})
    assert (done.status_code, done.content_type, done.get_data()) == (200, "application/json", b'{"status":"success"}')
    unknown = http.post("/api/pull", json={"model": "nope:1b"})
    assert unknown.status_code == 200
    assert _lines(unknown.get_data()) == [
        {"status": "pulling manifest"},
        {"error": "pull model manifest: file does not exist"},
    ]
    failed = http.post("/api/pull", json={"model": "nope:1b", "stream": False})
    assert (failed.status_code, failed.content_type) == (500, "application/json")
    assert failed.get_json() == {"error": "pull model manifest: file does not exist"}
    assert http.post("/api/pull", json={}).get_json() == {"error": "invalid model name"}


def test_a_paced_pull_streams_its_progress_over_time() -> None:
    with MockOllama(log_requests=False, pull_seconds=1.0) as mock:
        started = time.monotonic()
        with requests.post(mock.url + "/api/pull", json={"model": "gemma3:1b"}, stream=True, timeout=30) as response:
            arrivals = [(time.monotonic() - started, json.loads(line)) for line in response.iter_lines() if line]
    progress = [moment for moment, line in arrivals if "completed" in line]
    assert len(progress) >= 10, "many progress lines, as a progress bar expects"
    assert progress[-1] - progress[0] > 0.5, "spread over the pull's time, not sent at once"
    assert arrivals[-1][1] == {"status": "success"}


def test_push_publishes_to_the_registry(http: FlaskClient) -> None:
    assert http.post("/api/create", json={"model": "me/pirate", "from": "llama3.2", "stream": False}).status_code == 200
    lines = _lines(http.post("/api/push", json={"model": "me/pirate"}).get_data())
    assert [lines[0]["status"], lines[-2]["status"], lines[-1]["status"]] == [
        "retrieving manifest",
        "pushing manifest",
        "success",
    ]
    assert http.delete("/api/delete", json={"model": "me/pirate"}).status_code == 200
    assert http.post("/api/pull", json={"model": "me/pirate", "stream": False}).get_json() == {"status": "success"}
    missing = _lines(http.post("/api/push", json={"model": "nope"}).get_data())
    assert missing[1] == {"status": "couldn't retrieve manifest"}
    assert missing[2]["error"] == (
        "open /root/.ollama/models/manifests/registry.ollama.ai/library/nope/latest: no such file or directory"
    )


def test_create_from_a_model_with_overrides(http: FlaskClient) -> None:
    lines = _lines(
        http.post(
            "/api/create",
            json={"model": "mario", "from": "llama3.2", "system": "You are Mario.", "parameters": {"temperature": 0.7},
                  "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "It's-a me!"}]},
        ).get_data()
    )  # fmt: skip
    statuses = [line["status"] for line in lines]
    assert statuses[0].startswith("using existing layer sha256:") and statuses[-2:] == ["writing manifest", "success"]
    assert any(status.startswith("creating new layer sha256:") for status in statuses)
    shown = http.post("/api/show", json={"model": "mario"}).get_json()
    assert shown["system"] == "You are Mario." and shown["details"]["parent_model"] == "llama3.2:latest"
    assert "temperature                    0.7" in shown["parameters"] and len(shown["messages"]) == 2
    assert "mario:latest" in _installed(http)


def test_create_pulls_a_missing_base_and_quantizes(http: FlaskClient) -> None:
    lines = _lines(
        http.post("/api/create", json={"model": "tiny-q4", "from": "smollm2:360m", "quantize": "q4_K_M"}).get_data()
    )
    assert any(line["status"] == "quantizing F16 model to Q4_K_M" and line["digest"] == "0" * 19 for line in lines)
    assert http.post("/api/show", json={"model": "tiny-q4"}).get_json()["details"]["quantization_level"] == "Q4_K_M"
    pulled = _lines(http.post("/api/create", json={"model": "g", "from": "gemma3:1b"}).get_data())
    assert pulled[0] == {"status": "pulling manifest"} and pulled[-1] == {"status": "success"}
    assert {"gemma3:1b", "g:latest"} <= set(_installed(http))
    refused = http.post("/api/create", json={"model": "x", "from": "llama3.2", "quantize": "q8_0", "stream": False})
    assert (refused.status_code, refused.get_json()) == (
        500, {"error": "quantization is only supported for F16, BF16 and F32 models"}
    )  # fmt: skip
    unknown = http.post("/api/create", json={"model": "x", "from": "llama3.2", "quantize": "q4_0", "stream": False})
    assert unknown.get_json() == {  # ggml.ParseFileType knows five types, and says so before the model's own
        "error": "unsupported quantization type Q4_0 - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0"
    }
    neither = http.post("/api/create", json={"model": "x"})
    assert (neither.status_code, neither.get_json()) == (400, {"error": "neither 'from' or 'files' was specified"})


def test_create_from_an_uploaded_blob(http: FlaskClient) -> None:
    data = b"GGUF" + bytes(range(200))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.head(f"/api/blobs/{digest}").status_code == 404
    assert http.post(f"/api/blobs/{digest}", data=data).status_code == 201
    assert http.head(f"/api/blobs/{digest}").status_code == 200
    assert http.post(f"/api/blobs/{digest}", data=b"anything").status_code == 200, "there already: not read"
    lines = _lines(http.post("/api/create", json={"model": "from-file", "files": {"model.gguf": digest}}).get_data())
    assert lines[0] == {"status": "parsing GGUF"} and lines[-1] == {"status": "success"}
    assert "from-file:latest" in _installed(http)


def test_blob_errors(http: FlaskClient) -> None:
    wanted = "sha256:" + "0" * 64
    mismatch = http.post(f"/api/blobs/{wanted}", data=b"x")
    actual = "sha256:" + hashlib.sha256(b"x").hexdigest()
    assert mismatch.get_json() == {"error": f'digest mismatch, expected "{wanted}", got "{actual}"'}
    assert http.post("/api/blobs/sha256:abc", data=b"x").get_json() == {"error": "invalid digest format"}
    assert http.head("/api/blobs/sha256:abc").status_code == 400
    assert http.get(f"/api/blobs/{wanted}").status_code == 405


# -- copy, delete, status ------------------------------------------------------------------------------------


def test_copy_and_delete_answer_empty_bodies(http: FlaskClient) -> None:
    copied = http.post("/api/copy", json={"source": "smollm2:360m", "destination": "small"})
    assert (copied.status_code, copied.get_data(), copied.headers.get("Content-Type")) == (200, b"", None)
    tags = {model["name"]: model for model in http.get("/api/tags").get_json()["models"]}
    assert tags["small:latest"]["digest"] == tags["smollm2:360m"]["digest"]
    deleted = http.delete("/api/delete", json={"name": "small"})
    assert (deleted.status_code, deleted.get_data(), deleted.headers.get("Content-Type")) == (200, b"", None)
    assert "small:latest" not in _installed(http)


def test_delete_leaves_a_running_model_loaded_until_it_expires(http: FlaskClient) -> None:
    assert "llama3.2:latest" in _running(http)
    assert http.delete("/api/delete", json={"model": "llama3.2"}).status_code == 200
    assert "llama3.2:latest" in _running(http) and "llama3.2:latest" not in _installed(http)
    gone = http.post("/api/generate", json={"model": "llama3.2", "prompt": "hi"})
    assert (gone.status_code, gone.get_json()) == (404, {"error": "model 'llama3.2' not found"})


@pytest.mark.parametrize(
    ("route", "method", "body", "status", "error"),
    [
        ("/api/copy", "POST", {"source": "", "destination": "x"}, 400, 'source "" is invalid'),
        ("/api/copy", "POST", {"source": "llama3.2", "destination": "bad name!"}, 400,
         'destination "bad name!" is invalid'),
        ("/api/copy", "POST", {"source": "nope", "destination": "x"}, 404, 'model "nope" not found'),
        ("/api/delete", "DELETE", {}, 400, "model is required"),
        ("/api/delete", "DELETE", {"model": "bad name!"}, 400, 'name "bad name!" is invalid'),
        ("/api/delete", "DELETE", {"model": "nope"}, 404, "model 'nope' not found"),
        ("/api/copy", "POST", None, 400, "missing request body"),
    ],
)  # fmt: skip
def test_copy_and_delete_errors(
    http: FlaskClient, route: str, method: str, body: dict[str, Any] | None, status: int, error: str
) -> None:
    response = http.open(route, method=method, json=body) if body is not None else http.open(route, method=method)
    assert (response.status_code, response.get_json()) == (status, {"error": error})


def test_status(http: FlaskClient) -> None:
    # The cloud is off, as OLLAMA_NO_CLOUD=1 turns it off (internal/cloud/policy.go), like the cloud routes' answers.
    assert http.get("/api/status").get_json() == {"cloud": {"disabled": True, "source": "env"}}
