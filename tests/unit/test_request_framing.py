"""Where a request ends in the bytes received so far (broker/serving/framing.py)."""

from __future__ import annotations

import pytest

from broker.serving.framing import Framing, Limits, Verdict, request_path

LIMITS = Limits(max_head=4096, max_body=1000, max_request_line=200)


def frame(data: bytes, limits: Limits = LIMITS) -> tuple[Verdict, Framing]:
    framing = Framing()
    return framing.advance(bytearray(data), limits), framing


def frame_bytewise(data: bytes, limits: Limits = LIMITS) -> tuple[Verdict, Framing, int]:
    """Feed ``data`` one byte at a time; the first verdict that is not MORE, and when."""
    framing = Framing()
    buffer = bytearray()
    for count, byte in enumerate(data, 1):
        buffer.append(byte)
        verdict = framing.advance(buffer, limits)
        if verdict is not Verdict.MORE:
            return verdict, framing, count
    return Verdict.MORE, framing, len(data)


GET = b"GET /v2/catalog HTTP/1.1\r\nHost: b\r\n\r\n"
PUT = b"PUT /v2/service_instances/x HTTP/1.1\r\nHost: b\r\nContent-Length: 11\r\n\r\nhello world"
CHUNKED = (
    b"PUT /x HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
)


@pytest.mark.parametrize("request_bytes", [GET, PUT, CHUNKED], ids=["get", "length", "chunked"])
def test_a_request_is_complete_exactly_at_its_last_byte(request_bytes: bytes) -> None:
    verdict, framing, count = frame_bytewise(request_bytes)
    assert (verdict, count, framing.end) == (Verdict.COMPLETE, len(request_bytes), count)
    verdict, framing = frame(request_bytes)
    assert (verdict, framing.end) == (Verdict.COMPLETE, len(request_bytes))


@pytest.mark.parametrize("request_bytes", [GET, PUT, CHUNKED], ids=["get", "length", "chunked"])
def test_a_pipelined_request_after_it_is_left_for_later(request_bytes: bytes) -> None:
    verdict, framing = frame(request_bytes + GET)
    assert (verdict, framing.end) == (Verdict.COMPLETE, len(request_bytes))


def test_the_body_counted_so_far_is_known_while_it_arrives() -> None:
    verdict, framing = frame(PUT[:-5])
    assert verdict is Verdict.MORE
    assert framing.head_complete and framing.received_body == 6


def test_one_empty_line_before_the_request_line_is_allowed() -> None:
    verdict, framing = frame(b"\r\n" + GET)
    assert (verdict, framing.end) == (Verdict.COMPLETE, len(GET) + 2)
    assert request_path(b"\r\n" + GET) == b"/v2/catalog"


def test_a_client_asking_for_100_continue_is_noticed_on_http_1_1_only() -> None:
    head = b"PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n"
    assert frame(head)[1].expects_continue
    old = head.replace(b"HTTP/1.1", b"HTTP/1.0")
    assert not frame(old)[1].expects_continue


@pytest.mark.parametrize(
    "head",
    [
        b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"PUT /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /x HTTP/1.1\nHost: b\n",
        b"GET /" + b"a" * 300,
    ],
    ids=[
        "two lengths",
        "signed length",
        "length and chunked",
        "not ending in chunked",
        "chunked twice",
        "chunked then gzip",
        "chunked on HTTP/1.0",
        "bare LF",
        "request line too long",
    ],
)
def test_framing_gunicorn_refuses_is_handed_over_as_it_is(head: bytes) -> None:
    assert frame(head)[0] is Verdict.AS_IS


@pytest.mark.parametrize(
    "body",
    [b"zz\r\nhello\r\n", b"5\r\nhelloXX", b"5\r\nhello world\r\n", b"f" * 5000],
    ids=["not hex", "missing line end", "longer than its size", "endless size line"],
)
def test_a_malformed_chunk_is_handed_over_as_it_is(body: bytes) -> None:
    head = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert frame(head + body)[0] is Verdict.AS_IS


def test_a_length_over_the_limit_is_refused_before_any_body_byte() -> None:
    verdict, framing = frame(b"PUT /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
    assert verdict is Verdict.BODY_TOO_LARGE
    assert framing.received_body == 1001


def test_a_chunked_body_over_the_limit_is_refused_at_the_chunk_that_passes_it() -> None:
    head = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"1f4\r\n" + b"a" * 500 + b"\r\n" + b"1f5\r\n"  # 500 bytes, then 501 announced
    verdict, framing = frame(head + body)
    assert verdict is Verdict.BODY_TOO_LARGE
    assert framing.received_body == 1001


def test_a_chunked_body_made_mostly_of_its_encoding_counts_that_too() -> None:
    head = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    limits = Limits(max_head=4096, max_body=1000, max_request_line=200)
    tiny = b"1\r\na\r\n" * 20000  # 20 000 body bytes would be refused anyway; 120 000 on the wire
    verdict, _, count = frame_bytewise(head + tiny, limits)
    assert verdict is Verdict.BODY_TOO_LARGE
    assert count < len(head) + 6 * 1001


def test_endless_trailers_are_bounded_like_the_body() -> None:
    head = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    verdict, _ = frame(head + b"X-T: v\r\n" * 10000)
    assert verdict is Verdict.BODY_TOO_LARGE


def test_a_head_over_the_limit_is_refused() -> None:
    head = b"GET /x HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 100 + b"\r\n"
    verdict, _ = frame(head * 50)
    assert verdict is Verdict.HEAD_TOO_LARGE
    verdict, _ = frame(head * 50 + b"\r\n")
    assert verdict is Verdict.HEAD_TOO_LARGE


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b"GET /livez HTTP/1.1\r\n", b"/livez"),
        (b"GET /admin/requests?wait=5 HTTP/1.1\r\n\r\n", b"/admin/requests"),
        (b"GET /v2/cat", b"/v2/cat"),
        (b"nonsense", b""),
    ],
)
def test_the_path_is_read_from_the_request_line(data: bytes, path: bytes) -> None:
    assert request_path(data) == path
