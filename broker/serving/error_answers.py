"""The answers the worker itself gives, before or instead of the application.

A request that misses a deadline (408), whose head is too large (431), or that
gunicorn's parser refuses gets a complete ``Connection: close`` answer with an
OSB-shaped JSON body, like every error the application gives.
"""

from __future__ import annotations

import json
from email.utils import formatdate

from gunicorn.http.errors import (
    ExpectationFailed,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)

__all__ = ["PARSE_REFUSALS", "error_answer", "refusal_answer"]

# gunicorn's parser refusals that are not a plain 400: (status, reason, OSB error code).
PARSE_REFUSALS: tuple[tuple[type[ParseException], int, str, str], ...] = (
    (LimitRequestLine, 414, "URI Too Long", "URITooLong"),
    (LimitRequestHeaders, 431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge"),
    (UnsupportedTransferCoding, 501, "Not Implemented", "NotImplemented"),
    (ExpectationFailed, 417, "Expectation Failed", "ExpectationFailed"),
)


def refusal_answer(exc: ParseException) -> bytes:
    """The OSB-shaped answer to a request head gunicorn's parser refuses."""
    for kind, status, reason, error in PARSE_REFUSALS:
        if isinstance(exc, kind):
            return error_answer(status, reason, error, f"malformed request: {exc}")
    return error_answer(400, "Bad Request", "BadRequest", f"malformed request: {exc}")


def error_answer(status: int, reason: str, error: str, description: str) -> bytes:
    """A complete ``Connection: close`` answer with an OSB-shaped JSON body."""
    body = json.dumps({"error": error, "description": description}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body
