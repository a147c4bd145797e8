"""A fault rule is checked when it is written, not when it breaks an answer.

A ``content_type`` with control characters or characters outside Latin-1 could not
be sent as a header, and a rule id holding ``/`` could not be fetched or deleted by
its URL: both are refused with 400 by ``POST /admin/faults`` and in a catalog pushed
through ``PUT /admin/catalog``, and nothing of the rule is kept.
"""

from __future__ import annotations

import pytest

from tests.support.osb import OSB

pytestmark = pytest.mark.server

BAD_CONTENT_TYPES = [
    "text/plain\n",
    "text/plain\r\nX-Injected: 1",
    "application/json\x00",
    "text/\x7f",
    "text/\x85",  # a C1 control character
    "text/€",  # outside Latin-1
    "application/😀",
    "t" * 201,
]
BAD_IDS = ["a/b", "/", "../etc", "a/", "rule\n", "tab\there", "x" * 201, ""]


def admin_rules(admin: OSB) -> list[dict[str, object]]:
    return [rule for rule in admin.get("/admin/faults").json["faults"] if rule["origin"] == "admin"]


@pytest.mark.parametrize("content_type", BAD_CONTENT_TYPES)
def test_a_content_type_that_cannot_be_a_header_is_refused_when_written(
    admin: OSB, content_type: str
) -> None:
    rule = {"match": {"operation": "provision"}, "action": {"content_type": content_type}}
    answer = admin.post("/admin/faults", rule)
    assert answer.status == 400, answer.text
    description = answer.json["description"]
    if "\x00" in content_type:  # refused as the body is read, like any NUL
        assert "NUL" in description
    else:
        assert answer.json["error"] == "InvalidFaultRule"
        assert "content_type" in description
    assert admin_rules(admin) == []


@pytest.mark.parametrize("rule_id", BAD_IDS)
def test_a_rule_id_that_cannot_be_a_url_segment_is_refused_when_written(
    admin: OSB, rule_id: str
) -> None:
    answer = admin.post("/admin/faults", {"id": rule_id, "action": {"status": 500}})
    assert answer.status == 400, answer.text
    assert "id" in answer.json["description"]
    assert admin_rules(admin) == []


def test_a_catalog_with_such_a_rule_is_refused_as_a_whole(admin: OSB) -> None:
    before = admin.get("/admin/catalog").json
    catalog = {
        "services": [
            {
                "name": "faulty",
                "description": "d",
                "bindable": False,
                "plans": [
                    {
                        "name": "p",
                        "description": "d",
                        "mockbroker": {
                            "faults": [{"action": {"status": 500, "content_type": "a/b\r\nX: y"}}]
                        },
                    }
                ],
            }
        ]
    }
    answer = admin.put("/admin/catalog", catalog)
    assert answer.status == 400 and "content_type" in answer.text, answer.text
    assert admin.get("/admin/catalog").json == before


@pytest.mark.parametrize("content_type", ["text/plain; charset=latin-1", "text/é", "", "x/y z"])
def test_a_content_type_that_can_be_a_header_is_sent_as_written(
    osb: OSB, admin: OSB, content_type: str
) -> None:
    rule = {
        "match": {"operation": "fetch_instance", "instance_id": "ct"},
        "action": {"content_type": content_type},
    }
    created = admin.post("/admin/faults", rule)
    assert created.status == 201, created.text
    if osb.get("/v2/service_instances/ct").status == 404:
        assert osb.provision("ct", "mock-async", "sync").status == 201
    answer = osb.client.get(
        "/v2/service_instances/ct",
        headers={"Authorization": osb.auth, "X-Broker-API-Version": "2.17"},
    )
    assert answer.status_code == 200
    sent = answer.headers.raw
    found = [value for name, value in sent if name.lower() == b"content-type"]
    assert found == ([content_type.encode("latin-1")] if content_type else [])
    assert admin.delete(f"/admin/faults/{created.json['id']}").status == 200


@pytest.mark.parametrize(
    "rule_id", ["with space", "per%cent", "dots.and-dashes_1", "ünïcode", "q?x"]
)
def test_any_id_that_is_accepted_can_be_fetched_and_deleted(admin: OSB, rule_id: str) -> None:
    from urllib.parse import quote

    created = admin.post("/admin/faults", {"id": rule_id, "action": {"status": 500}})
    assert created.status == 201, created.text
    path = f"/admin/faults/{quote(rule_id, safe='')}"
    fetched = admin.get(path)
    assert fetched.status == 200 and fetched.json["id"] == rule_id
    assert admin.delete(path).status == 200
    assert admin.get(path).status == 404
