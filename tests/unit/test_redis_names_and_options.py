"""``redis`` backend units: catalog options, key prefixes and ACL user names, ACL rules."""

from __future__ import annotations

import re

import pytest

from broker.credentials.redis import ACL_COMMAND_RULES, RedisBackend, key_prefix, user_name

PREFIX = re.compile(r"^[a-z][a-z0-9_]*:$")


def test_host_port_and_name_prefix_are_accepted() -> None:
    assert (
        RedisBackend.option_problems({"host": "cache", "port": 6380, "name_prefix": "app_"}) == []
    )


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"port": 6379.5}, ("port", "Not a valid integer.")),
        (
            {"name_prefix": "a*"},
            ("name_prefix", "must be 1-16 lowercase letters, digits or _, starting with a letter"),
        ),
        ({"db": 2}, ("db", "unknown option (known: host, name_prefix, port)")),
    ],
)
def test_unusable_options_are_named_with_the_reason(
    options: dict, problem: tuple[str, str]
) -> None:
    assert RedisBackend.option_problems(options) == [problem]


@pytest.mark.parametrize(
    "instance_id", ["*", "a?b[c]", "key:with:colons", "x" * 300, "\\*", "ünïcødé"]
)
def test_a_key_prefix_holds_no_glob_character_whatever_the_id(instance_id: str) -> None:
    prefix = key_prefix(instance_id)

    assert PREFIX.fullmatch(prefix), prefix
    assert len(prefix) <= 65


def test_no_instance_prefix_starts_another_instances_prefix() -> None:
    prefixes = [
        key_prefix(instance_id) for instance_id in ("a", "a*", "a?", "ab", "a_b", "a:b", "a" * 80)
    ]

    assert len(set(prefixes)) == len(prefixes)
    for first in prefixes:
        for second in prefixes:
            assert first == second or not second.startswith(first)


def test_user_names_differ_per_binding_and_per_instance() -> None:
    assert user_name("i", "b1") != user_name("i", "b2")
    assert user_name("i1", "b") != user_name("i2", "b")
    assert " " not in user_name("i", "binding with spaces")


def test_bound_users_lose_admin_dangerous_and_cross_database_commands() -> None:
    assert ACL_COMMAND_RULES[0] == "+@all"
    for rule in ("-@admin", "-@dangerous", "-select", "-move", "-copy", "-scan", "-function"):
        assert rule in ACL_COMMAND_RULES
