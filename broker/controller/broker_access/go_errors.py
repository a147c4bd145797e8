"""A failed call to a broker, in the words Service Catalog's messages use.

Service Catalog quotes the errors of its Go OSB client: ``Status: 500; ErrorMessage:
…; Description: …; ResponseError: <nil>`` for an answer it could not use (the
``ResponseError`` says why a body did not decode), and Go's ``url.Error`` for no
answer at all (``Put http://…: dial tcp 127.0.0.1:8080: connect: connection
refused``, ``…: net/http: request canceled (Client.Timeout exceeded while awaiting
headers)``). :func:`call_failed` turns the client's exceptions into those texts.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from broker.client import (
    BrokerError,
    BrokerTimeout,
    MalformedResponse,
    OSBClientError,
    UnexpectedResponse,
)
from broker.controller.go_encoding import go_json_error

__all__ = ["CallFailed", "call_failed"]


class CallFailed(Exception):
    """A call that did not give the answer the controller needs.

    ``status`` is the HTTP status of the answer (``None`` when no answer came at all),
    ``error_status`` tells an error status (3xx/4xx/5xx) from a success-family answer
    the call could not use (``malformed`` when its body had the wrong shape),
    ``timed_out`` a missing answer within the request timeout. ``str()`` is the error
    as Service Catalog's messages quote it: Go's ``HTTPStatusCodeError``
    (``Status: 500; ErrorMessage: …; Description: …; ResponseError: <nil>``) for an
    answer, Go's ``url.Error`` (``Put http://…: dial tcp …: connect: connection
    refused``) for none.
    """

    def __init__(
        self,
        text: str,
        *,
        status: int | None = None,
        error_status: bool = False,
        malformed: bool = False,
        timed_out: bool = False,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
        self.error_status = error_status
        self.malformed = malformed
        self.timed_out = timed_out

    @property
    def answered(self) -> bool:
        """The broker answered with an HTTP status (whatever it was)."""
        return self.status is not None

    @property
    def bad_request(self) -> bool:
        return self.error_status and self.status == 400

    @property
    def gone(self) -> bool:
        return self.error_status and self.status == 410


def call_failed(exc: OSBClientError) -> CallFailed:
    """The controller's view of a client exception."""
    if isinstance(exc, BrokerError):
        return CallFailed(_status_text(exc.status, exc.body), status=exc.status, error_status=True)
    if isinstance(exc, MalformedResponse):
        # A success status whose body does not decode: Go does not look for error fields.
        problem = _response_error(exc.body) if not isinstance(exc.body, dict) else str(exc)
        return CallFailed(
            _go_error(exc.status, None, None, problem or str(exc)),
            status=exc.status,
            malformed=True,
        )
    if isinstance(exc, UnexpectedResponse):
        # A 2xx the call does not expect is read as an error answer, as Go's client does.
        return CallFailed(_status_text(exc.status, exc.body), status=exc.status)
    return CallFailed(_transport_text(exc), timed_out=isinstance(exc, BrokerTimeout))


def _status_text(status: int, body: Any) -> str:
    """Go's text of an error answer: the OSB ``error`` and ``description`` if the body has them."""
    fields = body if isinstance(body, dict) else {}
    error, description = fields.get("error"), fields.get("description")
    return _go_error(
        status,
        error if isinstance(error, str) else None,
        description if isinstance(description, str) else None,
        _response_error(body),
    )


def _go_error(status: int, error: str | None, description: str | None, problem: str | None) -> str:
    def shown(value: str | None) -> str:
        return "<nil>" if value is None else value

    return (
        f"Status: {status}; ErrorMessage: {shown(error)}; Description: {shown(description)}; "
        f"ResponseError: {shown(problem)}"
    )


def _response_error(body: Any) -> str | None:
    """Why Go could not decode ``body`` into an object (None if it could).

    The client hands over a body that is not JSON as its text, and a JSON body parsed.
    """
    if isinstance(body, str):
        return go_json_error(body)
    if body is None or isinstance(body, dict):
        return None
    return go_json_error(json.dumps(body))


def _transport_text(exc: OSBClientError) -> str:
    """Go's ``url.Error`` for a call that got no answer: ``Put http://…: <cause>``."""
    cause = exc.__cause__
    try:
        request = cause.request if isinstance(cause, httpx.RequestError) else None
    except RuntimeError:  # an error raised before the request was built
        request = None
    if request is None:
        return str(exc)
    url = request.url.copy_with(
        query=urlencode(sorted(parse_qsl(request.url.query.decode()))).encode() or None
    )
    address = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    text = str(cause)
    if isinstance(cause, httpx.TimeoutException):
        reason = "net/http: request canceled (Client.Timeout exceeded while awaiting headers)"
    elif isinstance(cause, httpx.ConnectError) and "refused" in text.lower():
        reason = f"dial tcp {address}: connect: connection refused"
    elif isinstance(cause, httpx.ConnectError) and (
        "name or service" in text.lower() or "nodename" in text.lower() or "getaddrinfo" in text
    ):
        reason = f"dial tcp: lookup {url.host}: no such host"
    elif isinstance(cause, httpx.RemoteProtocolError) and "disconnected" in text.lower():
        reason = "EOF"
    elif "reset by peer" in text.lower():
        reason = f"read tcp {address}: read: connection reset by peer"
    else:
        reason = text or type(cause).__name__
    return f"{request.method[:1]}{request.method[1:].lower()} {url}: {reason}"
