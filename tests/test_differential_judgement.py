"""The differential judgement itself: it reads capture files, and it finds every kind of difference it
promises (status, headers, key order, presence, type, value, number text, Go's style, timestamps, NDJSON
and SSE framing), while volatile values differ freely."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ollama_contract_kit.contract_tests.captures import Answer, CaptureError, parse_answer, parse_capture
from ollama_contract_kit.contract_tests.differential import compare
from ollama_contract_kit.contract_tests.volatility import Judge, Volatility, ollama_volatility

JSON = (("Content-Type", "application/json; charset=utf-8"),)
NDJSON = (("Content-Type", "application/x-ndjson"), ("Transfer-Encoding", "chunked"))
SSE = (("Content-Type", "text/event-stream"),)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _lines(answer_path: str, expected: Answer, actual: Answer) -> list[str]:
    found = compare(expected, actual, exchange="x", volatility=ollama_volatility(answer_path))
    return [difference.line() for difference in found]


# -- capture files ---------------------------------------------------------------------------------------------


def test_a_capture_file_is_read_with_its_request_and_raw_answer() -> None:
    data = (
        b'### POST /api/show\n### body: {"model":"tiny"}\n\n'
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 9\r\n\r\n"
        b'{"e":"x"}'
    )
    capture = parse_capture(data, "04_show")
    assert (capture.request.method, capture.request.path, capture.request.body) == (
        "POST",
        "/api/show",
        b'{"model":"tiny"}',
    )
    assert (capture.answer.status, capture.answer.header("content-length"), capture.answer.body) == (
        404,
        "9",
        b'{"e":"x"}',
    )


def test_a_chunked_body_is_decoded() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=1\r\nefg\r\n0\r\n\r\n"
    assert parse_answer(raw).body == b"abcdefg"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GET /api/ps\n\nHTTP/1.1 200 OK\r\n\r\n", "not '### METHOD PATH'"),
        (b"### GET /api/ps\nHTTP/1.1 200 OK\r\n\r\n", "no blank line"),
        (b"### GET /api/ps\n\nHTTP/2 200\r\n\r\n", "not an HTTP/1.x status line"),
        (b"### GET /api/ps\n\nHTTP/1.1 200 OK\r\nno colon\r\n\r\n", "not a header line"),
    ],
)
def test_a_malformed_capture_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(CaptureError, match=f"^bad.txt: .*{reason}"):
        parse_capture(data, "bad", "bad.txt")


# -- what the judgement finds ------------------------------------------------------------------------------------

REAL_PS = {
    "models": [
        {
            "name": "tiny:latest",
            "size": 6564085,
            "expires_at": "2026-12-03T09:41:14.063495664Z",
            "size_vram": 0,
        }
    ]
}


def test_an_answer_agrees_with_itself_and_volatile_values_may_differ() -> None:
    real = Answer(200, JSON, _json({"model": "tiny", "created_at": "2026-12-03T09:36:14.061248844Z", "response": "a"}))
    other = Answer(
        200, JSON, _json({"model": "tiny", "created_at": "2027-01-01T00:00:00.123456789Z", "response": "b c"})
    )
    assert _lines("/api/generate", real, real) == []
    assert _lines("/api/generate", real, other) == []


@pytest.mark.parametrize(
    ("change", "expected_line"),
    [
        (lambda m: m.pop("size"), "x: $.models[0].size: missing key: expected 6564085, got absent"),
        (lambda m: m.update(extra=1), "x: $.models[0].extra: unexpected key: expected absent, got 1"),
        (
            lambda m: m.update(size="6564085"),
            'x: $.models[0].size: type: expected integer 6564085, got string "6564085"',
        ),
        (lambda m: m.update(size=1), "x: $.models[0].size: value: expected 6564085, got 1"),
        (
            lambda m: m.update(expires_at="2026-12-03T09:41:14.063495Z"),
            "x: $.models[0].expires_at: timestamp form: expected nanoseconds",
        ),
        (
            lambda m: m.update(expires_at="2026-12-03T09:41:14.0634950Z"),
            "x: $.models[0].expires_at: timestamp form: expected a time as Go writes it, not the fraction ends in 0",
        ),
        (
            lambda m: m.update(expires_at="2026-12-03T10:41:14.063495664+01:00"),
            "x: $.models[0].expires_at: timestamp form: expected the zone written as Z",
        ),
    ],
)
def test_each_kind_of_difference_is_one_line_naming_path_expected_and_actual(change: Any, expected_line: str) -> None:
    altered = json.loads(_json(REAL_PS))
    change(altered["models"][0])
    lines = _lines("/api/ps", Answer(200, JSON, _json(REAL_PS)), Answer(200, JSON, _json(altered)))
    assert len(lines) == 1 and lines[0].startswith(expected_line), lines


def test_key_order_status_and_headers() -> None:
    real = Answer(200, JSON, b'{"a":1,"b":2}')
    reordered = Answer(200, (*JSON, ("Server", "granian"), ("Date", "now"), ("Content-Length", "13")), b'{"b":2,"a":1}')
    assert _lines("/x", real, reordered) == [
        "x: header server: unexpected header: expected none, got 'granian'",
        "x: $: key order: expected a,b, got b,a",
    ]
    missing_type = Answer(404, (), b"404 page not found")
    assert _lines("/x", real, missing_type) == [
        "x: status: status: expected 200, got 404",
        "x: header content-type: missing header: expected 'application/json; charset=utf-8', got none",
        "x: body: body: expected '{\"a\":1,\"b\":2}', got '404 page not found'",
    ]


@pytest.mark.parametrize(
    ("actual", "what"),
    [
        (b'{"v":1e-05,"w":"\\u003c\xc3\xa9"}', "x: $.v: number: expected 0.00001, got 1e-05"),
        (
            b'{"v":0.00001, "w":"\\u003c\xc3\xa9"}',
            "x: $: JSON style: expected compact JSON, got spaces outside strings",
        ),
        (b'{"v":0.00001,"w":"<\xc3\xa9"}', "x: $: JSON style: expected < written \\u003c, got a raw <"),
        (b'{"v":0.00001,"w":"\\u003c\\u00e9"}', "x: $: JSON style: expected non-ASCII text as UTF-8"),
    ],
)
def test_numbers_and_escaping_are_judged_as_written(actual: bytes, what: str) -> None:
    real = Answer(200, JSON, b'{"v":0.00001,"w":"\\u003c\xc3\xa9"}')
    lines = _lines("/x", real, Answer(200, JSON, actual))
    assert len(lines) == 1 and lines[0].startswith(what), lines


def test_ndjson_streams_chunk_by_chunk() -> None:
    def stream(*times: str, end: bytes = b"\n") -> Answer:
        lines = [_json({"created_at": time, "response": "w", "done": False}) for time in times[:-1]]
        lines.append(_json({"created_at": times[-1], "response": "", "done": True, "done_reason": "stop"}))
        return Answer(200, NDJSON, b"\n".join(lines) + end)

    real = stream("2026-12-03T09:36:14.1Z", "2026-12-03T09:36:14.2Z", "2026-12-03T09:36:14.3Z")
    assert _lines("/api/generate", real, stream(*["2026-12-03T09:36:15.1Z"] * 2 + ["2026-12-03T09:36:15.2Z"])) == []
    one_time = stream(*["2026-12-03T09:36:15.1Z"] * 5)
    assert _lines("/api/generate", real, one_time) == [
        "x: $.created_at: a time of its own in every chunk: expected distinct times,"
        ' got "2026-12-03T09:36:15.1Z" in all'
    ]
    unterminated = stream("2026-12-03T09:36:15.1Z", "2026-12-03T09:36:15.2Z", end=b"")
    assert _lines("/api/generate", real, unterminated) == [
        "x: framing: NDJSON framing: expected every line ending in \\n, got a last line without \\n"
    ]


def test_sse_streams_end_with_done() -> None:
    def events(*chunks: dict[str, Any], done: bool = True) -> Answer:
        body = b"".join(b"data: " + _json(chunk) + b"\n\n" for chunk in chunks)
        return Answer(200, SSE, body + (b"data: [DONE]\n\n" if done else b""))

    first = {"id": "chatcmpl-1", "choices": [{"delta": {"role": "assistant", "content": "a"}}]}
    middle = {"id": "chatcmpl-1", "choices": [{"delta": {"content": "b"}}]}
    last = {"id": "chatcmpl-1", "choices": [{"delta": {"content": ""}, "finish_reason": "stop"}]}
    real = events(first, middle, last)
    assert _lines("/v1/chat/completions", real, events(first, middle, middle, last)) == []
    role_everywhere = {"id": "chatcmpl-9", "choices": [{"delta": {"role": "assistant", "content": "b"}}]}
    assert _lines("/v1/chat/completions", real, events(first, role_everywhere, last)) == [
        'x: event 2: $.choices[0].delta.role: unexpected key: expected absent, got "assistant"'
    ]
    assert _lines("/v1/chat/completions", real, events(first, middle, last, done=False))[0].startswith(
        "x: framing: SSE framing: expected a last event 'data: [DONE]'"
    )


def test_volatility_is_a_map_of_path_patterns() -> None:
    real = Answer(200, JSON, b'{"items":[{"id":"a","n":1},{"id":"b","n":2}],"t":"x"}')
    shuffled = Answer(200, JSON, b'{"items":[{"id":"b","n":2},{"id":"a","n":1}],"t":7}')
    volatility = Volatility({"$.t": Judge.TEXT}, {"$.items": "id"})
    found = compare(real, shuffled, exchange="x", volatility=volatility)
    assert [difference.line() for difference in found] == ["x: $.t: text form: expected a string, got 7"]
