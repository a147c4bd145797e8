"""What every OSB call does: headers, the request, the status check and the typed answer.

:class:`OSBRequests` is the base of the endpoint groups (:mod:`broker.client.instances`,
:mod:`broker.client.bindings`) that :class:`~broker.client.OSBClient` puts together.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from marshmallow import Schema

from broker.client.connection import Connection, expected_body, header_value, json_body, raw
from broker.client.errors import MalformedResponse
from broker.client.responses import (
    Answer,
    LastOperation,
    LastOperationBody,
    OperationBody,
    OperationResponse,
    ShapeError,
    parse_body,
    parse_retry_after,
)

__all__ = ["OSBRequests", "OriginatingIdentity"]

A = TypeVar("A", bound=Answer)

_OPERATION = OperationBody()
_LAST_OPERATION = LastOperationBody()


@dataclass(frozen=True)
class OriginatingIdentity:
    """``X-Broker-API-Originating-Identity: <platform> <base64(JSON value)>``."""

    platform: str
    value: Mapping[str, Any]

    def header(self) -> str:
        encoded = json.dumps(dict(self.value), separators=(",", ":")).encode()
        return f"{self.platform} {base64.b64encode(encoded).decode()}"


class OSBRequests:
    """One broker's ``/v2`` API over a :class:`Connection`, with OSB credentials."""

    connection: Connection
    api_version: str
    identity: OriginatingIdentity | None
    _auth: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    @property
    def timeout(self) -> float:
        return self.connection.timeout

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
        """One OSB call: its answer, typed, or the error it is."""
        response = self._exchange(
            method,
            path,
            params=params,
            body=body,
            identity=identity,
            headers=headers,
            send_identity=send_identity,
        )
        return self._answer(answer, method, path, response, expected, schema)

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        identity: OriginatingIdentity | None = None,
        headers: Mapping[str, str] | None = None,
        send_identity: bool = True,
    ) -> httpx.Response:
        """Send an OSB request with the client's headers (and identity, if it goes)."""
        chosen = None
        if send_identity:
            chosen = identity if identity is not None else self.identity
        sent = self._osb_headers(chosen, headers)
        return self.connection.send(method, path, params=params, body=body, headers=sent)

    def _answer(
        self,
        answer: type[A],
        method: str,
        path: str,
        response: httpx.Response,
        expected: tuple[int, ...],
        schema: Schema,
    ) -> A:
        """The typed answer of ``response``, its shape checked, or the error it is."""
        parsed = expected_body(method, path, response, expected, " for this endpoint")
        status = response.status_code
        retry_after = parse_retry_after(header_value(response.headers, "Retry-After"))
        if status == 410:
            # A delete of something that does not exist: the body does not matter.
            return answer(status, raw(parsed), response.headers, retry_after)
        document = json_body(method, path, status, parsed)
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
        params = {**incomplete(accepts_incomplete), "service_id": service_id, "plan_id": plan_id}
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


def incomplete(accepts_incomplete: bool) -> dict[str, str]:
    return {"accepts_incomplete": "true"} if accepts_incomplete else {}


def instance_path(instance_id: str) -> str:
    return f"/v2/service_instances/{instance_id}"


def binding_path(instance_id: str, binding_id: str) -> str:
    return f"{instance_path(instance_id)}/service_bindings/{binding_id}"


def as_dict(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value is not None else None


def without_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
