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

Every call answers a small dataclass (:mod:`broker.client_responses`) or raises one
of the exceptions of :mod:`broker.client_errors`: a :class:`BrokerError` subclass for
an error status (with the OSB ``error`` code), :class:`UnexpectedStatus` or
:class:`MalformedResponse` for a success-family answer the call cannot use, and
:class:`BrokerUnreachable` / :class:`BrokerTimeout` when no answer came at all.
Deletes answer 410 as a normal :class:`OperationResponse` (``.gone``): for a delete,
"does not exist" is as good as done.

Tests can run the client against an in-process app with
``transport=httpx.WSGITransport(app=create_app(...))``, or against canned answers
with ``httpx.MockTransport``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from marshmallow import Schema

from broker import __version__
from broker.client_errors import (
    AsyncRequired,
    BadRequest,
    BrokerError,
    BrokerTimeout,
    BrokerUnreachable,
    ClientError,
    ConcurrencyError,
    Conflict,
    Forbidden,
    Gone,
    MaintenanceInfoConflict,
    MalformedResponse,
    NotFound,
    OSBClientError,
    PreconditionFailed,
    RedirectionError,
    RequestTimeout,
    RequiresApp,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    UnexpectedStatus,
    UnprocessableEntity,
    broker_error,
)
from broker.client_responses import (
    Answer,
    BindBody,
    BindingDetails,
    BindingDetailsBody,
    BindResponse,
    Catalog,
    CatalogBody,
    InstanceBody,
    InstanceDetails,
    InstanceDetailsBody,
    InstanceResponse,
    LastOperation,
    LastOperationBody,
    OperationBody,
    OperationResponse,
    ShapeError,
    parse_body,
    parse_retry_after,
)
from broker.deprecations import RenamedKeys, warn_renamed
from broker.faults.shorthand import fault_rule

__all__ = [
    "Answer",
    "AsyncRequired",
    "BadRequest",
    "BindResponse",
    "BindingDetails",
    "BrokerError",
    "BrokerTimeout",
    "BrokerUnreachable",
    "Catalog",
    "ClientError",
    "ConcurrencyError",
    "Conflict",
    "Forbidden",
    "Gone",
    "InstanceDetails",
    "InstanceResponse",
    "LastOperation",
    "MaintenanceInfoConflict",
    "MalformedResponse",
    "NotFound",
    "OSBClient",
    "OSBClientError",
    "OperationResponse",
    "OriginatingIdentity",
    "PreconditionFailed",
    "RedirectionError",
    "RequestTimeout",
    "RequiresApp",
    "ServerError",
    "Unauthorized",
    "UnexpectedResponse",
    "UnexpectedStatus",
    "UnprocessableEntity",
]

A = TypeVar("A", bound=Answer)

_INSTANCE = InstanceBody()
_OPERATION = OperationBody()
_BIND = BindBody()
_BINDING_DETAILS = BindingDetailsBody()
_INSTANCE_DETAILS = InstanceDetailsBody()
_LAST_OPERATION = LastOperationBody()
_CATALOG = CatalogBody()


@dataclass(frozen=True)
class OriginatingIdentity:
    """``X-Broker-API-Originating-Identity: <platform> <base64(JSON value)>``."""

    platform: str
    value: Mapping[str, Any]

    def header(self) -> str:
        encoded = json.dumps(dict(self.value), separators=(",", ":")).encode()
        return f"{self.platform} {base64.b64encode(encoded).decode()}"


class OSBClient:
    """Calls one broker's ``/v2`` endpoints and mockbroker's ``/admin`` API.

    ``base_url`` is the broker's root (the client appends ``/v2/...``). Authenticate
    with ``username``/``password`` (HTTP Basic) or ``token`` (Bearer). The admin API
    uses ``admin_username``/``admin_password``, defaulting to the OSB credentials.
    ``identity`` is sent as the originating identity on every call unless a call
    passes its own. ``transport`` replaces the network (``httpx.WSGITransport``,
    ``httpx.MockTransport``). Redirects are answers like any other unless
    ``follow_redirects`` (what Go's ``net/http`` does, and so Kubernetes Service
    Catalog). The client is thread-safe; close it (or use ``with``).
    """

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
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.identity = identity
        self.timeout = timeout
        self._auth = self._make_auth(username, password, token)
        if admin_username is not None or admin_password is not None:
            self._admin_auth = self._make_auth(
                admin_username if admin_username is not None else username,
                admin_password if admin_password is not None else password,
                None,
            )
        else:
            self._admin_auth = self._auth
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            follow_redirects=follow_redirects,
            headers={"User-Agent": f"mockbroker-client/{__version__}"},
        )

    @staticmethod
    def _make_auth(username: str | None, password: str | None, token: str | None) -> dict[str, str]:
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        if username is None and password is None:
            return {}
        raw = f"{username or ''}:{password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def __repr__(self) -> str:
        return f"OSBClient({self.base_url!r}, api_version={self.api_version!r})"

    def __enter__(self) -> OSBClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- plumbing ---------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        sent: dict[str, str] = dict(headers or {})
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        query = {
            key: _query_value(value) for key, value in (params or {}).items() if value is not None
        }
        try:
            return self._http.request(
                method,
                path,
                params=query or None,
                content=content,
                headers=sent,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise BrokerTimeout(f"{method} {path}: no answer within the timeout ({exc})") from exc
        except httpx.TransportError as exc:
            raise BrokerUnreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc

    def _osb_headers(
        self, identity: OriginatingIdentity | None, extra: Mapping[str, str] | None
    ) -> dict[str, str]:
        """Credentials, version, ``identity`` if given, then the caller's own headers."""
        headers = {**self._auth, "X-Broker-API-Version": self.api_version}
        if identity is not None:
            headers["X-Broker-API-Originating-Identity"] = identity.header()
        headers.update(extra or {})
        return headers

    def _osb(
        self,
        answer: type[A],
        method: str,
        path: str,
        *,
        expected: tuple[int, ...],
        schema: Schema,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
        send_identity: bool = True,
    ) -> A:
        chosen = None
        if send_identity:
            chosen = identity if identity is not None else self.identity
        sent = self._osb_headers(chosen, headers)
        response = self._send(method, path, params=params, body=body, headers=sent)
        parsed = _expected(method, path, response, expected, " for this endpoint")
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 410:
            # A delete of something that does not exist: the body does not matter.
            return answer(status, _raw(parsed), response.headers, retry_after)
        document = _json(method, path, status, parsed)
        try:
            fields = parse_body(schema, document)
        except ShapeError as exc:
            raise MalformedResponse(
                status, document, f"{method} {path}: {status} body: {exc}"
            ) from None
        return answer(status, document, response.headers, retry_after, **fields)

    def _delete(
        self,
        path: str,
        service_id: str,
        plan_id: str,
        accepts_incomplete: bool,
        identity: OriginatingIdentity | None,
        headers: Mapping[str, str] | None,
    ) -> OperationResponse:
        """A deprovision or an unbind: 200, 410 or (async) 202."""
        params = {**_incomplete(accepts_incomplete), "service_id": service_id, "plan_id": plan_id}
        return self._osb(
            OperationResponse,
            "DELETE",
            path,
            expected=(200, 202, 410) if accepts_incomplete else (200, 410),
            schema=_OPERATION,
            params=params,
            identity=identity,
            headers=headers,
        )

    def _poll(
        self,
        path: str,
        operation: str | None,
        service_id: str | None,
        plan_id: str | None,
        identity: OriginatingIdentity | None,
        headers: Mapping[str, str] | None,
    ) -> LastOperation:
        """A last_operation poll of an instance or a binding: 200."""
        return self._osb(
            LastOperation,
            "GET",
            f"{path}/last_operation",
            expected=(200,),
            schema=_LAST_OPERATION,
            params={"service_id": service_id, "plan_id": plan_id, "operation": operation},
            identity=identity,
            headers=headers,
        )

    # --- the ten OSB endpoints ------------------------------------------------------------

    def catalog(self, *, headers: Mapping[str, str] | None = None) -> Catalog:
        """``GET /v2/catalog``."""
        checked = self._osb(
            Catalog,
            "GET",
            "/v2/catalog",
            expected=(200,),
            schema=_CATALOG,
            headers=headers,
            send_identity=False,
        )
        # The schema checked the shape; keep every field of the services, not just those.
        return dataclasses.replace(checked, services=list(checked.body["services"]))

    def provision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        organization_guid: str | None = None,
        space_guid: str | None = None,
        context: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        maintenance_info: Mapping[str, Any] | None = None,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InstanceResponse:
        """``PUT /v2/service_instances/:instance_id`` → 200, 201 or (async) 202."""
        body = _without_none(
            service_id=service_id,
            plan_id=plan_id,
            organization_guid=organization_guid,
            space_guid=space_guid,
            context=_dict(context),
            parameters=_dict(parameters),
            maintenance_info=_dict(maintenance_info),
        )
        return self._osb(
            InstanceResponse,
            "PUT",
            _instance_path(instance_id),
            expected=(200, 201, 202) if accepts_incomplete else (200, 201),
            schema=_INSTANCE,
            params=_incomplete(accepts_incomplete),
            body=body,
            identity=identity,
            headers=headers,
        )

    def update(
        self,
        instance_id: str,
        service_id: str,
        *,
        plan_id: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        previous_values: Mapping[str, Any] | None = None,
        maintenance_info: Mapping[str, Any] | None = None,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InstanceResponse:
        """``PATCH /v2/service_instances/:instance_id`` → 200 or (async) 202."""
        body = _without_none(
            service_id=service_id,
            plan_id=plan_id,
            parameters=_dict(parameters),
            context=_dict(context),
            previous_values=_dict(previous_values),
            maintenance_info=_dict(maintenance_info),
        )
        return self._osb(
            InstanceResponse,
            "PATCH",
            _instance_path(instance_id),
            expected=(200, 202) if accepts_incomplete else (200,),
            schema=_INSTANCE,
            params=_incomplete(accepts_incomplete),
            body=body,
            identity=identity,
            headers=headers,
        )

    def deprovision(
        self,
        instance_id: str,
        service_id: str,
        plan_id: str,
        *,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> OperationResponse:
        """``DELETE /v2/service_instances/:instance_id`` → 200, 410 or (async) 202."""
        path = _instance_path(instance_id)
        return self._delete(path, service_id, plan_id, accepts_incomplete, identity, headers)

    def fetch_instance(
        self,
        instance_id: str,
        *,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> InstanceDetails:
        """``GET /v2/service_instances/:instance_id`` → 200."""
        return self._osb(
            InstanceDetails,
            "GET",
            _instance_path(instance_id),
            expected=(200,),
            schema=_INSTANCE_DETAILS,
            params={"service_id": service_id, "plan_id": plan_id},
            identity=identity,
            headers=headers,
        )

    def last_operation(
        self,
        instance_id: str,
        *,
        operation: str | None = None,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> LastOperation:
        """``GET /v2/service_instances/:instance_id/last_operation`` → 200 (410: :class:`Gone`)."""
        path = _instance_path(instance_id)
        return self._poll(path, operation, service_id, plan_id, identity, headers)

    def bind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        bind_resource: Mapping[str, Any] | None = None,
        app_guid: str | None = None,
        predecessor_binding_id: str | None = None,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BindResponse:
        """``PUT …/service_instances/:instance_id/service_bindings/:binding_id`` → 200, 201, 202."""
        body = _without_none(
            service_id=service_id,
            plan_id=plan_id,
            parameters=_dict(parameters),
            context=_dict(context),
            bind_resource=_dict(bind_resource),
            app_guid=app_guid,
            predecessor_binding_id=predecessor_binding_id,
        )
        return self._osb(
            BindResponse,
            "PUT",
            _binding_path(instance_id, binding_id),
            expected=(200, 201, 202) if accepts_incomplete else (200, 201),
            schema=_BIND,
            params=_incomplete(accepts_incomplete),
            body=body,
            identity=identity,
            headers=headers,
        )

    def unbind(
        self,
        instance_id: str,
        binding_id: str,
        service_id: str,
        plan_id: str,
        *,
        accepts_incomplete: bool = False,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> OperationResponse:
        """``DELETE …/service_bindings/:binding_id`` → 200, 410 or (async) 202."""
        path = _binding_path(instance_id, binding_id)
        return self._delete(path, service_id, plan_id, accepts_incomplete, identity, headers)

    def fetch_binding(
        self,
        instance_id: str,
        binding_id: str,
        *,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BindingDetails:
        """``GET …/service_bindings/:binding_id`` → 200."""
        return self._osb(
            BindingDetails,
            "GET",
            _binding_path(instance_id, binding_id),
            expected=(200,),
            schema=_BINDING_DETAILS,
            params={"service_id": service_id, "plan_id": plan_id},
            identity=identity,
            headers=headers,
        )

    def binding_last_operation(
        self,
        instance_id: str,
        binding_id: str,
        *,
        operation: str | None = None,
        service_id: str | None = None,
        plan_id: str | None = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> LastOperation:
        """``GET …/service_bindings/:binding_id/last_operation`` → 200 (410: :class:`Gone`)."""
        path = _binding_path(instance_id, binding_id)
        return self._poll(path, operation, service_id, plan_id, identity, headers)

    # --- mockbroker's admin API -----------------------------------------------------------

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
        response = self._send(
            method, path, params=params, body=body, headers=self._admin_auth, timeout=timeout
        )
        parsed = _expected(method, path, response, expected, "")
        status = response.status_code
        if status == 204 or not response.content:
            return status, None
        return status, _json(method, path, status, parsed)

    def _admin_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return _object(method, path, *self._admin(method, path, **kwargs))

    def _admin_member(self, method: str, path: str, member: str, kind: type, **kwargs: Any) -> Any:
        """One non-null member of type ``kind`` of the JSON object answered."""
        status, found = self._admin(method, path, **kwargs)
        value = _object(method, path, status, found).get(member)
        if value is None:
            raise MalformedResponse(status, found, f"{method} {path}: no {member} in the answer")
        if not isinstance(value, kind):
            problem = f"{member} is a {type(value).__name__}, not a {kind.__name__}"
            raise MalformedResponse(status, found, f"{method} {path}: {problem}")
        return value

    def reset(self, *, keep_journal: bool = False) -> None:
        """``POST /admin/reset``: forget every instance, binding, operation and runtime fault."""
        self._admin(
            "POST", "/admin/reset", body={"keep_journal": keep_journal}, expected=(200, 204)
        )

    def state(self, *, credentials: bool = False) -> dict[str, Any]:
        """``GET /admin/state``: ``{"instances": […], "bindings": […], "operations": […]}``.

        Records use the journal's names and times: an instance's id is
        ``instance_id``, a binding's ``binding_id``, times are ISO 8601 strings. The
        old ``id`` key still reads (with a :class:`DeprecationWarning`) until the next
        release.
        """
        params = {"credentials": "true"} if credentials else None
        state = self._admin_object("GET", "/admin/state", params=params)
        for key, new, what in (
            ("instances", "instance_id", "an instance of state()"),
            ("bindings", "binding_id", "a binding of state()"),
        ):
            records = state.get(key)
            if isinstance(records, list):
                state[key] = [
                    RenamedKeys(record, {"id": new}, what) if isinstance(record, dict) else record
                    for record in records
                ]
        return state

    def operations(self, *, state: str | None = None) -> list[dict[str, Any]]:
        """``GET /admin/operations``: operations, oldest first (``state="in progress"`` …)."""
        found: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/operations", "operations", list, params={"state": state}
        )
        return found

    def journal(
        self,
        *,
        operation: str | None = None,
        instance_id: str | None = None,
        binding_id: str | None = None,
        method: str | None = None,
        status: int | None = None,
        since: int | str | datetime | None = None,
        limit: int | None = None,
        wait: float | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /admin/requests``: the journal of requests, oldest first.

        ``since`` is a journal id (exclusive) or a time; ``wait`` long-polls up to that
        many seconds until at least one request matches; ``limit`` keeps the newest
        ones (with ``since``: the first ones after it).
        """
        params = {
            "operation": operation,
            "instance_id": instance_id,
            "binding_id": binding_id,
            "method": method,
            "status": status,
            "since": since.isoformat() if isinstance(since, datetime) else since,
            "limit": limit,
            "wait": wait,
        }
        timeout = self.timeout + wait if wait else None
        entries: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/requests", "requests", list, params=params, timeout=timeout
        )
        return entries

    def findings(
        self,
        *,
        rule: str | None = None,
        level: str | None = None,
        instance_id: str | None = None,
        since: str | datetime | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /admin/findings``: the OSB rules the platform broke, a finding per rule
        and resource (``rule``, ``level``, ``summary``, ``request_ids``, ``count`` …).

        ``rule`` and ``level`` take one value or several, comma-separated.
        """
        params = {
            "rule": rule,
            "level": level,
            "instance_id": instance_id,
            "since": since.isoformat() if isinstance(since, datetime) else since,
        }
        found: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/findings", "findings", list, params=params
        )
        return found

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Deprecated name of :meth:`journal` (until the next release)."""
        warn_renamed("OSBClient.requests()", "OSBClient.journal()")
        return self.journal(**filters)

    def add_fault(self, rule: Mapping[str, Any] | None = None, /, **keywords: Any) -> str:
        """``POST /admin/faults``: install a fault rule; answers its id.

        Give a whole rule (``{"match": ..., "trigger": ..., "action": ...}``), keywords,
        or both: each keyword goes where its name belongs, match keys (``operation``,
        ``service``, ``plan``, ``instance_id``, ``binding_id``), trigger keys
        (``times``, ``nth``, ``after``, ``probability``, ``seed``) or action keys
        (``status``, ``error``, ``description``, ``delay_ms`` …)::

            client.add_fault(operation="bind", times=2, status=500)
            client.add_fault({"match": {"operation": "bind"}}, status=500)

        A keyword that is no rule field raises :class:`TypeError` saying what it is
        most like; the broker refuses an invalid rule with :class:`BadRequest`.
        """
        body = fault_rule(rule, **keywords)
        rule_id = self._admin_member(
            "POST", "/admin/faults", "id", object, body=body, expected=(200, 201)
        )
        return str(rule_id)

    def faults(self, *, origin: str | None = None) -> list[dict[str, Any]]:
        """``GET /admin/faults``: every rule with its counters (``calls``, ``fired``).

        Each rule has an ``origin``: ``"admin"`` if it was added at run time,
        ``"catalog"`` if the catalog declares it (those are there from the start and
        come back with every reset). ``origin=`` lists only one kind.
        """
        rules: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/faults", "faults", list, params={"origin": origin}
        )
        return rules

    def delete_fault(self, rule_id: str) -> None:
        """``DELETE /admin/faults/<id>``."""
        self._admin("DELETE", f"/admin/faults/{rule_id}", expected=(200, 204))

    def delete_faults(self, *, origin: str = "admin") -> int:
        """``DELETE /admin/faults``: remove the rules added at run time; answers how many.

        ``origin="catalog"`` removes the catalog's own rules (until a reset or a new
        catalog brings them back), ``origin="all"`` both kinds.
        """
        found = self._admin_member(
            "DELETE", "/admin/faults", "deleted", int, params={"origin": origin}
        )
        return int(found)

    def finish_operation(
        self, operation: str, state: str, description: str | None = None
    ) -> dict[str, Any]:
        """``POST /admin/operations/<operation>``: finish a manual async operation.

        ``state`` is ``"succeeded"`` or ``"failed"``; :class:`NotFound` for an unknown
        operation, :class:`Conflict` if it already finished.
        """
        body = _without_none(state=state, description=description)
        return self._admin_object("POST", f"/admin/operations/{operation}", body=body)

    def put_catalog(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /admin/catalog``: replace the catalog; :class:`BadRequest` lists every problem."""
        return self._admin_object("PUT", "/admin/catalog", body=dict(document))


# --- small pieces ---------------------------------------------------------------------------


class _NotJSON:
    """A body that did not parse as JSON (kept as text for error reports)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<not JSON: {self.text[:60]!r}>"


def _json_or_text(response: httpx.Response) -> Any:
    if not response.content:
        return _NotJSON("")
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return _NotJSON(response.text)


def _raw(parsed: Any) -> Any:
    """What an exception or a 410 answer carries as the body: the JSON, or the text."""
    return parsed.text if isinstance(parsed, _NotJSON) else parsed


def _expected(
    method: str, path: str, response: httpx.Response, expected: tuple[int, ...], note: str
) -> Any:
    """The parsed body (:class:`_NotJSON` if it is not JSON) of an answer with an expected status.

    Any other 2xx raises :class:`UnexpectedStatus` (its message ends with ``note``), any
    other status the matching :class:`BrokerError`.
    """
    status = response.status_code
    parsed = _json_or_text(response)
    if status in expected:
        return parsed
    if status < 300:
        raise UnexpectedStatus(
            status, _raw(parsed), f"{method} {path}: unexpected status {status}{note}"
        )
    raise broker_error(status, _raw(parsed), parse_retry_after(response.headers.get("Retry-After")))


def _json(method: str, path: str, status: int, parsed: Any) -> Any:
    """The JSON body of an expected answer; :class:`MalformedResponse` if it was not JSON."""
    if isinstance(parsed, _NotJSON):
        raise MalformedResponse(status, parsed.text, f"{method} {path}: {status} body is not JSON")
    return parsed


def _object(method: str, path: str, status: int, found: Any) -> dict[str, Any]:
    """An admin answer that must be a JSON object; :class:`MalformedResponse` if not."""
    if not isinstance(found, dict):
        raise MalformedResponse(status, found, f"{method} {path}: expected a JSON object")
    return found


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _incomplete(accepts_incomplete: bool) -> dict[str, str]:
    return {"accepts_incomplete": "true"} if accepts_incomplete else {}


def _instance_path(instance_id: str) -> str:
    return f"/v2/service_instances/{instance_id}"


def _binding_path(instance_id: str, binding_id: str) -> str:
    return f"{_instance_path(instance_id)}/service_bindings/{binding_id}"


def _dict(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value is not None else None


def _without_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
