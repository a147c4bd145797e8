"""Connections to brokers, and the OSB calls Service Catalog makes through them.

:class:`BrokerAccess` keeps one :class:`broker.client.OSBClient` per broker URL,
credentials and TLS settings, with the credentials read from the broker's auth
Secret at every call (as Service Catalog re-reads them on every reconcile).
:class:`BrokerConnection` makes the calls Service Catalog makes and answers small
values of its own; every failure is a :class:`CallFailed` that says what the
controller's decisions need: the HTTP status (``None`` when no answer came),
whether the call timed out, and the error as Service Catalog's messages print it.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from broker.client import (
    OriginatingIdentity,
    OSBClient,
    OSBClientError,
)
from broker.controller.broker_access.go_errors import call_failed
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State
from broker.controller.settings import ControllerSettings

__all__ = [
    "Accepted",
    "AuthError",
    "BrokerAccess",
    "BrokerConnection",
    "OperationState",
]


class AuthError(ValueError):
    """The broker's auth Secret cannot be used."""


@dataclass(frozen=True)
class Accepted:
    """A provision, update or deprovision the broker took: done, or going on (``is_async``)."""

    is_async: bool
    operation: str | None = None
    dashboard_url: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class OperationState:
    """A ``last_operation`` answer."""

    state: str
    description: str | None = None
    retry_after: float | None = None


def _identity(user: Mapping[str, Any] | None) -> OriginatingIdentity | None:
    """The originating identity of a spec's ``userInfo`` (platform ``kubernetes``).

    ``groups`` and ``extra`` are sent even when empty: the OSB profile says all four
    properties MUST appear. (Service Catalog leaves empty ones out; a broker that
    checks the profile would refuse it.)
    """
    if not user:
        return None
    return OriginatingIdentity(
        "kubernetes",
        {
            "username": user.get("username", ""),
            "uid": user.get("uid", ""),
            "groups": list(user.get("groups") or []),
            "extra": dict(user.get("extra") or {}),
        },
    )


@contextmanager
def _calling() -> Iterator[None]:
    try:
        yield
    except OSBClientError as exc:
        raise call_failed(exc) from exc


class BrokerConnection:
    """The OSB calls Service Catalog makes to one broker."""

    def __init__(self, client: OSBClient) -> None:
        self._client = client

    def catalog(self) -> list[dict[str, Any]]:
        with _calling():
            return self._client.catalog().services

    def provision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        organization_guid: str,
        space_guid: str,
        context: Mapping[str, Any],
        parameters: Mapping[str, Any] | None,
        user: Mapping[str, Any] | None,
    ) -> Accepted:
        with _calling():
            answer = self._client.provision(
                instance_id,
                service_id,
                plan_id,
                organization_guid=organization_guid,
                space_guid=space_guid,
                context=context,
                parameters=parameters,
                accepts_incomplete=True,
                identity=_identity(user),
            )
        return Accepted(answer.is_async, answer.operation, answer.dashboard_url, answer.retry_after)

    def update(
        self,
        instance_id: str,
        service_id: str,
        *,
        plan_id: str | None,
        parameters: Mapping[str, Any] | None,
        context: Mapping[str, Any],
        previous_values: Mapping[str, Any],
        user: Mapping[str, Any] | None,
    ) -> Accepted:
        with _calling():
            answer = self._client.update(
                instance_id,
                service_id,
                plan_id=plan_id,
                parameters=parameters,
                context=context,
                previous_values=previous_values,
                accepts_incomplete=True,
                identity=_identity(user),
            )
        return Accepted(answer.is_async, answer.operation, answer.dashboard_url, answer.retry_after)

    def deprovision(
        self, instance_id: str, service_id: str, plan_id: str, *, user: Mapping[str, Any] | None
    ) -> Accepted:
        with _calling():
            answer = self._client.deprovision(
                instance_id, service_id, plan_id, accepts_incomplete=True, identity=_identity(user)
            )
        return Accepted(answer.is_async, answer.operation, None, answer.retry_after)

    def last_operation(
        self,
        instance_id: str,
        *,
        operation: str | None,
        service_id: str,
        plan_id: str | None,
        user: Mapping[str, Any] | None,
    ) -> OperationState:
        with _calling():
            answer = self._client.last_operation(
                instance_id,
                operation=operation,
                service_id=service_id,
                plan_id=plan_id,
                identity=_identity(user),
            )
        return OperationState(answer.state, answer.description, answer.retry_after)

    def bind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        parameters: Mapping[str, Any] | None,
        bind_resource: Mapping[str, Any] | None,
        context: Mapping[str, Any],
        user: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The credentials of a new binding (``{}`` when the broker sent none)."""
        with _calling():
            answer = self._client.bind(
                instance_id,
                binding_id,
                service_id,
                plan_id,
                parameters=parameters,
                bind_resource=bind_resource,
                context=context,
                identity=_identity(user),
            )
        return dict(answer.credentials or {})

    def unbind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        user: Mapping[str, Any] | None,
    ) -> None:
        with _calling():
            self._client.unbind(
                instance_id, binding_id, service_id, plan_id, identity=_identity(user)
            )


class BrokerAccess:
    """Connections to brokers, one client per URL, credentials and TLS settings."""

    def __init__(
        self, settings: ControllerSettings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport
        self._clients: dict[tuple[Any, ...], OSBClient] = {}

    def connect(self, broker: dict[str, Any], state: State) -> BrokerConnection:
        """A connection to a ClusterServiceBroker, with the credentials its Secret holds now."""
        spec = broker["spec"]
        auth = _credentials(spec.get("authInfo") or {}, lambda ref: _auth_secret(state, ref))
        verify: bool | ssl.SSLContext = not spec.get("insecureSkipTLSVerify", False)
        bundle = spec.get("caBundle")
        identity = (spec["url"], tuple(sorted(auth.items())), verify, bundle)
        found = self._clients.get(identity)
        if found is None:
            if bundle:
                verify = ssl.create_default_context(cadata=base64.b64decode(bundle).decode())
            found = OSBClient(
                spec["url"],
                username=auth.get("username"),
                password=auth.get("password"),
                token=auth.get("token"),
                api_version=self.settings.api_version,
                timeout=self.settings.request_timeout,
                transport=self.transport,
                verify=verify,
                follow_redirects=True,
            )
            self._clients[identity] = found
        return BrokerConnection(found)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def _credentials(
    info: dict[str, Any], secret: Callable[[dict[str, Any]], dict[str, str]]
) -> dict[str, str]:
    if "basic" in info:
        data = secret(info["basic"]["secretRef"])
        for field in ("username", "password"):
            if field not in data:
                raise AuthError(f"auth secret didn't contain {field}")
        return {"username": data["username"], "password": data["password"]}
    if "bearer" in info:
        data = secret(info["bearer"]["secretRef"])
        if "token" not in data:
            raise AuthError("auth secret didn't contain token")
        return {"token": data["token"]}
    return {}


def _auth_secret(state: State, ref: dict[str, Any]) -> dict[str, str]:
    found = state.get(ObjectKey("Secret", ref.get("namespace") or "", ref["name"]))
    if found is None:
        raise AuthError(f'secrets "{ref["name"]}" not found')
    try:
        return {
            key: base64.b64decode(value).decode()
            for key, value in (found.get("data") or {}).items()
        }
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError(f'secret "{ref["name"]}" holds data that is not text') from None
