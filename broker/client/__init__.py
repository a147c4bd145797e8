"""An Open Service Broker API client (httpx, synchronous), plus mockbroker's admin API.

::

    from broker.client import OSBClient

    with OSBClient("http://127.0.0.1:8080", username="broker", password="broker") as osb:
        catalog = osb.catalog()
        service, plan = catalog.plan("mock-database", "small")
        answer = osb.provision("i-1", service["id"], plan["id"], organization_guid="org",
                               space_guid="space", accepts_incomplete=True)
        if answer.is_async:
            osb.last_operation("i-1", operation=answer.operation)

- :class:`OSBClient` calls the ten OSB endpoints (:mod:`broker.client.instances`,
  :mod:`broker.client.bindings`); its :attr:`~OSBClient.admin` is an
  :class:`AdminClient` (:mod:`broker.client.admin`) on the same connection, whose
  calls are also the OSB client's own (``osb.reset()``, ``osb.journal()`` …).
- Every call answers a small dataclass (:mod:`broker.client.responses`) or raises one
  of the exceptions of :mod:`broker.client.errors`: a :class:`BrokerError` subclass for
  an error status (with the OSB ``error`` code), :class:`UnexpectedStatus` or
  :class:`MalformedResponse` for a success-family answer the call cannot use, and
  :class:`BrokerUnreachable` / :class:`BrokerTimeout` when no answer came at all.
  Deletes answer 410 as a normal :class:`OperationResponse` (``.gone``): for a
  delete, "does not exist" is as good as done.

Tests can run the client against an in-process app with
``transport=httpx.WSGITransport(app=create_app(...))``, or against canned answers
with ``httpx.MockTransport``.

Names renamed so as not to clash with the broker's own (``Catalog`` is now
:class:`CatalogResponse`, ``NotFound`` :class:`NotFoundError` …) still import from
here, with a :class:`DeprecationWarning`, until the next release.
"""

from __future__ import annotations

from typing import Any

from broker.client.admin import AdminClient
from broker.client.errors import (
    RENAMED,
    AsyncRequiredError,
    BadRequestError,
    BrokerError,
    BrokerTimeout,
    BrokerUnreachable,
    ClientError,
    ConcurrencyError,
    ConflictError,
    ForbiddenError,
    GoneError,
    MaintenanceInfoConflictError,
    MalformedResponse,
    NotFoundError,
    OSBClientError,
    PreconditionFailedError,
    RedirectionError,
    RequestTimeoutError,
    RequiresAppError,
    ServerError,
    UnauthorizedError,
    UnexpectedResponse,
    UnexpectedStatus,
    UnprocessableEntityError,
)
from broker.client.osb_client import OSBClient
from broker.client.osb_requests import OriginatingIdentity
from broker.client.responses import (
    Answer,
    BindingDetails,
    BindResponse,
    CatalogResponse,
    InstanceDetails,
    InstanceResponse,
    LastOperation,
    OperationResponse,
)
from broker.deprecations import warn_renamed

__all__ = [
    "AdminClient",
    "Answer",
    "AsyncRequiredError",
    "BadRequestError",
    "BindResponse",
    "BindingDetails",
    "BrokerError",
    "BrokerTimeout",
    "BrokerUnreachable",
    "CatalogResponse",
    "ClientError",
    "ConcurrencyError",
    "ConflictError",
    "ForbiddenError",
    "GoneError",
    "InstanceDetails",
    "InstanceResponse",
    "LastOperation",
    "MaintenanceInfoConflictError",
    "MalformedResponse",
    "NotFoundError",
    "OSBClient",
    "OSBClientError",
    "OperationResponse",
    "OriginatingIdentity",
    "PreconditionFailedError",
    "RedirectionError",
    "RequestTimeoutError",
    "RequiresAppError",
    "ServerError",
    "UnauthorizedError",
    "UnexpectedResponse",
    "UnexpectedStatus",
    "UnprocessableEntityError",
]

_RENAMED = {**RENAMED, "Catalog": "CatalogResponse"}


def __getattr__(name: str) -> Any:
    """A former name (``Catalog``, ``NotFound`` …) answers what it names now, with a warning."""
    new = _RENAMED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warn_renamed(f"broker.client.{name}", f"broker.client.{new}")
    return globals()[new]
