"""What can go wrong when calling a broker, as one exception tree.

::

    OSBClientError                       any failure of a call through the client
    ├── BrokerError                      the broker answered with a status the call does not accept
    │   │                                (status, error = OSB code, description, body)
    │   ├── RedirectionError             3xx
    │   ├── ClientError                  4xx
    │   │   ├── BadRequestError          400
    │   │   ├── UnauthorizedError        401
    │   │   ├── ForbiddenError           403
    │   │   ├── NotFoundError            404
    │   │   ├── RequestTimeoutError      408
    │   │   ├── ConflictError            409
    │   │   ├── GoneError                410
    │   │   ├── PreconditionFailedError  412
    │   │   └── UnprocessableEntityError 422
    │   │       ├── AsyncRequiredError           error "AsyncRequired"
    │   │       ├── ConcurrencyError             error "ConcurrencyError"
    │   │       ├── RequiresAppError             error "RequiresApp"
    │   │       └── MaintenanceInfoConflictError error "MaintenanceInfoConflict"
    │   └── ServerError                  5xx
    ├── UnexpectedResponse               a success-family answer the call cannot use
    │   ├── UnexpectedStatus             a 2xx the endpoint does not define (204 to a provision)
    │   └── MalformedResponse            a defined success code with a body of the wrong shape
    └── BrokerUnreachable                no HTTP answer: refused, reset, DNS, protocol error
        └── BrokerTimeout                no answer within the timeout

A platform needs exactly these distinctions: Kubernetes Service Catalog, for
example, treats a 400 as terminal, retries other statuses, and starts orphan
mitigation after a 5xx, an unexpected 2xx or a timeout, but not after a refused
connection or a malformed 200.

The 4xx classes end in ``Error`` so that they never share a name with the errors the
broker itself raises (:mod:`broker.osb.errors`); their former names (``NotFound``,
``Conflict`` ...) still import, with a :class:`DeprecationWarning`, until the next
release.
"""

from __future__ import annotations

from typing import Any

from broker.deprecations import warn_renamed

__all__ = [
    "AsyncRequiredError",
    "BadRequestError",
    "BrokerError",
    "BrokerTimeout",
    "BrokerUnreachable",
    "ClientError",
    "ConcurrencyError",
    "ConflictError",
    "ForbiddenError",
    "GoneError",
    "MaintenanceInfoConflictError",
    "MalformedResponse",
    "NotFoundError",
    "OSBClientError",
    "PreconditionFailedError",
    "RedirectionError",
    "RequestTimeoutError",
    "RequiresAppError",
    "ServerError",
    "UnauthorizedError",
    "UnexpectedResponse",
    "UnexpectedStatus",
    "UnprocessableEntityError",
    "broker_error",
]

# Former names of the classes renamed so as not to clash with the broker's own errors.
RENAMED = {
    "AsyncRequired": "AsyncRequiredError",
    "BadRequest": "BadRequestError",
    "Conflict": "ConflictError",
    "Forbidden": "ForbiddenError",
    "Gone": "GoneError",
    "MaintenanceInfoConflict": "MaintenanceInfoConflictError",
    "NotFound": "NotFoundError",
    "PreconditionFailed": "PreconditionFailedError",
    "RequestTimeout": "RequestTimeoutError",
    "RequiresApp": "RequiresAppError",
    "Unauthorized": "UnauthorizedError",
    "UnprocessableEntity": "UnprocessableEntityError",
}


def __getattr__(name: str) -> Any:
    """A former class name answers its class, with a :class:`DeprecationWarning`."""
    new = RENAMED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warn_renamed(f"broker.client.errors.{name}", f"broker.client.{new}")
    return globals()[new]


class OSBClientError(Exception):
    """Base of every failure raised by :class:`~broker.client.OSBClient` and
    :class:`~broker.client.AdminClient`."""


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


class BadRequestError(ClientError):
    pass


class UnauthorizedError(ClientError):
    pass


class ForbiddenError(ClientError):
    pass


class NotFoundError(ClientError):
    pass


class RequestTimeoutError(ClientError):
    pass


class ConflictError(ClientError):
    pass


class GoneError(ClientError):
    pass


class PreconditionFailedError(ClientError):
    pass


class UnprocessableEntityError(ClientError):
    """A 422; the subclasses below are the OSB error codes that come with it."""


class AsyncRequiredError(UnprocessableEntityError):
    pass


class ConcurrencyError(UnprocessableEntityError):
    pass


class RequiresAppError(UnprocessableEntityError):
    pass


class MaintenanceInfoConflictError(UnprocessableEntityError):
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
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    410: GoneError,
    412: PreconditionFailedError,
    422: UnprocessableEntityError,
}

BY_CODE: dict[str, type[BrokerError]] = {
    "AsyncRequired": AsyncRequiredError,
    "ConcurrencyError": ConcurrencyError,
    "RequiresApp": RequiresAppError,
    "MaintenanceInfoConflict": MaintenanceInfoConflictError,
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
