"""Former home of :mod:`broker.client.responses`; importing it warns (until the next release).

``Catalog`` is :class:`~broker.client.responses.CatalogResponse` here.
"""

from __future__ import annotations

from broker.client import responses as _responses
from broker.client.responses import *  # noqa: F403
from broker.client.responses import (
    BindBody,
    BindingDetailsBody,
    CatalogBody,
    CatalogResponse,
    InstanceBody,
    InstanceDetailsBody,
    LastOperationBody,
    OperationBody,
)
from broker.deprecations import warn_renamed

warn_renamed("the module broker.client_responses", "broker.client (or broker.client.responses)")

__all__ = [
    *_responses.__all__,
    "BindBody",
    "BindingDetailsBody",
    "Catalog",
    "CatalogBody",
    "InstanceBody",
    "InstanceDetailsBody",
    "LastOperationBody",
    "OperationBody",
]

Catalog = CatalogResponse
