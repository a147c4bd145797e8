"""Authentication: Basic (several pairs) or bearer tokens on /v2, admin credentials elsewhere."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from broker.app import create_app
from broker.config import BasicCredential, Settings
from broker.storage import Store
from tests.support.osb import OSB, basic, expect_error

ADMIN = basic("admin", "admin-secret")
OSB_ONLY_PATHS = [
    ("GET", "/v2/catalog"),
    ("PUT", "/v2/service_instances/a-1"),
    ("PATCH", "/v2/service_instances/a-1"),
    ("DELETE", "/v2/service_instances/a-1?service_id=s&plan_id=p"),
    ("GET", "/v2/service_instances/a-1"),
    ("GET", "/v2/service_instances/a-1/last_operation"),
    ("PUT", "/v2/service_instances/a-1/service_bindings/b-1"),
    ("DELETE", "/v2/service_instances/a-1/service_bindings/b-1?service_id=s&plan_id=p"),
    ("GET", "/v2/service_instances/a-1/service_bindings/b-1"),
    ("GET", "/v2/service_instances/a-1/service_bindings/b-1/last_operation"),
    ("GET", "/v2"),
    ("GET", "/v2/no-such-endpoint"),
    ("POST", "/v2/catalog"),
    ("OPTIONS", "/v2/catalog"),
    ("HEAD", "/v2/catalog"),
]
ADMIN_PATHS = [
    ("GET", "/admin/state"),
    ("GET", "/admin/requests"),
    ("POST", "/admin/reset"),
    ("GET", "/admin/faults"),
    ("PUT", "/admin/catalog"),
    ("GET", "/dashboard"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/no-such-path"),
    ("GET", "/static/anything.js"),
    ("OPTIONS", "/admin/state"),
]


def _client(settings: Settings) -> FlaskClient:
    return create_app(settings).test_client()


def test_a_request_without_credentials_answers_401_with_a_challenge(osb: OSB) -> None:
    answer = OSB(osb.client, auth=None).get("/v2/catalog")
    expect_error(answer, 401, "Unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize(
    "authorization",
    [
        basic("broker", "wrong"),
        basic("someone", "broker"),
        basic("broker", ""),
        basic("", ""),
        "Basic !!!not-base64!!!",
        "Basic " + "YnJva2Vy",  # "broker" without a colon
        "Basic",
        "Digest username=broker",
        "Bearer broker",
        "broker:broker",
    ],
)
def test_wrong_credentials_answer_401(osb: OSB, authorization: str) -> None:
    answer = OSB(osb.client, auth=authorization).get("/v2/catalog")
    expect_error(answer, 401, "Unauthorized")
    assert "WWW-Authenticate" in answer.headers


def test_the_basic_scheme_name_is_case_insensitive(osb: OSB) -> None:
    authorization = basic().replace("Basic", "basic")
    assert OSB(osb.client, auth=authorization).get("/v2/catalog").status == 200


def test_every_osb_endpoint_needs_credentials(osb: OSB) -> None:
    anonymous = OSB(osb.client, auth=None)
    for method, path in OSB_ONLY_PATHS:
        answer = anonymous.request(method, path)
        assert answer.status == 401, f"{method} {path} answered {answer.status} without credentials"
        assert "WWW-Authenticate" in answer.headers


def test_a_refused_request_changes_nothing(osb: OSB, store: Store) -> None:
    osb.provision("a-2", "mock-database", "small")
    service_id, plan_id = osb.ids("mock-database", "small")
    intruder = OSB(osb.client, auth=basic("broker", "guess"))
    body = {
        "service_id": service_id,
        "plan_id": plan_id,
        "organization_guid": "o",
        "space_guid": "s",
    }
    assert intruder.put("/v2/service_instances/a-3", body).status == 401
    query = {"service_id": service_id, "plan_id": plan_id}
    assert intruder.delete("/v2/service_instances/a-2", query=query).status == 401
    assert store.get_instance("a-3") is None
    assert store.get_instance("a-2") is not None


def test_several_user_password_pairs_are_accepted(settings: Settings) -> None:
    client = _client(
        settings.replace(users=(BasicCredential("ci", "ci-pw"), BasicCredential("cf", "cf-pw")))
    )
    for authorization in (basic("broker", "broker"), basic("ci", "ci-pw"), basic("cf", "cf-pw")):
        assert OSB(client, auth=authorization).get("/v2/catalog").status == 200
    # Pairs do not mix: one user's password does not open another user.
    expect_error(OSB(client, auth=basic("ci", "cf-pw")).get("/v2/catalog"), 401)


def test_bearer_tokens_are_accepted_when_configured(settings: Settings) -> None:
    client = _client(settings.replace(bearer_tokens=("token-one", "token-two")))
    assert OSB(client, auth="Bearer token-one").get("/v2/catalog").status == 200
    assert OSB(client, auth="Bearer token-two").get("/v2/catalog").status == 200
    assert OSB(client, auth=basic()).get("/v2/catalog").status == 200
    refused = OSB(client, auth="Bearer token-three").get("/v2/catalog")
    expect_error(refused, 401)
    assert "Bearer" in refused.headers["WWW-Authenticate"]


def test_no_bearer_token_is_accepted_when_none_is_configured(osb: OSB) -> None:
    expect_error(OSB(osb.client, auth="Bearer ").get("/v2/catalog"), 401)
    answer = OSB(osb.client, auth="Bearer anything").get("/v2/catalog")
    expect_error(answer, 401)
    assert "Bearer" not in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_the_health_probes_answer_without_credentials(osb: OSB, path: str) -> None:
    answer = OSB(osb.client, auth=None, version=None).get(path)
    assert answer.status == 200


@pytest.mark.parametrize("method, path", ADMIN_PATHS)
def test_everything_else_needs_the_admin_credentials(osb: OSB, method: str, path: str) -> None:
    anonymous = OSB(osb.client, auth=None, version=None).request(method, path)
    assert anonymous.status == 401, (
        f"{method} {path} answered {anonymous.status} without credentials"
    )
    assert "mockbroker-admin" in anonymous.headers["WWW-Authenticate"]
    with_osb_credentials = OSB(osb.client, version=None).request(method, path)
    assert with_osb_credentials.status == 401
    with_admin = OSB(osb.client, auth=ADMIN, version=None).request(method, path)
    assert with_admin.status != 401


def test_the_openapi_document_needs_credentials(osb: OSB) -> None:
    expect_error(OSB(osb.client, auth=None, version=None).get("/openapi.json"), 401)
    assert OSB(osb.client, auth=ADMIN, version=None).get("/openapi.json").status == 200
    # Platform teams read it with the OSB credentials they already have.
    assert OSB(osb.client, version=None).get("/openapi.json").status == 200


def test_the_admin_credentials_default_to_the_osb_ones(settings: Settings) -> None:
    client = _client(settings.replace(admin_username=None, admin_password=None))
    assert OSB(client, auth=basic(), version=None).get("/openapi.json").status == 200
    assert OSB(client, auth=basic(), version=None).get("/no-such-path").status == 404


def test_the_authorization_header_is_never_recorded(osb: OSB, admin: OSB) -> None:
    osb.provision("a-4", "mock-database", "small")
    OSB(osb.client, auth=basic("broker", "a-guess")).get("/v2/catalog")
    entries = admin.get("/admin/requests").json["requests"]
    assert entries
    recorded = repr(entries)
    assert basic() not in recorded
    assert basic("broker", "a-guess") not in recorded
    for entry in entries:
        authorization = {k.lower(): v for k, v in entry["headers"].items()}["authorization"]
        assert "broker" not in authorization
