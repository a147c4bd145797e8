"""Binding rotation (OSB 2.17): predecessor_binding_id on binding_rotatable plans."""

from __future__ import annotations

import pytest
from flask import Flask

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from tests.support.clock import FakeClock
from tests.support.osb import OSB, Answer, expect_error

SERVICE, PLAN = "mock-rotating-credentials", "default"


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Flask:
    return create_app(settings, clock=clock)


def rotate(
    osb: OSB,
    instance_id: str,
    binding_id: str,
    predecessor: str,
    service: str = SERVICE,
    plan: str = PLAN,
) -> Answer:
    return osb.bind(instance_id, binding_id, service, plan, predecessor_binding_id=predecessor)


def test_the_plan_declares_binding_rotatable(osb: OSB) -> None:
    catalog = osb.get("/v2/catalog").json
    offering = next(s for s in catalog["services"] if s["name"] == SERVICE)
    assert offering["plans"][0]["binding_rotatable"] is True


def test_a_rotation_gets_new_credentials_and_the_predecessor_stays_valid(
    osb: OSB, store: Store
) -> None:
    osb.provision("r-1", SERVICE, PLAN)
    old = osb.bind("r-1", "r-1-a", SERVICE, PLAN)
    new = rotate(osb, "r-1", "r-1-b", "r-1-a")
    assert new.status == 201
    assert new.json["credentials"]["password"] != old.json["credentials"]["password"]
    assert new.json["credentials"]["username"] != old.json["credentials"]["username"]
    assert (
        osb.get("/v2/service_instances/r-1/service_bindings/r-1-a").json["credentials"]
        == old.json["credentials"]
    )
    assert store.get_binding("r-1-b").predecessor_binding_id == "r-1-a"  # type: ignore[union-attr]
    assert {binding.id for binding in store.bindings_of("r-1")} == {"r-1-a", "r-1-b"}


def test_the_new_binding_expires_later_than_its_predecessor(osb: OSB, clock: FakeClock) -> None:
    osb.provision("r-2", SERVICE, PLAN)
    old = osb.bind("r-2", "r-2-a", SERVICE, PLAN)
    clock.advance(3000)
    new = rotate(osb, "r-2", "r-2-b", "r-2-a")
    assert new.json["metadata"]["expires_at"] > old.json["metadata"]["expires_at"]


def test_a_rotation_can_itself_be_rotated(osb: OSB) -> None:
    osb.provision("r-3", SERVICE, PLAN)
    osb.bind("r-3", "r-3-a", SERVICE, PLAN)
    assert rotate(osb, "r-3", "r-3-b", "r-3-a").status == 201
    assert rotate(osb, "r-3", "r-3-c", "r-3-b").status == 201


def test_an_identical_rotation_repeat_answers_200(osb: OSB) -> None:
    osb.provision("r-4", SERVICE, PLAN)
    osb.bind("r-4", "r-4-a", SERVICE, PLAN)
    first = rotate(osb, "r-4", "r-4-b", "r-4-a")
    again = rotate(osb, "r-4", "r-4-b", "r-4-a")
    assert (first.status, again.status) == (201, 200)
    assert again.json == first.json


def test_deleting_the_predecessor_keeps_its_successor(osb: OSB, store: Store) -> None:
    osb.provision("r-5", SERVICE, PLAN)
    osb.bind("r-5", "r-5-a", SERVICE, PLAN)
    rotate(osb, "r-5", "r-5-b", "r-5-a")
    assert osb.unbind("r-5", "r-5-a", SERVICE, PLAN).status == 200
    assert osb.get("/v2/service_instances/r-5/service_bindings/r-5-b").status == 200


def test_a_rotation_on_a_plan_that_is_not_rotatable_answers_400(osb: OSB, store: Store) -> None:
    osb.provision("r-6", "mock-database", "small")
    osb.bind("r-6", "r-6-a", "mock-database", "small")
    expect_error(
        rotate(osb, "r-6", "r-6-b", "r-6-a", "mock-database", "small"),
        400,
        "BadRequest",
        "binding_rotatable",
    )
    assert store.get_binding("r-6-b") is None


def test_an_unknown_predecessor_answers_400(osb: OSB, store: Store) -> None:
    osb.provision("r-7", SERVICE, PLAN)
    expect_error(
        rotate(osb, "r-7", "r-7-b", "no-such-binding"), 400, "BadRequest", "no-such-binding"
    )
    assert store.get_binding("r-7-b") is None


def test_a_predecessor_of_another_instance_answers_400(osb: OSB) -> None:
    osb.provision("r-8", SERVICE, PLAN)
    osb.provision("r-9", SERVICE, PLAN)
    osb.bind("r-8", "r-8-a", SERVICE, PLAN)
    expect_error(rotate(osb, "r-9", "r-9-b", "r-8-a"), 400, "BadRequest", "r-8-a")


def test_an_expired_predecessor_answers_400(osb: OSB, clock: FakeClock, store: Store) -> None:
    osb.provision("r-10", SERVICE, PLAN)
    osb.bind("r-10", "r-10-a", SERVICE, PLAN)
    clock.advance(3600)
    expect_error(rotate(osb, "r-10", "r-10-b", "r-10-a"), 400, "BadRequest", "expired")
    assert store.get_binding("r-10-b") is None
