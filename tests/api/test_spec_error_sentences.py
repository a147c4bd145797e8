"""AsyncRequired, ConcurrencyError and RequiresApp answer the spec's sample sentence.

Platform-side clients recognise these codes by the description's exact words; the
broker's own detail goes in the ``mockbroker_detail`` extension field next to it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.app import create_app
from broker.config import Settings
from tests.support.osb import OSB

ASYNC = {"accepts_incomplete": "true"}

NEEDS_APP = """
services:
  - name: app-only
    description: Bindings need an app
    bindable: true
    plans:
      - name: default
        description: Bindings need an app
        mockbroker: {requires_app: true}
"""


def test_async_required_answers_the_spec_sentence_and_keeps_the_detail(osb: OSB) -> None:
    answer = osb.provision("sentence-1", "mock-async", "async-only")
    assert answer.status == 422
    assert answer.json == {
        "error": "AsyncRequired",
        "description": "This service plan requires client support for asynchronous service "
        "operations.",
        "mockbroker_detail": "this plan can only provision asynchronously: send the request "
        "with accepts_incomplete=true",
    }


def test_concurrency_error_answers_the_spec_sentence_and_keeps_the_detail(osb: OSB) -> None:
    assert (
        osb.provision("sentence-2", "mock-async", "manual", accepts_incomplete=True).status == 202
    )
    answer = osb.change_plan("sentence-2", "mock-async", "polls")
    assert answer.status == 422
    assert answer.json == {
        "error": "ConcurrencyError",
        "description": "The Service Broker does not support concurrent requests that mutate "
        "the same resource.",
        "mockbroker_detail": "instance sentence-2 is being provisioned",
    }


def test_requires_app_answers_the_spec_sentence_and_keeps_the_detail(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = tmp_path / "app-only.yaml"
    catalog.write_text(NEEDS_APP)
    osb = OSB(create_app(settings.replace(catalogs=(catalog,))).test_client())
    assert osb.provision("sentence-3", "app-only", "default").status == 201
    answer = osb.bind("sentence-3", "sentence-3-b", "app-only", "default")
    assert answer.status == 422
    assert answer.json == {
        "error": "RequiresApp",
        "description": "This service supports generation of credentials through binding an "
        "application only.",
        "mockbroker_detail": "this plan requires an app: send bind_resource.app_guid",
    }


def test_other_errors_keep_the_broker_s_own_description(osb: OSB) -> None:
    answer = osb.get("/v2/service_instances/nowhere")
    assert answer.status == 404
    assert set(answer.json) == {"error", "description"}
    assert "nowhere" in answer.json["description"]


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        (
            "AsyncRequired",
            "This service plan requires client support for asynchronous service operations.",
        ),
        (
            "ConcurrencyError",
            "The Service Broker does not support concurrent requests that "
            "mutate the same resource.",
        ),
    ],
)
def test_a_fault_rule_answering_a_spec_code_without_a_description_uses_the_sentence(
    osb: OSB, admin: OSB, code: str, sentence: str
) -> None:
    rule = {"match": {"operation": "provision"}, "action": {"status": 422, "error": code}}
    assert admin.post("/admin/faults", rule).status == 201
    answer = osb.provision("sentence-4", "mock-database", "small")
    assert answer.status == 422
    assert answer.json == {"error": code, "description": sentence}


def test_a_fault_rule_s_own_description_is_kept(osb: OSB, admin: OSB) -> None:
    rule = {
        "match": {"operation": "provision"},
        "action": {"status": 422, "error": "ConcurrencyError", "description": "busy, try later"},
    }
    assert admin.post("/admin/faults", rule).status == 201
    answer = osb.provision("sentence-5", "mock-database", "small")
    assert answer.json == {"error": "ConcurrencyError", "description": "busy, try later"}
