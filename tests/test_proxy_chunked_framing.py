"""The proxy's chunked decoder: whatever the chunk sizes, extensions and trailers, and however the bytes are
split on arrival, the pieces it passes on are the body; chunks that arrived together go on as one piece;
a body cut short is said, with how."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_contract_kit.contract_tests.upstream import Answer, AnswerCut, UpstreamPool, _Connection

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked"


class _Transport:
    def abort(self) -> None:
        raise AssertionError("no read should time out here")


class _Writer:
    transport = _Transport()


def _chunked(parts: list[bytes], extension: bytes = b"", trailers: bytes = b"") -> bytes:
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(part), extension, part) for part in parts if part)
    return framed + b"0\r\n" + trailers + b"\r\n"


def _pieces(arrivals: list[bytes]) -> tuple[list[bytes], str | None, bool]:
    """The pieces decoded from bytes that arrive in `arrivals` (one reader turn each), the cut if any, and
    whether the connection could serve another request."""

    async def run() -> tuple[list[bytes], str | None, bool]:
        reader = asyncio.StreamReader()

        async def arrive() -> None:
            for part in arrivals:
                reader.feed_data(part)
                await asyncio.sleep(0)
            reader.feed_eof()

        feeding = asyncio.create_task(arrive())
        connection = _Connection(reader, _Writer())  # type: ignore[arg-type]  # only its transport is used
        answer = Answer(UpstreamPool("http://127.0.0.1:9"), connection, HEAD, no_body=False)
        pieces, cut = [], None
        try:
            async for piece in answer.pieces():
                pieces.append(piece)
        except AnswerCut as error:
            cut = str(error)
        await feeding
        return pieces, cut, answer._done and not answer._stray

    return asyncio.run(run())


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.binary(min_size=1, max_size=300), max_size=8),
    extension=st.sampled_from([b"", b";name=value", b" ; x"]),
    trailers=st.sampled_from([b"", b"X-Trailer: 1\r\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
def test_the_pieces_are_the_body_however_the_bytes_arrive(
    parts: list[bytes], extension: bytes, trailers: bytes, cuts: list[int]
) -> None:
    wire = _chunked(parts, extension, trailers)
    bounds = sorted({min(cut, len(wire)) for cut in cuts} | {0, len(wire)})
    arrivals = [wire[start:end] for start, end in pairwise(bounds) if end > start]
    pieces, cut, reusable = _pieces(arrivals)
    assert cut is None and reusable
    assert b"".join(pieces) == b"".join(parts)
    assert all(pieces), "no empty piece"
    assert len(pieces) <= len(arrivals), "at most one piece an arrival"


def test_chunks_that_arrive_together_go_on_as_one_piece() -> None:
    lines = [b'{"response":"%d","done":false}\n' % index for index in range(7)]
    pieces, cut, _ = _pieces([_chunked(lines)])
    assert pieces == [b"".join(lines)] and cut is None


@pytest.mark.parametrize(
    ("wire", "passed_on", "reason"),
    [
        (b"5\r\nhel", b"hel", "connection closed mid-chunk"),
        (b"5\r\nhello\r\n", b"hello", "connection closed mid-stream"),
        (b"zz\r\nhello\r\n", b"", "bad chunk size b'zz\\r\\n'"),
        (b"5\r\nhello\r\n7", b"hello", "connection closed mid-chunk"),
        (b"5\r\nhello\r\nq", b"hello", "bad chunk size b'q'"),
        (b"5\r\nhello\r\nzz\r\n", b"hello", "bad chunk size b'zz\\r\\n'"),
        (b"5\r\nhello\r\n-2\r\nworld\r\n0\r\n\r\n", b"hello", "bad chunk size b'-2\\r\\n'"),
        (b"5\r\nhello\r\n0x5\r\nworld\r\n0\r\n\r\n", b"hello", "bad chunk size b'0x5\\r\\n'"),
        (b"3\r\nhelloXYZ\r\n0\r\n\r\n", b"hel", "chunk data longer than its size: b'loXYZ\\r\\n'"),
        (b"5" * 70_000, b"", "a chunk size or trailer line over 65536 bytes"),
    ],
)
def test_a_body_cut_short_is_said(wire: bytes, passed_on: bytes, reason: str) -> None:
    pieces, cut, reusable = _pieces([wire])
    assert cut == reason and not reusable
    assert b"".join(pieces) == passed_on, "what came whole before the cut is passed on"


def test_bytes_after_the_body_keep_the_connection_from_being_used_again() -> None:
    pieces, cut, reusable = _pieces([_chunked([b"hi"]) + b"HTTP/1.1 200 OK\r\n"])
    assert pieces == [b"hi"] and cut is None and not reusable


def test_trailers_cut_short_still_leave_a_whole_body() -> None:
    pieces, cut, _ = _pieces([b"2\r\nhi\r\n0\r\nX-Trailer: 1"])
    assert pieces == [b"hi"] and cut is None
