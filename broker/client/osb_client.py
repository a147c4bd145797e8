""":class:`OSBClient`: the ten OSB endpoints of one broker, and its admin API alongside."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from broker.client.admin import AdminClient
from broker.client.bindings import BindingCalls
from broker.client.connection import Connection, auth_header, header_value
from broker.client.instances import InstanceCalls
from broker.client.osb_requests import OriginatingIdentity
from broker.client.responses import CatalogBody, CatalogResponse, parse_retry_after
from broker.deprecations import warn_renamed

__all__ = ["OSBClient"]

_CATALOG = CatalogBody()


class OSBClient(InstanceCalls, BindingCalls):
    """Calls one broker's ``/v2`` endpoints, and mockbroker's ``/admin`` API through
    :attr:`admin` (an :class:`~broker.client.AdminClient` on the same connection).

    ``base_url`` is the broker's root (the client appends ``/v2/...``). Authenticate
    with ``username``/``password`` (HTTP Basic) or ``token`` (Bearer). The admin API
    uses ``admin_username``/``admin_password``, defaulting to the OSB credentials.
    ``identity`` is sent as the originating identity on every call unless a call
    passes its own. ``transport`` replaces the network (``httpx.WSGITransport``,
    ``httpx.MockTransport``). Redirects are answers like any other unless
    ``follow_redirects`` (what Go's ``net/http`` does, and so Kubernetes Service
    Catalog). The client is thread-safe; close it (or use ``with``).

    The admin calls are also methods of the client itself (``client.reset()``,
    ``client.journal()`` …): they are the :attr:`admin` client's.
    """

    admin_class: type[AdminClient] = AdminClient

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        api_version: str = "2.17",
        admin_username: str | None = None,
        admin_password: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        identity: OriginatingIdentity | None = None,
        verify: bool | str | ssl.SSLContext = True,
        follow_redirects: bool = False,
    ) -> None:
        if token is not None and (username is not None or password is not None):
            raise ValueError("give either username/password or a bearer token, not both")
        self.api_version = api_version
        self.identity = identity
        self.connection = Connection(
            base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            follow_redirects=follow_redirects,
        )
        self._auth = auth_header(username, password, token)
        # The last catalog body found to have a catalog's shape (see :meth:`catalog`).
        self._catalog_checked: bytes | None = None
        admin_token = token
        if admin_username is not None or admin_password is not None:
            username = admin_username if admin_username is not None else username
            password = admin_password if admin_password is not None else password
            admin_token = None
        self.admin = self.admin_class(
            username=username, password=password, token=admin_token, connection=self.connection
        )

    def __repr__(self) -> str:
        return f"OSBClient({self.base_url!r}, api_version={self.api_version!r})"

    def __enter__(self) -> OSBClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def catalog(self, *, headers: Mapping[str, str] | None = None) -> CatalogResponse:
        """``GET /v2/catalog``.

        A body byte for byte the same as the last one this client checked is not
        checked again, and is decoded only when the answer's body or services are
        first read: a catalog rarely changes, and its shape check and decoding cost
        more than the rest of the call.
        """
        method, path = "GET", "/v2/catalog"
        response = self._exchange(method, path, headers=headers, send_identity=False)
        content = response.content
        if response.status_code == 200 and content == self._catalog_checked:
            retry_after = parse_retry_after(header_value(response.headers, "Retry-After"))
            return CatalogResponse.of_checked_body(200, content, response.headers, retry_after)
        checked = self._answer(CatalogResponse, method, path, response, (200,), _CATALOG)
        self._catalog_checked = content
        # The schema checked the shape; keep every field of the services, not just those.
        return CatalogResponse(
            checked.status,
            checked.body,
            checked.headers,
            checked.retry_after,
            services=list(checked.body["services"]),
        )

    # --- the admin API, as the admin client's ---------------------------------------------
    def reset(self, *, keep_journal: bool = False) -> None:
        """:meth:`AdminClient.reset <broker.client.AdminClient.reset>`."""
        self.admin.reset(keep_journal=keep_journal)

    def state(self, *, credentials: bool = False) -> dict[str, Any]:
        """:meth:`AdminClient.state <broker.client.AdminClient.state>`."""
        return self.admin.state(credentials=credentials)

    def iter_state(self, **options: Any) -> Iterator[dict[str, Any]]:
        """:meth:`AdminClient.iter_state <broker.client.AdminClient.iter_state>`."""
        return self.admin.iter_state(**options)

    def operations(self, *, state: str | None = None) -> list[dict[str, Any]]:
        """:meth:`AdminClient.operations <broker.client.AdminClient.operations>`."""
        return self.admin.operations(state=state)

    def iter_operations(self, **options: Any) -> Iterator[dict[str, Any]]:
        """:meth:`AdminClient.iter_operations <broker.client.AdminClient.iter_operations>`."""
        return self.admin.iter_operations(**options)

    def finish_operation(
        self, operation: str, state: str, description: str | None = None
    ) -> dict[str, Any]:
        """:meth:`AdminClient.finish_operation <broker.client.AdminClient.finish_operation>`."""
        return self.admin.finish_operation(operation, state, description)

    def put_catalog(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`AdminClient.put_catalog <broker.client.AdminClient.put_catalog>`."""
        return self.admin.put_catalog(document)

    def findings(self, **filters: Any) -> list[dict[str, Any]]:
        """See :meth:`AdminClient.findings`."""
        return self.admin.findings(**filters)

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """:meth:`AdminClient.journal <broker.client.AdminClient.journal>`."""
        return self.admin.journal(**filters)

    def iter_journal(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """:meth:`AdminClient.iter_journal <broker.client.AdminClient.iter_journal>`."""
        return self.admin.iter_journal(**filters)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Deprecated name of :meth:`journal` (until the next release)."""
        warn_renamed("OSBClient.requests()", "OSBClient.journal()")
        return self.journal(**filters)

    def add_fault(self, rule: Mapping[str, Any] | None = None, /, **keywords: Any) -> str:
        """:meth:`AdminClient.add_fault <broker.client.AdminClient.add_fault>`."""
        return self.admin.add_fault(rule, **keywords)

    def faults(self, *, origin: str | None = None) -> list[dict[str, Any]]:
        """:meth:`AdminClient.faults <broker.client.AdminClient.faults>`."""
        return self.admin.faults(origin=origin)

    def delete_fault(self, rule_id: str) -> None:
        """:meth:`AdminClient.delete_fault <broker.client.AdminClient.delete_fault>`."""
        self.admin.delete_fault(rule_id)

    def delete_faults(self, *, origin: str = "admin") -> int:
        """:meth:`AdminClient.delete_faults <broker.client.AdminClient.delete_faults>`."""
        return self.admin.delete_faults(origin=origin)
