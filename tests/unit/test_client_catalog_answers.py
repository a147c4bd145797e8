"""A repeated catalog answer: equal to the first, its own objects, read as the first was."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import httpx
import pytest

from broker.client import CatalogResponse, OSBClient

CATALOG: dict[str, Any] = {
    "services": [
        {
            "id": "s",
            "name": "svc",
            "count": 12345678901234567890,  # past what orjson keeps as an int
            "plans": [{"id": "p", "name": "plan", "free": True}],
        }
    ]
}


def client_answering(*bodies: dict[str, Any]) -> OSBClient:
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=queue.pop(0) if len(queue) > 1 else queue[0])

    return OSBClient("http://broker", transport=httpx.MockTransport(handler))


def test_a_repeated_catalog_equals_the_first_and_keeps_every_field() -> None:
    client = client_answering(CATALOG)
    first, again = client.catalog(), client.catalog()
    assert again == first and first == again
    assert again.body == CATALOG and again.services == CATALOG["services"]
    assert isinstance(again.services[0]["count"], int)
    assert again.plan("svc", "plan")[1]["free"] is True
    assert repr(again) == repr(first)
    assert dataclasses.asdict(again) == dataclasses.asdict(first)


def test_each_catalog_answer_has_its_own_objects() -> None:
    client = client_answering(CATALOG)
    client.catalog()
    mutated = client.catalog()
    mutated.services[0]["plans"].clear()
    mutated.body["services"].append({"id": "x"})
    untouched = client.catalog()
    assert untouched.body == CATALOG and untouched.services == CATALOG["services"]
    assert untouched.services is not mutated.services
    assert untouched.services[0] is untouched.body["services"][0]


def test_a_repeated_catalog_copies_and_pickles_as_any_answer() -> None:
    client = client_answering(CATALOG)
    first = client.catalog()
    assert copy.deepcopy(client.catalog()) == first
    assert pickle.loads(pickle.dumps(client.catalog())) == first
    assert copy.copy(client.catalog()).services == CATALOG["services"]


def test_a_repeated_catalog_is_as_frozen_as_the_first() -> None:
    client = client_answering(CATALOG)
    client.catalog()
    again = client.catalog()
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.services = []  # type: ignore[misc]
    assert not hasattr(again, "servics")
    assert isinstance(again, CatalogResponse)


def test_a_catalog_whose_body_changed_is_read_anew() -> None:
    changed = {"services": [{"id": "t", "name": "other", "plans": []}]}
    client = client_answering(CATALOG, CATALOG, changed, changed)
    client.catalog()
    client.catalog()
    assert client.catalog().services == changed["services"]
    assert client.catalog().body == changed
