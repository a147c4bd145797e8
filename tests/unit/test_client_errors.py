"""OSBClient against canned answers (httpx.MockTransport): statuses, OSB codes, bodies,
transport failures, and what goes on the wire."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from broker import client as osb
from broker.client import OriginatingIdentity, OSBClient

Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, **options: Any) -> OSBClient:
    options.setdefault("username", "broker")
    options.setdefault("password", "broker")
    return OSBClient("http://broker.test", transport=httpx.MockTransport(handler), **options)


def answering(
    status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None
) -> OSBClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return make(handler)


def provision(client: OSBClient, **options: Any) -> osb.InstanceResponse:
    return client.provision("i", "s", "p", organization_guid="o", space_guid="g", **options)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, {"error": "BadRequest", "description": "bad"}, osb.BadRequestError),
        (401, {}, osb.UnauthorizedError),
        (403, {}, osb.ForbiddenError),
        (404, {}, osb.NotFoundError),
        (408, {}, osb.RequestTimeoutError),
        (409, {}, osb.ConflictError),
        (410, {}, osb.GoneError),
        (412, {"error": "PreconditionFailed"}, osb.PreconditionFailedError),
        (422, {"error": "AsyncRequired"}, osb.AsyncRequiredError),
        (422, {"error": "ConcurrencyError"}, osb.ConcurrencyError),
        (422, {"error": "RequiresApp"}, osb.RequiresAppError),
        (422, {"error": "MaintenanceInfoConflict"}, osb.MaintenanceInfoConflictError),
        (422, {"error": "Other"}, osb.UnprocessableEntityError),
        (418, {}, osb.ClientError),
        (500, {"error": "InternalError"}, osb.ServerError),
        (503, {}, osb.ServerError),
        (302, {}, osb.RedirectionError),
    ],
)
def test_error_statuses_raise_the_most_specific_broker_error(
    status: int, body: Any, kind: type[osb.BrokerError]
) -> None:
    with pytest.raises(kind) as raised:
        provision(answering(status, body))
    assert type(raised.value) is kind
    assert raised.value.status == status
    assert raised.value.error == body.get("error")
    assert raised.value.body == body


def test_a_broker_error_keeps_the_description_retry_after_and_flags() -> None:
    body = {
        "error": "X",
        "description": "try later",
        "instance_usable": True,
        "update_repeatable": False,
    }
    with pytest.raises(osb.ServerError) as raised:
        provision(answering(503, body, headers={"Retry-After": "7"}))
    error = raised.value
    assert (error.description, error.retry_after) == ("try later", 7.0)
    assert (error.instance_usable, error.update_repeatable) == (True, False)
    assert str(error) == "Status: 503; ErrorMessage: X; Description: try later"


def test_an_error_body_that_is_not_json_is_kept_as_text() -> None:
    with pytest.raises(osb.ServerError) as raised:
        provision(answering(502, text="<html>bad gateway</html>"))
    assert raised.value.body == "<html>bad gateway</html>" and raised.value.error is None


@pytest.mark.parametrize(("status", "accepts_incomplete"), [(204, True), (202, False), (205, True)])
def test_a_success_code_the_endpoint_does_not_define_is_unexpected(
    status: int, accepts_incomplete: bool
) -> None:
    with pytest.raises(osb.UnexpectedStatus) as raised:
        provision(answering(status, {}), accepts_incomplete=accepts_incomplete)
    assert raised.value.status == status


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (None, "not json"),
        (None, ""),
        ([1, 2], None),
        ({"dashboard_url": 5}, None),
        ({"operation": []}, None),
    ],
)
def test_a_success_body_of_the_wrong_shape_is_malformed(body: Any, text: str | None) -> None:
    with pytest.raises(osb.MalformedResponse) as raised:
        provision(answering(201, body, text=text))
    assert raised.value.status == 201


def test_a_last_operation_without_a_state_is_malformed() -> None:
    with pytest.raises(osb.MalformedResponse, match="state"):
        answering(200, {"description": "x"}).last_operation("i")


def test_a_refused_connection_and_a_timeout_are_transport_failures() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(osb.BrokerUnreachable) as raised:
        make(refuse).catalog()
    assert not isinstance(raised.value, osb.BrokerTimeout)
    with pytest.raises(osb.BrokerTimeout):
        make(slow).catalog()


def test_deletes_answer_410_as_gone_instead_of_raising() -> None:
    answer = answering(410, {}).deprovision("i", "s", "p")
    assert answer.gone and answer.status == 410
    assert answering(410, text="").unbind("i", "b", "s", "p").gone


def test_requests_carry_auth_version_identity_and_osb_query_parameters() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"operation": "op-1"}, headers={"Retry-After": "3"})

    identity = OriginatingIdentity("kubernetes", {"username": "alice", "uid": ""})
    client = make(record, api_version="2.14", identity=identity)
    answer = client.deprovision("i-1", "s-1", "p-1", accepts_incomplete=True)
    assert answer.is_async and answer.operation == "op-1" and answer.retry_after == 3.0
    request = seen[0]
    assert request.method == "DELETE" and request.url.path == "/v2/service_instances/i-1"
    assert dict(request.url.params) == {
        "accepts_incomplete": "true",
        "service_id": "s-1",
        "plan_id": "p-1",
    }
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(b"broker:broker").decode()
    )
    assert request.headers["X-Broker-API-Version"] == "2.14"
    platform, encoded = request.headers["X-Broker-API-Originating-Identity"].split(" ")
    assert platform == "kubernetes"
    assert json.loads(base64.b64decode(encoded)) == {"username": "alice", "uid": ""}
    assert "Content-Type" not in request.headers  # no body, no content type


def test_the_catalog_call_sends_no_identity_of_its_own_and_keeps_every_field() -> None:
    seen: list[httpx.Request] = []
    catalog = {
        "services": [
            {
                "id": "s",
                "name": "svc",
                "bindable": True,
                "tags": ["t"],
                "plans": [{"id": "p", "name": "plan", "free": False}],
            }
        ]
    }

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=catalog)

    client = make(record, identity=OriginatingIdentity("kubernetes", {"username": "x"}))
    answer = client.catalog()
    assert answer.services == catalog["services"]
    assert answer.plan("svc", "plan") == (
        catalog["services"][0],
        catalog["services"][0]["plans"][0],
    )
    assert "X-Broker-API-Originating-Identity" not in seen[0].headers
    client.catalog(headers={"X-Broker-API-Originating-Identity": "cloudfoundry e30="})
    assert seen[1].headers["X-Broker-API-Originating-Identity"] == "cloudfoundry e30="


def test_bearer_tokens_and_admin_credentials_are_used_where_they_belong() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"instances": [], "bindings": [], "operations": []})

    client = OSBClient(
        "http://broker.test",
        token="t0k",
        admin_username="admin",
        admin_password="pw",
        transport=httpx.MockTransport(record),
    )
    client.state(credentials=True)
    assert seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"admin:pw").decode()
    assert dict(seen[0].url.params) == {"credentials": "true"}
    with pytest.raises(ValueError, match="not both"):
        OSBClient("http://x", token="t", username="u", password="p")
    bearer = OSBClient("http://broker.test", token="t0k", transport=httpx.MockTransport(record))
    bearer.state()
    assert seen[1].headers["Authorization"] == "Bearer t0k"


def test_an_http_date_retry_after_is_turned_into_seconds() -> None:
    from broker.client.responses import parse_retry_after

    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_a_bind_answer_with_parameters_or_unknown_fields_is_accepted() -> None:
    body = {
        "credentials": {"uri": "db://x"},
        "parameters": {"size": 1},
        "not_in_osb": True,
        "metadata": {"labels": {}},
    }
    answer = answering(201, body).bind("i", "b", "s", "p")
    assert answer.credentials == {"uri": "db://x"} and answer.metadata == {"labels": {}}
    assert answer.body == body  # the raw body keeps what the dataclass leaves out
    details = answering(200, body).fetch_binding("i", "b")
    assert details.parameters == {"size": 1} and details.credentials == {"uri": "db://x"}


@pytest.mark.parametrize(
    ("schema", "answer"),
    [
        ("CatalogBody", "CatalogResponse"),
        ("InstanceBody", "InstanceResponse"),
        ("OperationBody", "OperationResponse"),
        ("BindBody", "BindResponse"),
        ("BindingDetailsBody", "BindingDetails"),
        ("InstanceDetailsBody", "InstanceDetails"),
        ("LastOperationBody", "LastOperation"),
    ],
)
def test_each_response_schema_loads_exactly_the_fields_of_its_answer(
    schema: str, answer: str
) -> None:
    import dataclasses

    from broker.client import responses as client_responses

    base = {item.name for item in dataclasses.fields(client_responses.Answer)}
    own = {item.name for item in dataclasses.fields(getattr(client_responses, answer))} - base
    assert set(getattr(client_responses, schema)().fields) == own


@pytest.mark.parametrize(
    ("status", "body", "call", "match"),
    [
        (201, [], lambda c: c.add_fault({}), "expected a JSON object"),
        (200, {}, lambda c: c.add_fault({}), "no id in the answer"),
        (200, {"requests": {}}, lambda c: c.journal(), "requests is a dict, not a list"),
        (200, {}, lambda c: c.faults(), "no faults in the answer"),
        (200, [], lambda c: c.state(), "expected a JSON object"),
    ],
)
def test_a_malformed_admin_answer_reports_the_status_it_came_with(
    status: int, body: Any, call: Callable[[OSBClient], Any], match: str
) -> None:
    with pytest.raises(osb.MalformedResponse, match=match) as raised:
        call(answering(status, body))
    assert raised.value.status == status


def test_a_catalog_is_checked_again_whenever_its_body_changes() -> None:
    good = {"services": [{"id": "s", "name": "svc", "plans": [{"id": "p", "name": "plan"}]}]}
    bad = {"services": [{"id": "s", "name": "svc", "plans": [{"id": 7, "name": "plan"}]}]}
    bodies = [good, good, bad, good]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=bodies.pop(0))

    client = make(handler)
    assert client.catalog().plan("svc", "plan")[1]["id"] == "p"
    repeated = client.catalog()
    assert repeated.services == good["services"] and repeated.services is not good["services"]
    with pytest.raises(osb.MalformedResponse, match="services"):
        client.catalog()
    assert client.catalog().services == good["services"]
