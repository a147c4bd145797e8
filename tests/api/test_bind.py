"""PUT …/service_bindings/:id: new, identical repeat, conflicting repeat, async, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from tests.support.osb import OSB, Answer, expect_error

ASYNC = {"accepts_incomplete": "true"}

SPECIAL_PLANS = """
services:
  - name: special
    description: Plans with unusual binding rules
    bindable: true
    plans:
      - name: needs-app
        description: Bindings need an app
        mockbroker: {requires_app: true}
      - name: not-bindable
        description: Cannot be bound
        bindable: false
"""


def bind(
    osb: OSB,
    instance_id: str,
    binding_id: str,
    service: str = "mock-database",
    plan: str = "small",
    query: Any = None,
    **fields: Any,
) -> Answer:
    service_id, plan_id = osb.ids(service, plan)
    return osb.put(
        f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}",
        {"service_id": service_id, "plan_id": plan_id, **fields},
        query=query,
    )


@pytest.fixture
def special(settings: Settings, tmp_path: Path) -> OSB:
    catalog = tmp_path / "special.yaml"
    catalog.write_text(SPECIAL_PLANS)
    app = create_app(settings.replace(catalogs=(*settings.catalogs, catalog)))
    return OSB(app.test_client())


def test_a_new_binding_answers_201_with_credentials(osb: OSB, store: Store) -> None:
    osb.provision("b-1", "mock-database", "small")
    answer = bind(osb, "b-1", "b-1-a")
    assert answer.status == 201
    assert {"uri", "username", "password"} <= set(answer.json["credentials"])
    binding = store.get_binding("b-1-a")
    assert binding is not None and binding.state == "ready"


def test_a_repeated_identical_bind_answers_200_with_the_same_credentials(osb: OSB) -> None:
    osb.provision("b-2", "mock-database", "small")
    first = bind(osb, "b-2", "b-2-a", parameters={"role": "read-only"})
    again = bind(osb, "b-2", "b-2-a", parameters={"role": "read-only"})
    assert (first.status, again.status) == (201, 200)
    assert again.json == first.json


@pytest.mark.parametrize(
    "change",
    [
        {"parameters": {"role": "read-write"}},
        {"parameters": {}},
        {"bind_resource": {"app_guid": "app-2"}},
        {"bind_resource": {"app_guid": "app-1", "route": "r.example.test"}},
    ],
)
def test_a_repeat_with_different_attributes_answers_409(
    osb: OSB, store: Store, change: dict[str, Any]
) -> None:
    osb.provision("b-3", "mock-database", "small")
    bind(osb, "b-3", "b-3-a", parameters={"role": "read-only"}, bind_resource={"app_guid": "app-1"})
    before = store.get_binding("b-3-a")
    fields = {"parameters": {"role": "read-only"}, "bind_resource": {"app_guid": "app-1"}, **change}
    expect_error(bind(osb, "b-3", "b-3-a", **fields), 409, "Conflict", "b-3-a")
    assert store.get_binding("b-3-a") == before


def test_a_binding_id_used_by_another_instance_answers_409(osb: OSB, store: Store) -> None:
    osb.provision("b-4", "mock-database", "small")
    osb.provision("b-5", "mock-database", "small")
    bind(osb, "b-4", "b-shared")
    expect_error(bind(osb, "b-5", "b-shared"), 409, "Conflict")
    assert store.get_binding("b-shared").instance_id == "b-4"  # type: ignore[union-attr]


def test_a_bind_to_an_unknown_instance_answers_404(osb: OSB, store: Store) -> None:
    expect_error(bind(osb, "b-none", "b-none-a"), 404, "NotFound", "b-none")
    assert store.get_binding("b-none-a") is None


def test_an_unknown_service_or_plan_answers_400(osb: OSB, store: Store) -> None:
    osb.provision("b-6", "mock-database", "small")
    expect_error(
        bind(osb, "b-6", "b-6-a", service_id="no-such-service"),
        400,
        "BadRequest",
        "no-such-service",
    )
    expect_error(
        bind(osb, "b-6", "b-6-a", plan_id="no-such-plan"), 400, "BadRequest", "no-such-plan"
    )
    assert store.get_binding("b-6-a") is None


def test_service_and_plan_must_be_those_of_the_instance(osb: OSB, store: Store) -> None:
    osb.provision("b-7", "mock-database", "small")
    expect_error(bind(osb, "b-7", "b-7-a", plan="large"), 400, "BadRequest")
    expect_error(bind(osb, "b-7", "b-7-a", service="mock-async", plan="sync"), 400, "BadRequest")
    assert store.get_binding("b-7-a") is None


def test_the_request_attributes_are_stored(osb: OSB, store: Store) -> None:
    osb.provision("b-8", "mock-database", "small")
    context = {"platform": "cloudfoundry", "organization_guid": "o", "space_guid": "s"}
    bind(
        osb,
        "b-8",
        "b-8-a",
        context=context,
        parameters={"role": "read-only"},
        bind_resource={"app_guid": "app-9"},
    )
    binding = store.get_binding("b-8-a")
    assert binding is not None
    assert (binding.context, binding.parameters, binding.app_guid) == (
        context,
        {"role": "read-only"},
        "app-9",
    )


def test_the_deprecated_top_level_app_guid_is_understood(osb: OSB, store: Store) -> None:
    osb.provision("b-9", "mock-database", "small")
    bind(osb, "b-9", "b-9-a", app_guid="app-old-style")
    assert store.get_binding("b-9-a").app_guid == "app-old-style"  # type: ignore[union-attr]


def test_a_plan_that_requires_an_app_answers_422_requires_app(special: OSB) -> None:
    special.provision("b-10", "special", "needs-app")
    expect_error(bind(special, "b-10", "b-10-a", "special", "needs-app"), 422, "RequiresApp")
    ok = bind(
        special, "b-10", "b-10-a", "special", "needs-app", bind_resource={"app_guid": "app-1"}
    )
    assert ok.status == 201


def test_a_plan_that_is_not_bindable_refuses_binds(special: OSB) -> None:
    special.provision("b-11", "special", "not-bindable")
    expect_error(
        bind(special, "b-11", "b-11-a", "special", "not-bindable"),
        400,
        "BadRequest",
        "not bindable",
    )


def test_a_bind_while_the_instance_is_provisioning_answers_422_concurrency_error(osb: OSB) -> None:
    osb.provision("b-12", "mock-database", "large", accepts_incomplete=True)
    expect_error(bind(osb, "b-12", "b-12-a", plan="large"), 422, "ConcurrencyError")


def test_a_bind_to_a_failed_instance_answers_422(osb: OSB, store: Store) -> None:
    osb.provision("b-13", "mock-async", "failing", accepts_incomplete=True)
    osb.poll("b-13")
    expect_error(bind(osb, "b-13", "b-13-a", "mock-async", "failing"), 422, "UnprocessableEntity")
    assert store.get_binding("b-13-a") is None


# --- asynchronous binding ------------------------------------------------------------


def test_an_async_bind_answers_202_with_only_an_operation(osb: OSB, store: Store) -> None:
    osb.provision("b-20", "mock-async", "polls")
    answer = bind(osb, "b-20", "b-20-a", "mock-async", "polls", query=ASYNC)
    assert answer.status == 202
    assert set(answer.json) == {"operation"}  # never credentials in a 202
    assert store.get_binding("b-20-a").state == "binding"  # type: ignore[union-attr]


def test_an_async_binding_gets_its_credentials_when_it_succeeds(osb: OSB) -> None:
    osb.provision("b-21", "mock-async", "polls")
    answer = bind(osb, "b-21", "b-21-a", "mock-async", "polls", query=ASYNC)
    expect_error(osb.get("/v2/service_instances/b-21/service_bindings/b-21-a"), 404, "NotFound")
    final = osb.poll("b-21", answer.json["operation"], binding_id="b-21-a")
    assert final.json == {"state": "succeeded"}
    fetched = osb.get("/v2/service_instances/b-21/service_bindings/b-21-a")
    assert fetched.status == 200
    assert fetched.json["credentials"]["password"]


def test_an_identical_bind_repeat_while_in_progress_answers_202_with_the_same_operation(
    osb: OSB,
) -> None:
    osb.provision("b-22", "mock-async", "polls")
    first = bind(osb, "b-22", "b-22-a", "mock-async", "polls", query=ASYNC)
    again = bind(osb, "b-22", "b-22-a", "mock-async", "polls", query=ASYNC)
    assert (first.status, again.status) == (202, 202)
    assert again.json == first.json
    expect_error(bind(osb, "b-22", "b-22-a", "mock-async", "polls"), 422, "AsyncRequired")


def test_a_different_bind_repeat_while_in_progress_answers_409(osb: OSB) -> None:
    osb.provision("b-23", "mock-async", "polls")
    bind(osb, "b-23", "b-23-a", "mock-async", "polls", query=ASYNC)
    answer = bind(osb, "b-23", "b-23-a", "mock-async", "polls", query=ASYNC, parameters={"x": 1})
    expect_error(answer, 409, "Conflict")


def test_an_identical_repeat_after_the_async_bind_answers_200_with_credentials(osb: OSB) -> None:
    osb.provision("b-24", "mock-async", "polls")
    bind(osb, "b-24", "b-24-a", "mock-async", "polls", query=ASYNC)
    osb.poll("b-24", binding_id="b-24-a")
    again = bind(osb, "b-24", "b-24-a", "mock-async", "polls", query=ASYNC)
    assert again.status == 200
    assert again.json["credentials"]["username"]


@pytest.mark.parametrize("query", [None, {"accepts_incomplete": "false"}])
def test_an_async_only_bind_answers_422_async_required(osb: OSB, store: Store, query: Any) -> None:
    osb.provision("b-25", "mock-async", "async-only", accepts_incomplete=True)
    osb.poll("b-25")
    expect_error(
        bind(osb, "b-25", "b-25-a", "mock-async", "async-only", query=query), 422, "AsyncRequired"
    )
    assert store.get_binding("b-25-a") is None


def test_a_failed_async_bind_reports_failed_and_can_be_retried(osb: OSB, store: Store) -> None:
    osb.provision("b-26", "mock-async", "sync")
    osb.change_plan("b-26", "mock-async", "failing")
    first = bind(osb, "b-26", "b-26-a", "mock-async", "failing", query=ASYNC)
    final = osb.poll("b-26", first.json["operation"], binding_id="b-26-a")
    assert final.json == {"state": "failed", "description": "Could not create the user"}
    expect_error(osb.get("/v2/service_instances/b-26/service_bindings/b-26-a"), 404)
    retried = bind(osb, "b-26", "b-26-a", "mock-async", "failing", query=ASYNC)
    assert retried.status == 202
    assert retried.json["operation"] != first.json["operation"]


def test_a_failed_sync_bind_answers_the_declared_error_without_instance_fields(
    osb: OSB, store: Store
) -> None:
    osb.provision("b-27", "mock-async", "sync")
    osb.change_plan("b-27", "mock-async", "failing-sync")
    answer = bind(osb, "b-27", "b-27-a", "mock-async", "failing-sync")
    expect_error(answer, 500, None, "The mock cloud could not create a user")
    assert store.get_binding("b-27-a") is None


def test_binds_of_different_bindings_on_one_instance_do_not_block_each_other(osb: OSB) -> None:
    osb.provision("b-28", "mock-async", "polls")
    first = bind(osb, "b-28", "b-28-a", "mock-async", "polls", query=ASYNC)
    second = bind(osb, "b-28", "b-28-b", "mock-async", "polls", query=ASYNC)
    assert (first.status, second.status) == (202, 202)
    assert first.json["operation"] != second.json["operation"]
