"""A fault rule written as keywords, and what a misplaced or misspelled key is told."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from broker.faults.schemas import ActionSchema, MatchSchema, TriggerSchema, parse_fault_rule
from broker.faults.shorthand import SECTIONS, fault_rule, unknown_key_message


def test_the_keyword_vocabulary_is_the_rule_schemas() -> None:
    for section, schema in (
        ("match", MatchSchema),
        ("trigger", TriggerSchema),
        ("action", ActionSchema),
    ):
        assert set(SECTIONS[section]) == set(schema().fields), section


def test_each_keyword_goes_where_its_name_belongs() -> None:
    assert fault_rule(operation="bind", instance_id="i", times=2, status=500, delay_ms=5) == {
        "match": {"operation": "bind", "instance_id": "i"},
        "trigger": {"times": 2},
        "action": {"status": 500, "delay_ms": 5},
    }


def test_keywords_complete_a_rule_without_changing_the_one_given() -> None:
    rule = {"description": "flaky binds", "match": {"operation": "bind"}}
    built = fault_rule(rule, status=503)
    assert built == {
        "description": "flaky binds",
        "match": {"operation": "bind"},
        "action": {"status": 503},
    }
    assert rule == {"description": "flaky binds", "match": {"operation": "bind"}}
    assert fault_rule(rule, operation="bind") == rule  # saying the same thing twice is fine
    with pytest.raises(
        TypeError, match=r"operation='unbind' contradicts the rule's match.operation"
    ):
        fault_rule(rule, operation="unbind")


@pytest.mark.parametrize(
    ("key", "section", "message"),
    [
        ("opration", None, "unknown match field 'opration'; did you mean 'operation'?"),
        ("tmes", None, "unknown trigger field 'tmes'; did you mean 'times'?"),
        ("delay", None, "unknown action field 'delay'; did you mean 'delay_ms'?"),
        ("opration", "match", "unknown field; did you mean 'operation'?"),
        ("times", "match", "belongs under 'trigger', not 'match'"),
        ("tims", "action", "unknown field; did you mean the trigger field 'times'?"),
        (
            "xyzzy",
            "trigger",
            "unknown field; known: after, nth, probability, seed, times",
        ),
    ],
)
def test_a_wrong_key_is_told_what_it_is_most_like(
    key: str, section: str | None, message: str
) -> None:
    assert unknown_key_message(key, section) == message


def test_a_keyword_like_nothing_lists_every_field() -> None:
    with pytest.raises(TypeError) as raised:
        fault_rule(xyzzy=1)
    assert str(raised.value).startswith(
        "unknown fault rule field 'xyzzy' (fields of match: operation"
    )


def test_a_rule_names_every_wrong_key_at_its_path() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_fault_rule(
            {
                "operation": "bind",
                "mach": {},
                "match": {"opration": "bind", "times": 2},
                "action": {"status": 500},
            }
        )
    assert raised.value.messages == {
        "operation": ["belongs under 'match'"],
        "mach": ["unknown field; did you mean 'match'?"],
        "match": {
            "opration": ["unknown field; did you mean 'operation'?"],
            "times": ["belongs under 'trigger', not 'match'"],
        },
    }
