"""JSON in and out of requests: the fast codec answers exactly as the standard library's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.decoding import MAX_NESTING, DecodingError, _decode_standard, decode_json
from broker.web.errors import encode_json

ACCEPTED = [
    b'{"service_id":"s","plan_id":"p","parameters":{"size":3,"ratio":0.25,"on":true}}',
    b'{"a":1,"a":2}',
    b'{"big":123456789012345678901234567890,"neg":-98765432109876543210}',
    b'{"small":1e-400,"exp":1E2,"zero":-0,"float":1.5e308}',
    b'{"text":"\\u00e9\\ud83d\\ude00 caf\xc3\xa9","escaped":"tab\\t\\"q\\""}',
    b'{"lone":"\\ud800"}',
    b'  [1, 2, {"x": null}]  ',
    b"[" * MAX_NESTING + b"]" * MAX_NESTING,
]
REFUSED = [
    (b'{"a":NaN}', "holds NaN"),
    (b'{"a":-Infinity}', "holds -Infinity"),
    (b'{"a":1e999}', "too large for a float"),
    (b'{"a":"x\\u0000y"}', "NUL character"),
    (b'{"a":1} x', "is not valid JSON"),
    (b'{"a":"\xff"}', "not UTF-8"),
    (b"\xef\xbb\xbf{}", "is not valid JSON"),
    (b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1), "deeper than"),
]


def standard(raw: bytes) -> Any:
    return _decode_standard(raw)


@pytest.mark.parametrize("raw", ACCEPTED, ids=range(len(ACCEPTED)))
def test_an_accepted_body_decodes_to_the_standard_librarys_value(raw: bytes) -> None:
    value = decode_json(raw)
    assert value == standard(raw)
    assert json.dumps(value) == json.dumps(standard(raw))  # same types (int stays int)


@pytest.mark.parametrize(("raw", "reason"), REFUSED, ids=range(len(REFUSED)))
def test_a_refused_body_gets_the_standard_librarys_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodingError) as fast:
        decode_json(raw)
    with pytest.raises(DecodingError) as slow:
        standard(raw)
    assert str(fast.value) == str(slow.value)
    assert reason in str(fast.value)


@pytest.mark.parametrize(
    "body",
    [
        {"dashboard_url": "http://x/é", "operation": "op-1"},
        {"credentials": {"port": 5432, "uri": "postgres://u:p@h/db"}, "n": [1.5, None, True]},
        {"huge": 10**30},
        {1: "a key that is not a string"},
    ],
)
def test_an_encoded_answer_holds_what_the_standard_library_writes(body: Any) -> None:
    encoded = encode_json(body)
    assert json.loads(encoded) == json.loads(json.dumps(body))
    assert b" " not in encoded.replace(b"a key that is not a string", b"")
