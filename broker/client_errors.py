"""What can go wrong when calling a broker, as one exception tree.

::

    OSBClientError                      any failure of a call through OSBClient
    ├── BrokerError                     the broker answered with a status the call does not accept
    │   │                               (status, error = OSB code, description, body)
    │   ├── RedirectionError            3xx
    │   ├── ClientError                 4xx
    │   │   ├── BadRequest              400
    │   │   ├── Unauthorized            401
    │   │   ├── Forbidden               403
    │   │   ├── NotFound                404
    │   │   ├── RequestTimeout          408
    │   │   ├── Conflict                409
    │   │   ├── Gone                    410
    │   │   ├── PreconditionFailed      412
    │   │   └── UnprocessableEntity     422
    │   │       ├── AsyncRequired           error "AsyncRequired"
    │   │       ├── ConcurrencyError        error "ConcurrencyError"
    │   │       ├── RequiresApp             error "RequiresApp"
    │   │       └── MaintenanceInfoConflict error "MaintenanceInfoConflict"
    │   └── ServerError                 5xx
    ├── UnexpectedResponse              a success-family answer the call cannot use
    │   ├── UnexpectedStatus            a 2xx the endpoint does not define (204 to a provision)
    │   └── MalformedResponse           a defined success code with a body of the wrong shape
    └── BrokerUnreachable               no HTTP answer: refused, reset, DNS, protocol error
        └── BrokerTimeout               no answer within the timeout

A platform needs exactly these distinctions: Kubernetes Service Catalog, for
example, treats a 400 as terminal, retries other statuses, and starts orphan
mitigation after a 5xx, an unexpected 2xx or a timeout, but not after a refused
connection or a malformed 200.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AsyncRequired",
    "BadRequest",
    "BrokerError",
    "BrokerTimeout",
    "BrokerUnreachable",
    "ClientError",
    "ConcurrencyError",
    "Conflict",
    "Forbidden",
    "Gone",
    "MaintenanceInfoConflict",
    "MalformedResponse",
    "NotFound",
    "OSBClientError",
    "PreconditionFailed",
    "RedirectionError",
    "RequestTimeout",
    "RequiresApp",
    "ServerError",
    "Unauthorized",
    "UnexpectedResponse",
    "UnexpectedStatus",
    "UnprocessableEntity",
    "broker_error",
]


class OSBClientError(Exception):
    """Base of every failure raised by :class:`broker.client.OSBClient`."""


class BrokerError(OSBClientError):
    """The broker answered with an error status.

    ``error`` is the OSB error code (``"AsyncRequired"`` …) when the body carried one,
    ``description`` the human-readable text, ``body`` the parsed JSON (or the raw text
    when the body was not JSON), ``retry_after`` the Retry-After header in seconds.
    """

    def __init__(
        self,
        status: int,
        error: str | None = None,
        description: str | None = None,
        body: Any = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.description = description
        self.body = body
        self.retry_after = retry_after
        super().__init__(self.summary())

    @property
    def instance_usable(self) -> bool | None:
        value = self.body.get("instance_usable") if isinstance(self.body, dict) else None
        return value if isinstance(value, bool) else None

    @property
    def update_repeatable(self) -> bool | None:
        value = self.body.get("update_repeatable") if isinstance(self.body, dict) else None
        return value if isinstance(value, bool) else None

    def summary(self) -> str:
        """``Status: 500; ErrorMessage: X; Description: Y`` (the shape platforms log)."""
        parts = [f"Status: {self.status}"]
        parts.append(f"ErrorMessage: {self.error if self.error is not None else '<nil>'}")
        parts.append(
            f"Description: {self.description if self.description is not None else '<nil>'}"
        )
        return "; ".join(parts)


class RedirectionError(BrokerError):
    """A 3xx answer (the client never follows redirects)."""


class ClientError(BrokerError):
    """A 4xx answer."""


class BadRequest(ClientError):
    pass


class Unauthorized(ClientError):
    pass


class Forbidden(ClientError):
    pass


class NotFound(ClientError):
    pass


class RequestTimeout(ClientError):
    pass


class Conflict(ClientError):
    pass


class Gone(ClientError):
    pass


class PreconditionFailed(ClientError):
    pass


class UnprocessableEntity(ClientError):
    """A 422; the subclasses below are the OSB error codes that come with it."""


class AsyncRequired(UnprocessableEntity):
    pass


class ConcurrencyError(UnprocessableEntity):
    pass


class RequiresApp(UnprocessableEntity):
    pass


class MaintenanceInfoConflict(UnprocessableEntity):
    pass


class ServerError(BrokerError):
    """A 5xx answer."""


class UnexpectedResponse(OSBClientError):
    """A success-family answer that the call cannot use; carries status and raw body."""

    def __init__(self, status: int, body: Any, message: str) -> None:
        self.status = status
        self.body = body
        super().__init__(message)


class UnexpectedStatus(UnexpectedResponse):
    """A status the endpoint does not define (204 to a provision; 202 if not accepts_incomplete)."""


class MalformedResponse(UnexpectedResponse):
    """A defined success status whose body is not JSON, or not the shape OSB defines."""


class BrokerUnreachable(OSBClientError):
    """The request got no HTTP answer at all."""


class BrokerTimeout(BrokerUnreachable):
    """The broker did not answer within the client's timeout."""


BY_STATUS: dict[int, type[BrokerError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    408: RequestTimeout,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
    422: UnprocessableEntity,
}

BY_CODE: dict[str, type[BrokerError]] = {
    "AsyncRequired": AsyncRequired,
    "ConcurrencyError": ConcurrencyError,
    "RequiresApp": RequiresApp,
    "MaintenanceInfoConflict": MaintenanceInfoConflict,
}


def broker_error(status: int, body: Any, retry_after: float | None = None) -> BrokerError:
    """The most specific :class:`BrokerError` for an error status and its parsed body."""
    error = description = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        description = body.get("description") if isinstance(body.get("description"), str) else None
    kind: type[BrokerError]
    if status == 422 and error in BY_CODE:
        kind = BY_CODE[error]
    elif status in BY_STATUS:
        kind = BY_STATUS[status]
    elif 300 <= status < 400:
        kind = RedirectionError
    elif 400 <= status < 500:
        kind = ClientError
    elif status >= 500:
        kind = ServerError
    else:
        kind = BrokerError
    return kind(status, error, description, body, retry_after=retry_after)
