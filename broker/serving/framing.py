"""Where an HTTP/1.1 request ends in the bytes received so far: head, then body.

The event loop of :mod:`broker.serving.worker` reads every request completely
before a thread sees it, so it needs to know, after each read, whether the buffer
holds a whole request yet. That is all this module works out; parsing (and every
error a malformed request deserves) stays gunicorn's, which reads the complete
request from memory afterwards.

The framing follows the rules gunicorn's parser applies (RFC 9112): a body is
``Transfer-Encoding: chunked`` or ``Content-Length`` bytes long, and a request
with neither has none. A request whose framing gunicorn would refuse (two
``Content-Length`` headers, one that is not a number, ``Content-Length`` with
``Transfer-Encoding``, a transfer coding that does not end in ``chunked``, bare LF
line ends, a request line too long) is handed over as it is, so gunicorn answers
it as it always has; the connection closes after that answer, since where the
next request would start is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Framing", "Limits", "Verdict", "request_path"]

CRLF = b"\r\n"
HEAD_END = b"\r\n\r\n"
# A chunk-size line (size and extensions) or trailer line longer than this is refused.
MAX_CHUNK_LINE = 4096
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


class Verdict(Enum):
    MORE = "more"  # not complete yet
    COMPLETE = "complete"  # buffer[:end] is one whole request
    AS_IS = "as-is"  # framing gunicorn refuses: hand over what there is, then close
    BODY_TOO_LARGE = "body-too-large"  # the body would exceed the limit: head only, close
    HEAD_TOO_LARGE = "head-too-large"  # no end of head within the limit: 431, close


@dataclass(frozen=True)
class Limits:
    max_head: int  # request line and headers, bytes
    max_body: int  # decoded body, bytes
    max_request_line: int


class Framing:
    """The framing state of the request being received; ``advance`` after each read."""

    __slots__ = (
        "head_end",
        "chunked",
        "length",
        "expects_continue",
        "http10",
        "_scan_from",
        "_chunk_at",
        "_decoded",
        "_trailers",
        "end",
        "received_body",
    )

    def __init__(self) -> None:
        self.head_end = -1  # index just past the blank line, once found
        self.chunked = False
        self.length = 0  # Content-Length, when not chunked
        self.expects_continue = False
        self.http10 = False
        self._scan_from = 0
        self._chunk_at = 0  # where the next chunk-size line (or trailer line) starts
        self._decoded = 0
        self._trailers = False
        self.end = -1  # index just past the request, once complete
        # Body bytes counted so far (decoded for chunked): what a 413 reports.
        self.received_body = 0

    @property
    def head_complete(self) -> bool:
        return self.head_end >= 0

    def advance(self, buffer: bytearray | bytes, limits: Limits) -> Verdict:
        if self.head_end < 0:
            verdict = self._find_head(buffer, limits)
            if verdict is not None:
                return verdict
        if self.chunked:
            return self._chunks(buffer, limits)
        have = len(buffer) - self.head_end
        if have >= self.length:
            self.received_body = self.length
            self.end = self.head_end + self.length
            return Verdict.COMPLETE
        self.received_body = have
        return Verdict.MORE

    # --- head -------------------------------------------------------------------------

    def _find_head(self, buffer: bytearray | bytes, limits: Limits) -> Verdict | None:
        found = buffer.find(HEAD_END, max(0, self._scan_from - 3))
        if found < 0:
            self._scan_from = len(buffer)
            first_line_end = buffer.find(CRLF)
            if first_line_end < 0 and len(buffer) > limits.max_request_line + 2:
                return Verdict.AS_IS  # gunicorn answers 414
            if buffer.count(b"\n") != buffer.count(CRLF):
                return Verdict.AS_IS  # a bare LF: gunicorn answers 400 at once
            if len(buffer) > limits.max_head:
                return Verdict.HEAD_TOO_LARGE
            return Verdict.MORE
        if found + 4 > limits.max_head:
            return Verdict.HEAD_TOO_LARGE
        self.head_end = found + 4
        return self._read_head(bytes(buffer[:found]), limits)

    def _read_head(self, head: bytes, limits: Limits) -> Verdict | None:
        lines = head.split(CRLF)
        # RFC 9112 2.2: one empty line before the request line is ignored.
        request_line = lines[1] if not lines[0] and len(lines) > 1 else lines[0]
        self.http10 = request_line.endswith(b"HTTP/1.0")
        lengths: list[bytes] = []
        codings: list[bytes] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                continue  # gunicorn refuses the head; the framing does not matter
            name = name.lower()
            if name == b"content-length":
                lengths.append(value.strip(b" \t"))
            elif name == b"transfer-encoding":
                codings.extend(part.strip(b" \t").lower() for part in value.split(b","))
            elif name == b"expect" and value.strip(b" \t").lower() == b"100-continue":
                self.expects_continue = not self.http10
        if codings:
            if lengths or self.http10 or codings[-1] != b"chunked":
                return Verdict.AS_IS
            if codings.count(b"chunked") != 1:
                return Verdict.AS_IS
            self.chunked = True
            self._chunk_at = self.head_end
            return None
        if not lengths:
            return None
        if len(lengths) > 1 or not lengths[0].isdigit():
            return Verdict.AS_IS
        self.length = int(lengths[0])
        if self.length > limits.max_body:
            self.received_body = self.length
            return Verdict.BODY_TOO_LARGE
        return None

    # --- chunked body -----------------------------------------------------------------

    def _chunks(self, buffer: bytearray | bytes, limits: Limits) -> Verdict:
        at = self._chunk_at
        size_of_buffer = len(buffer)
        # The encoding's own bytes (size lines, line ends, trailers) count too: a body
        # sent one byte per chunk must not buffer six times the body limit.
        if size_of_buffer - self.head_end > limits.max_body + limits.max_body // 2 + 65536:
            self.received_body = max(self.received_body, limits.max_body + 1)
            return Verdict.BODY_TOO_LARGE
        while True:
            line_end = buffer.find(CRLF, at, at + MAX_CHUNK_LINE + 2)
            if line_end < 0:
                if size_of_buffer - at > MAX_CHUNK_LINE:
                    return Verdict.AS_IS  # gunicorn refuses the line
                self._chunk_at = at
                return Verdict.MORE
            if self._trailers:
                if line_end == at:  # the blank line after the trailers
                    self.end = at + 2
                    return Verdict.COMPLETE
                at = line_end + 2
                continue
            size_text = bytes(buffer[at:line_end]).split(b";", 1)[0].strip(b" \t")
            if not size_text or not HEX_DIGITS.issuperset(size_text) or len(size_text) > 16:
                return Verdict.AS_IS  # gunicorn answers 400 (invalid chunk size)
            size = int(size_text, 16)
            if size == 0:
                self._trailers = True
                at = line_end + 2
                continue
            if self._decoded + size > limits.max_body:
                self.received_body = self._decoded + size
                return Verdict.BODY_TOO_LARGE
            data_end = line_end + 2 + size
            if size_of_buffer < data_end + 2:
                self._chunk_at = at
                self.received_body = self._decoded + max(0, size_of_buffer - line_end - 2)
                return Verdict.MORE
            if buffer[data_end : data_end + 2] != CRLF:
                return Verdict.AS_IS  # gunicorn answers 400 (chunk missing terminator)
            self._decoded += size
            self.received_body = self._decoded
            at = data_end + 2


def request_path(buffer: bytearray | bytes) -> bytes:
    """The path of the request line at the start of ``buffer`` (no query), or b""."""
    start = 2 if buffer[:2] == CRLF else 0
    line_end = buffer.find(CRLF, start)
    line = buffer[start:line_end] if line_end >= 0 else buffer[start:]
    parts = bytes(line).split(b" ", 2)
    if len(parts) < 2:
        return b""
    return parts[1].split(b"?", 1)[0]
