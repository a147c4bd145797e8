"""OSB API versions 2.11 to 2.17: what each one defines, and answers shaped to it.

The broker answers every request as one version defines it: the version the
platform announced in ``X-Broker-API-Version`` (a newer 2.x than the newest known
counts as the newest), or the one ``BROKER_OSB_VERSION`` pins whatever the platform
announces. A platform written against 2.13 then never meets a field or a
behaviour 2.13 does not have: a catalog field added later, an asynchronous
binding, a binding ``endpoints`` list its client library cannot parse.

Each rule below names the version whose text introduced it (checked against the
``spec.md`` of the ``v2.11`` … ``v2.17`` tags of the specification repository).
Pure functions and data; no Flask.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from broker.api_versions import KNOWN, NEWEST, OLDEST, Version, parse_version, shown
from broker.osb.errors import NotFound

__all__ = [
    "ASYNC_BINDINGS",
    "CATALOG_FIELDS",
    "KNOWN",
    "MAINTENANCE_INFO",
    "NEWEST",
    "OLDEST",
    "RESPONSE_FIELDS",
    "ROTATION",
    "CatalogBodies",
    "Version",
    "answer_fields",
    "async_bindings",
    "catalog_document",
    "check_endpoint_defined",
    "defines_maintenance_info",
    "defines_polling_duration",
    "defines_rotation",
    "effective_version",
    "empty_gone_body",
    "error_fields",
    "missing_resource_poll_status",
    "parse_version",
    "shown",
]


# Catalog fields and the version that introduced them; older versions never see them.
CATALOG_FIELDS: Mapping[str, Mapping[str, Version]] = {
    "service": {
        "instances_retrievable": (2, 14),
        "bindings_retrievable": (2, 14),
        "allow_context_updates": (2, 15),
    },
    "plan": {
        "schemas": (2, 13),
        "plan_updateable": (2, 15),
        "maximum_polling_duration": (2, 15),
        "maintenance_info": (2, 15),
        "binding_rotatable": (2, 17),
    },
}

# Response body fields per operation (the endpoint names of broker.web.osb_api) and
# the version that introduced them. Nested: "metadata.renew_before".
RESPONSE_FIELDS: Mapping[str, Mapping[str, Version]] = {
    "provision": {"metadata": (2, 16)},
    "update": {"dashboard_url": (2, 14), "metadata": (2, 16)},
    "fetch_instance": {"maintenance_info": (2, 17), "metadata": (2, 17)},
    "bind": {"endpoints": (2, 15), "metadata": (2, 16), "metadata.renew_before": (2, 17)},
    "fetch_binding": {
        "endpoints": (2, 15),
        "metadata": (2, 16),
        "metadata.renew_before": (2, 17),
    },
    "last_operation": {"instance_usable": (2, 16), "update_repeatable": (2, 16)},
    "binding_last_operation": {"instance_usable": (2, 16), "update_repeatable": (2, 16)},
}

# Error body fields the "Service Broker Errors" section added.
ERROR_FIELDS: Mapping[str, Version] = {"instance_usable": (2, 16), "update_repeatable": (2, 16)}

# The endpoints a version added (by their names in broker.web.osb_api, with the path
# as the spec writes it): fetching an instance or a binding (instances_retrievable,
# bindings_retrievable) and polling a binding (asynchronous bindings) came with 2.14.
_ENDPOINTS: Mapping[str, tuple[str, Version]] = {
    "fetch_instance": ("GET /v2/service_instances/:instance_id", (2, 14)),
    "fetch_binding": (
        "GET /v2/service_instances/:instance_id/service_bindings/:binding_id",
        (2, 14),
    ),
    "binding_last_operation": (
        "GET /v2/service_instances/:instance_id/service_bindings/:binding_id/last_operation",
        (2, 14),
    ),
}


def check_endpoint_defined(operation: str | None, version: Version) -> None:
    """404 NotFound for an endpoint ``version`` does not define, as a broker of that
    version answers a route it does not have; the description names both versions."""
    added = _ENDPOINTS.get(operation or "")
    if added is None or version >= added[1]:
        return
    endpoint, since = added
    raise NotFound(
        f"{endpoint} is defined from OSB {shown(since)}; "
        f"this request was answered as OSB {shown(version)}"
    )


def effective_version(announced: Version, pinned: Version | None) -> Version:
    """The version the broker answers as: the pinned one, else the announced one
    (a newer 2.x than :data:`NEWEST` is answered as :data:`NEWEST`)."""
    if pinned is not None:
        return pinned
    return min(announced, NEWEST)


# --- behaviours ---------------------------------------------------------------------
# The version that introduced each behaviour, for rules that compare a request's
# version with it directly; the functions below say what each one means.
ASYNC_BINDINGS: Version = (2, 14)
MAINTENANCE_INFO: Version = (2, 15)
ROTATION: Version = (2, 17)


def async_bindings(version: Version) -> bool:
    """2.14 added asynchronous bind and unbind (and binding ``last_operation``).

    Before it, a binding is made and removed synchronously on every plan, also on
    one declared asynchronous or ``async-required``.
    """
    return version >= ASYNC_BINDINGS


def defines_polling_duration(version: Version) -> bool:
    """2.15 added the plan's ``maximum_polling_duration``; before it no operation
    fails for having run longer."""
    return version >= (2, 15)


def defines_maintenance_info(version: Version) -> bool:
    """2.15 added ``maintenance_info``; before it the field means nothing and a
    request carrying it is read without it (unknown fields are ignored)."""
    return version >= MAINTENANCE_INFO


def defines_rotation(version: Version) -> bool:
    """2.17 added binding rotation (``predecessor_binding_id``)."""
    return version >= ROTATION


def missing_resource_poll_status(version: Version) -> int:
    """The status of a ``last_operation`` poll for an instance or binding that does
    not exist: 404 from 2.16 ("MUST be returned if the Service Instance being polled
    does not exist"); before 2.16 the section defines no 404, and 410 Gone is its one
    status for a resource that is gone."""
    return 404 if version >= (2, 16) else 410


def empty_gone_body(version: Version) -> bool:
    """Up to 2.13, "The expected response body is ``{}``" for every 410 Gone."""
    return version <= (2, 13)


# --- answers ------------------------------------------------------------------------


def _without(body: Mapping[str, Any], fields: Mapping[str, Version], version: Version) -> Any:
    shaped = dict(body)
    for name, since in fields.items():
        if version >= since:
            continue
        head, _, tail = name.partition(".")
        if not tail:
            shaped.pop(head, None)
        elif isinstance(shaped.get(head), Mapping):
            shaped[head] = {key: value for key, value in shaped[head].items() if key != tail}
    return shaped


def answer_fields(operation: str | None, body: Any, version: Version) -> Any:
    """``body`` (an operation's answer) without the fields ``version`` does not define."""
    fields = RESPONSE_FIELDS.get(operation or "")
    if not fields or not isinstance(body, Mapping) or version >= NEWEST:
        return body
    return _without(body, fields, version)


def error_fields(status: int, body: Mapping[str, Any], version: Version) -> dict[str, Any]:
    """An error body as ``version`` defines it: ``{}`` for 410 up to 2.13, and no
    field added after ``version``."""
    if status == 410 and empty_gone_body(version):
        return {}
    shaped: dict[str, Any] = _without(body, ERROR_FIELDS, version)
    return shaped


def catalog_document(document: Mapping[str, Any], version: Version) -> dict[str, Any]:
    """The ``GET /v2/catalog`` document without the fields ``version`` does not define."""
    services = []
    for service in document.get("services", []):
        trimmed = _without(service, CATALOG_FIELDS["service"], version)
        trimmed["plans"] = [
            _without(plan, CATALOG_FIELDS["plan"], version) for plan in service.get("plans", [])
        ]
        services.append(trimmed)
    return {**document, "services": services}


class CatalogBodies:
    """``GET /v2/catalog`` bodies and ETags per version, made once per catalog.

    Only the current catalog's bodies are kept (a changed catalog drops the rest).
    """

    def __init__(self) -> None:
        self._etag: str | None = None
        self._bodies: dict[Version, tuple[bytes, str]] = {}
        self._mutex = threading.Lock()

    def body(self, body: bytes, etag: str, version: Version) -> tuple[bytes, str]:
        """The body and ETag of the catalog ``body`` (ETag ``etag``) for ``version``."""
        if version >= NEWEST:
            return body, etag
        with self._mutex:
            if self._etag != etag:
                self._etag, self._bodies = etag, {}
            made = self._bodies.get(version)
            if made is None:
                document = catalog_document(json.loads(body), version)
                shaped = json.dumps(document, separators=(",", ":")).encode()
                made = (shaped, f"{etag[:26]}-{shown(version)}")
                self._bodies[version] = made
            return made
