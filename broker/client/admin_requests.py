"""Requests to mockbroker's admin API: credentials, the request, the answer's checks."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any, Self

import httpx

from broker.client.connection import Connection, auth_header, expected_body, json_body
from broker.client.errors import MalformedResponse

__all__ = ["AdminRequests", "admin_member", "admin_object"]


class AdminRequests:
    """Requests to one broker's ``/admin`` API with the admin credentials.

    ``connection`` shares an existing :class:`~broker.client.connection.Connection`
    (as :class:`~broker.client.OSBClient` does; closing this client leaves it open);
    otherwise the client opens its own to ``base_url`` with the other options.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str | ssl.SSLContext = True,
        connection: Connection | None = None,
    ) -> None:
        self._owned = connection is None
        if connection is None:
            connection = Connection(base_url, timeout=timeout, transport=transport, verify=verify)
        self.connection = connection
        self._auth = auth_header(username, password, token)

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self.connection.close()

    # --- plumbing ---------------------------------------------------------------------
    def _admin(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        expected: tuple[int, ...] = (200,),
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        """The status and the JSON body (None when there is no body)."""
        response = self.connection.send(
            method, path, params=params, body=body, headers=self._auth, timeout=timeout
        )
        parsed = expected_body(method, path, response, expected, "")
        status = response.status_code
        if status == 204 or not response.content:
            return status, None
        return status, json_body(method, path, status, parsed)

    def _admin_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return admin_object(method, path, *self._admin(method, path, **kwargs))

    def _admin_member(self, method: str, path: str, member: str, kind: type, **kwargs: Any) -> Any:
        """One non-null member of type ``kind`` of the JSON object answered."""
        return admin_member(method, path, *self._admin(method, path, **kwargs), member, kind)


def admin_member(method: str, path: str, status: int, found: Any, member: str, kind: type) -> Any:
    """Member ``member`` of an admin answer, which must be there and a ``kind``."""
    value = admin_object(method, path, status, found).get(member)
    if value is None:
        raise MalformedResponse(status, found, f"{method} {path}: no {member} in the answer")
    if not isinstance(value, kind):
        problem = f"{member} is a {type(value).__name__}, not a {kind.__name__}"
        raise MalformedResponse(status, found, f"{method} {path}: {problem}")
    return value


def admin_object(method: str, path: str, status: int, found: Any) -> dict[str, Any]:
    """An admin answer that must be a JSON object; :class:`MalformedResponse` if not."""
    if not isinstance(found, dict):
        raise MalformedResponse(status, found, f"{method} {path}: expected a JSON object")
    return found
