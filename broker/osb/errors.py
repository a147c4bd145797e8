"""The OSB error catalogue: every failure the broker answers with, as data.

::

    OSBError                      status + OSB "error" code + description
    ├── BadRequest                400  malformed request, missing or invalid data
    ├── Unauthorized              401  no or wrong credentials
    ├── NotFound                  404  no such resource (or still being created)
    ├── Conflict                  409  exists with different attributes
    ├── Gone                      410  does not exist (DELETE, async delete finished)
    ├── PayloadTooLarge           413  body over the configured limit
    ├── PreconditionFailed        412  X-Broker-API-Version missing or unsupported
    ├── UnprocessableEntity       422  generic "cannot do that" (UnprocessableEntity)
    │   ├── AsyncRequired         422  AsyncRequired
    │   ├── ConcurrencyError      422  ConcurrencyError
    │   ├── RequiresApp           422  RequiresApp
    │   └── MaintenanceInfoConflict 422 MaintenanceInfoConflict
    ├── OperationFailed           any  a declared (mock) failure of a sync operation
    └── BackendFailure            500  a credential backend call failed

The domain raises them; one Flask error handler renders them. Nothing else maps
exceptions to statuses.

Three codes answer the spec's own sample sentence as ``description``, word for
word (:attr:`OSBError.sentence`): platform-side clients recognise them by that
text alone (the Go client Service Catalog uses decides on it whether to retry
with ``accepts_incomplete=true``). What the broker would have said goes in the
vendor extension field :data:`DETAIL_FIELD`, prefixed as the spec asks of
extension fields.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "DETAIL_FIELD",
    "AsyncRequired",
    "BackendFailure",
    "BadRequest",
    "ConcurrencyError",
    "Conflict",
    "Forbidden",
    "Gone",
    "MaintenanceInfoConflict",
    "NotFound",
    "OSBError",
    "OperationFailed",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RequiresApp",
    "Unauthorized",
    "UnprocessableEntity",
    "spec_sentence",
]


# The vendor extension field that carries the broker's own detail next to a spec sentence.
DETAIL_FIELD = "mockbroker_detail"


class OSBError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str | None] = None
    # The spec's sample description for this code, answered verbatim when set.
    sentence: ClassVar[str | None] = None

    def __init__(
        self,
        description: str | None = None,
        *,
        error: str | None = None,
        status: int | None = None,
        instance_usable: bool | None = None,
        update_repeatable: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description or self.__class__.__name__)
        self.headers = headers or {}
        self.description = description
        self.error = error if error is not None else self.code
        self.status_code = status if status is not None else self.status
        self.instance_usable = instance_usable
        self.update_repeatable = update_repeatable

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.error:
            body["error"] = self.error
        if self.sentence is not None and self.error == self.code:
            body["description"] = self.sentence
            if self.description and self.description != self.sentence:
                body[DETAIL_FIELD] = self.description
        elif self.description:
            body["description"] = self.description
        if self.instance_usable is not None:
            body["instance_usable"] = self.instance_usable
        if self.update_repeatable is not None:
            body["update_repeatable"] = self.update_repeatable
        return body


class BadRequest(OSBError):
    status = 400
    code = "BadRequest"


class Unauthorized(OSBError):
    status = 401
    code = "Unauthorized"


class Forbidden(OSBError):
    status = 403
    code = "Forbidden"


class NotFound(OSBError):
    status = 404
    code = "NotFound"


class Conflict(OSBError):
    status = 409
    code = "Conflict"


class Gone(OSBError):
    status = 410
    code = "Gone"


class PreconditionFailed(OSBError):
    status = 412
    code = "PreconditionFailed"


class PayloadTooLarge(OSBError):
    status = 413
    code = "PayloadTooLarge"


class UnprocessableEntity(OSBError):
    status = 422
    # OSB mandates no code here; one is sent anyway so every error body has both
    # "error" and "description" (subclasses carry the codes the spec defines).
    code: ClassVar[str | None] = "UnprocessableEntity"


class AsyncRequired(UnprocessableEntity):
    code = "AsyncRequired"
    sentence = "This service plan requires client support for asynchronous service operations."


class ConcurrencyError(UnprocessableEntity):
    code = "ConcurrencyError"
    sentence = (
        "The Service Broker does not support concurrent requests that mutate the same resource."
    )


class RequiresApp(UnprocessableEntity):
    code = "RequiresApp"
    sentence = (
        "This service supports generation of credentials through binding an application only."
    )


class MaintenanceInfoConflict(UnprocessableEntity):
    code = "MaintenanceInfoConflict"


class OperationFailed(OSBError):
    """A synchronous operation declared to fail (``result: failed`` in the catalog)."""

    status = 500
    code = "OperationFailed"


class BackendFailure(OSBError):
    status = 500
    code = "BackendError"


def spec_sentence(code: str | None) -> str | None:
    """The spec's sample description for an error code, if the spec gives one."""
    for kind in (AsyncRequired, ConcurrencyError, RequiresApp):
        if kind.code == code:
            return kind.sentence
    return None
