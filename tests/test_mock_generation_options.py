"""num_predict / max_tokens and stop end answers as on Ollama: natively, on /v1, and through the official clients."""

from __future__ import annotations

import json

import ollama
import openai
import requests

from ollama_contract_kit.mock_server import MockOllama

PROMPT = "why is the sky blue on a clear day"


def test_num_predict_ends_a_generate_with_length(ollama_mock: MockOllama) -> None:
    body = {"model": "smollm2:360m", "prompt": PROMPT, "stream": False, "options": {"num_predict": 3}}
    answer = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30).json()
    assert (answer["done_reason"], answer["eval_count"]) == ("length", 3)
    assert answer["response"] == "Mock answer from "
    streamed = requests.post(ollama_mock.url + "/api/generate", json=body | {"stream": True}, timeout=30)
    chunks = [json.loads(line) for line in streamed.iter_lines()]
    assert len(chunks) == 4 and chunks[-1]["done_reason"] == "length" and chunks[-1]["eval_count"] == 3


def test_without_a_limit_the_answer_ends_by_itself(ollama_mock: MockOllama) -> None:
    body = {"model": "smollm2:360m", "prompt": PROMPT, "stream": False}
    answer = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30).json()
    assert answer["done_reason"] == "stop" and answer["eval_count"] == len(answer["response"].split())


def test_a_stop_text_cuts_the_answer_before_it(ollama_mock: MockOllama) -> None:
    body = {"model": "smollm2:360m", "messages": [{"role": "user", "content": PROMPT}], "stream": False}
    answer = requests.post(ollama_mock.url + "/api/chat", json=body | {"options": {"stop": ["from"]}}, timeout=30)
    assert answer.json()["message"]["content"] == "Mock answer "
    assert answer.json()["done_reason"] == "stop"
    completion = requests.post(
        ollama_mock.url + "/v1/chat/completions",
        json={"model": "smollm2:360m", "messages": [{"role": "user", "content": PROMPT}], "stop": "answer"},
        timeout=30,
    ).json()
    assert completion["choices"][0]["message"]["content"] == "Mock "
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_max_tokens_on_v1_is_num_predict(ollama_mock: MockOllama) -> None:
    chat = {"model": "smollm2:360m", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 3}
    completion = requests.post(ollama_mock.url + "/v1/chat/completions", json=chat, timeout=30).json()
    assert completion["choices"][0]["finish_reason"] == "length"
    assert completion["usage"]["completion_tokens"] == 3
    text = {"model": "smollm2:360m", "prompt": PROMPT, "max_tokens": 2}
    completed = requests.post(ollama_mock.url + "/v1/completions", json=text, timeout=30).json()
    assert completed["choices"][0]["text"] == "Mock answer " and completed["choices"][0]["finish_reason"] == "length"
    ignored = chat | {"max_completion_tokens": 2}
    del ignored["max_tokens"]
    unlimited = requests.post(ollama_mock.url + "/v1/chat/completions", json=ignored, timeout=30).json()
    assert unlimited["choices"][0]["finish_reason"] == "stop", "Ollama 0.33 does not read max_completion_tokens"


def test_streamed_v1_chat_ends_with_length_and_names_the_role_once(ollama_mock: MockOllama) -> None:
    chat = {"model": "smollm2:360m", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 3, "stream": True}
    answer = requests.post(ollama_mock.url + "/v1/chat/completions", json=chat, timeout=30)
    frames = [json.loads(line[6:]) for line in answer.text.split("\n\n") if line.startswith("data: {")]
    deltas = [frame["choices"][0]["delta"] for frame in frames]
    assert [("role" in delta) for delta in deltas] == [True, False, False, False]
    assert frames[-1]["choices"][0]["finish_reason"] == "length"


def test_the_official_clients_see_the_limit(ollama_mock: MockOllama) -> None:
    with ollama.Client(host=ollama_mock.url) as native:
        answer = native.generate(model="smollm2:360m", prompt=PROMPT, options={"num_predict": 3})
        messages = [{"role": "user", "content": PROMPT}]
        chat = native.chat(model="smollm2:360m", messages=messages, options={"stop": ["from"]})
    assert (answer.done_reason, answer.eval_count) == ("length", 3)
    assert chat.message.content == "Mock answer " and chat.done_reason == "stop"
    with openai.OpenAI(base_url=ollama_mock.url + "/v1", api_key="ollama") as compatible:
        completion = compatible.chat.completions.create(
            model="smollm2:360m", messages=[{"role": "user", "content": PROMPT}], max_tokens=3
        )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 3


def test_a_prompt_longer_than_the_context_is_truncated_or_refused(ollama_mock: MockOllama) -> None:
    long_prompt = " ".join(["word"] * 300)
    body = {"model": "smollm2:360m", "prompt": long_prompt, "stream": False, "options": {"num_ctx": 256}}
    truncated = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30).json()
    assert truncated["prompt_eval_count"] == 256 - (256 - 5) // 2, "kept the first 5 tokens and the latest half"
    refused = requests.post(ollama_mock.url + "/api/generate", json=body | {"shift": False}, timeout=30)
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("the prompt is longer than the context length currently available")


def test_options_of_the_wrong_type_are_ollamas_500(ollama_mock: MockOllama) -> None:
    body = {"model": "smollm2:360m", "prompt": "hi", "options": {"num_ctx": "big"}}
    answer = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30)
    assert (answer.status_code, answer.json()) == (500, {"error": 'option "num_ctx" must be of type integer'})
