"""Records round-trip through the JSON every store keeps."""

from __future__ import annotations

import json

import pytest

from broker.storage.records import Record
from tests.support.records import binding, instance, operation

NESTED = {"credentials": {"uri": "postgresql://u:p@h/db", "ports": [5432, 5433]}, "ok": True}


@pytest.mark.parametrize(
    "record",
    [
        instance(parameters=NESTED, context={"platform": "kubernetes"}, backend_state={}),
        binding(response=NESTED, bind_resource={"app_guid": "app-1"}, expires_at=2000.5),
        operation("op-1", payload={"previous_state": "ready", "nested": NESTED}, polls=3),
    ],
    ids=["instance", "binding", "operation"],
)
def test_the_stored_json_holds_every_field_and_reads_back_equal(record: Record) -> None:
    text = record.to_json()

    assert json.loads(text) == record.to_dict()
    assert text == json.dumps(record.to_dict(), separators=(",", ":"))
    assert type(record).from_dict(json.loads(text)) == record


def test_a_stored_copy_equals_the_record_and_shares_none_of_its_values() -> None:
    record = instance(parameters={"nested": {"list": [1, 2]}}, context={"platform": "cf"})

    copy = record.stored_copy()

    assert copy == record and type(copy) is type(record)
    assert copy.parameters is not record.parameters
    assert copy.parameters["nested"] is not record.parameters["nested"]


def test_a_record_that_cannot_be_stored_fails_to_copy() -> None:
    with pytest.raises(TypeError):
        instance(parameters={"when": object()}).stored_copy()
