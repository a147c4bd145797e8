"""OSB request headers: X-Broker-API-Version, Request-Identity, Originating-Identity."""

from __future__ import annotations

import base64
import json

import pytest

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from tests.support.osb import OSB, expect_error, identity

CF_IDENTITY = (
    "cloudfoundry eyANCiAgInVzZXJfaWQiOiAiNjgzZWE3NDgtMzA5Mi00ZmY0LWI2NTYtMzljYWNjNGQ1MzYwIg0KfQ=="
)


def every_endpoint(osb: OSB) -> list[tuple[str, str]]:
    """(method, path) of all ten OSB endpoints, on an instance and binding that exist."""
    osb.provision("hdr-i", "mock-database", "small")
    osb.bind("hdr-i", "hdr-b", "mock-database", "small")
    service_id, plan_id = osb.ids("mock-database", "small")
    ids = f"?service_id={service_id}&plan_id={plan_id}"
    instance = "/v2/service_instances/hdr-i"
    binding = f"{instance}/service_bindings/hdr-b"
    return [
        ("GET", "/v2/catalog"),
        ("PUT", instance),
        ("PATCH", instance),
        ("DELETE", instance + ids),
        ("GET", instance),
        ("GET", f"{instance}/last_operation"),
        ("PUT", binding),
        ("DELETE", binding + ids),
        ("GET", binding),
        ("GET", f"{binding}/last_operation"),
    ]


# --- X-Broker-API-Version -------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "2.18", "2.99"]
)
def test_versions_from_2_11_up_to_3_are_accepted(osb: OSB, version: str) -> None:
    answer = osb.get("/v2/catalog", headers={"X-Broker-API-Version": version})
    assert answer.status == 200
    assert answer.json["services"]


@pytest.mark.parametrize("version", ["2.10", "2.0", "1.0", "1.99"])
def test_a_version_below_2_11_answers_412_naming_the_supported_range(
    osb: OSB, version: str
) -> None:
    answer = osb.get("/v2/catalog", headers={"X-Broker-API-Version": version})
    expect_error(answer, 412, "PreconditionFailed", version, "2.11")


@pytest.mark.parametrize("version", ["3.0", "3.1", "10.17"])
def test_a_version_of_3_or_above_answers_412(osb: OSB, version: str) -> None:
    answer = osb.get("/v2/catalog", headers={"X-Broker-API-Version": version})
    expect_error(answer, 412, "PreconditionFailed", "2.11")


@pytest.mark.parametrize("version", ["abc", "2", "2.17.1", "v2.17", "2.x", "2,17", "2.17-beta"])
def test_a_malformed_version_answers_412(osb: OSB, version: str) -> None:
    answer = osb.get("/v2/catalog", headers={"X-Broker-API-Version": version})
    expect_error(answer, 412, "PreconditionFailed", "2.11")


def test_a_missing_version_answers_412_by_default(osb: OSB) -> None:
    answer = OSB(osb.client, version=None).get("/v2/catalog")
    expect_error(answer, 412, "PreconditionFailed", "missing", "2.11")


def test_a_missing_version_answers_400_when_configured(settings: Settings) -> None:
    app = create_app(settings.replace(missing_version_status=400))
    client = OSB(app.test_client(), version=None)
    expect_error(client.get("/v2/catalog"), 400, "BadRequest", "missing", "2.11")
    # A present but unsupported version is still a 412.
    answer = client.get("/v2/catalog", headers={"X-Broker-API-Version": "2.10"})
    expect_error(answer, 412, "PreconditionFailed")


def test_every_osb_endpoint_checks_the_version(osb: OSB, store: Store) -> None:
    without_version = OSB(osb.client, version=None)
    for method, path in every_endpoint(osb):
        answer = without_version.request(
            method, path, json_body={"service_id": "x", "plan_id": "y"}
        )
        expect_error(answer, 412, "PreconditionFailed")
    # Nothing was deleted or changed by the refused requests.
    assert store.get_instance("hdr-i") is not None
    assert store.get_binding("hdr-b") is not None


def test_a_refused_version_leaves_no_instance_behind(osb: OSB, store: Store) -> None:
    answer = osb.provision(
        "v-1", "mock-database", "small", headers={"X-Broker-API-Version": "2.10"}
    )
    assert answer.status == 412
    assert store.get_instance("v-1") is None


def test_credentials_are_checked_before_the_version(osb: OSB) -> None:
    answer = OSB(osb.client, auth=None, version="1.0").get("/v2/catalog")
    expect_error(answer, 401, "Unauthorized")


# --- X-Broker-API-Request-Identity ----------------------------------------------------


def test_the_request_identity_is_echoed(osb: OSB) -> None:
    answer = osb.get("/v2/catalog", headers={"X-Broker-API-Request-Identity": "e26cfe5b-7ed5-4e24"})
    assert answer.status == 200
    assert answer.headers["X-Broker-API-Request-Identity"] == "e26cfe5b-7ed5-4e24"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v2/service_instances/nope"),
        ("PUT", "/v2/service_instances/x"),
        ("GET", "/v2/nope"),
    ],
)
def test_the_request_identity_is_echoed_on_errors(osb: OSB, method: str, path: str) -> None:
    answer = osb.request(method, path, headers={"X-Broker-API-Request-Identity": "req-42"})
    assert answer.status >= 400
    assert answer.headers["X-Broker-API-Request-Identity"] == "req-42"


def test_the_request_identity_is_echoed_on_a_401_and_a_412(osb: OSB) -> None:
    header = {"X-Broker-API-Request-Identity": "req-43"}
    unauthenticated = OSB(osb.client, auth=None).get("/v2/catalog", headers=header)
    assert unauthenticated.status == 401
    assert unauthenticated.headers["X-Broker-API-Request-Identity"] == "req-43"
    old = osb.get("/v2/catalog", headers={**header, "X-Broker-API-Version": "2.1"})
    assert old.status == 412
    assert old.headers["X-Broker-API-Request-Identity"] == "req-43"


def test_no_request_identity_is_invented_when_none_was_sent(osb: OSB) -> None:
    answer = osb.get("/v2/catalog")
    assert "X-Broker-API-Request-Identity" not in answer.headers


# --- X-Broker-API-Originating-Identity ------------------------------------------------


def test_the_originating_identity_is_kept_with_the_instance(
    osb: OSB, admin: OSB, store: Store
) -> None:
    header = identity(
        "kubernetes", username="alice", uid="1000", groups=["admins"], extra={"k": ["v"]}
    )
    answer = osb.provision(
        "oi-1",
        "mock-database",
        "small",
        headers={"X-Broker-API-Originating-Identity": header},
        context={"platform": "kubernetes", "namespace": "dev"},
    )
    assert answer.status == 201
    expected = {
        "platform": "kubernetes",
        "value": {"username": "alice", "uid": "1000", "groups": ["admins"], "extra": {"k": ["v"]}},
    }
    instance = store.get_instance("oi-1")
    assert instance is not None and instance.originating_identity == expected
    # Visible over the admin API: in the state and in the request journal.
    state = admin.get("/admin/state").json
    assert [i["originating_identity"] for i in state["instances"] if i["id"] == "oi-1"] == [
        expected
    ]
    journal = admin.get("/admin/requests", query={"instance_id": "oi-1"}).json["requests"]
    assert journal[-1]["originating_identity"] == expected


def test_the_originating_identity_is_kept_with_the_binding(osb: OSB, store: Store) -> None:
    osb.provision("oi-2", "mock-database", "small")
    answer = osb.bind(
        "oi-2",
        "oi-b",
        "mock-database",
        "small",
        headers={"X-Broker-API-Originating-Identity": CF_IDENTITY},
    )
    assert answer.status == 201
    binding = store.get_binding("oi-b")
    assert binding is not None
    assert binding.originating_identity == {
        "platform": "cloudfoundry",
        "value": {"user_id": "683ea748-3092-4ff4-b656-39cacc4d5360"},
    }


def test_unpadded_base64_in_the_originating_identity_is_accepted(osb: OSB, store: Store) -> None:
    encoded = base64.b64encode(json.dumps({"user_id": "u1"}).encode()).decode().rstrip("=")
    assert len(encoded) % 4  # really unpadded
    answer = osb.provision(
        "oi-3",
        "mock-database",
        "small",
        headers={"X-Broker-API-Originating-Identity": f"cloudfoundry {encoded}"},
    )
    assert answer.status == 201
    assert store.get_instance("oi-3").originating_identity["value"] == {"user_id": "u1"}  # type: ignore[union-attr]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "header",
    [
        "kubernetes",  # no value
        _b64(b'{"user_id": "u"}'),  # no platform
        "kubernetes !!!not-base64!!!",
        f"kubernetes {_b64(b'not json')}",
        f"kubernetes {_b64(b'[1, 2]')}",
        "kubernetes " + _b64(b'"a string"'),
        f"kubernetes {_b64(bytes([0xFF, 0xFE, 0x00]))}",
        f"kubernetes {_b64(b'{}')} extra",
    ],
)
def test_a_malformed_originating_identity_answers_400_and_changes_nothing(
    osb: OSB, store: Store, header: str
) -> None:
    answer = osb.provision(
        "oi-bad", "mock-database", "small", headers={"X-Broker-API-Originating-Identity": header}
    )
    expect_error(answer, 400, "BadRequest", "X-Broker-API-Originating-Identity")
    assert store.get_instance("oi-bad") is None


def test_the_context_platform_must_match_the_originating_identity(osb: OSB, store: Store) -> None:
    answer = osb.provision(
        "oi-4",
        "mock-database",
        "small",
        headers={"X-Broker-API-Originating-Identity": identity("kubernetes")},
        context={"platform": "cloudfoundry"},
    )
    expect_error(answer, 400, "BadRequest", "cloudfoundry", "kubernetes")
    assert store.get_instance("oi-4") is None


def test_an_originating_identity_is_optional(osb: OSB, store: Store) -> None:
    assert osb.provision("oi-5", "mock-database", "small").status == 201
    assert store.get_instance("oi-5").originating_identity is None  # type: ignore[union-attr]
