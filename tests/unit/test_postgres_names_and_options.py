"""``postgres`` backend units: catalog options and names derived from OSB ids."""

from __future__ import annotations

import re

import pytest

from broker.credentials.postgres import PostgresBackend, database_name, role_name

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def test_an_empty_option_mapping_is_fine() -> None:
    assert PostgresBackend.option_problems({}) == []


def test_host_port_and_name_prefix_are_accepted() -> None:
    assert (
        PostgresBackend.option_problems(
            {"host": "db.internal", "port": 15432, "name_prefix": "ci_"}
        )
        == []
    )


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"port": "5432"}, ("port", "Not a valid integer.")),
        ({"port": True}, ("port", "Not a valid integer.")),
        (
            {"port": 0},
            ("port", "Must be greater than or equal to 1 and less than or equal to 65535."),
        ),
        ({"host": ""}, ("host", "Shorter than minimum length 1.")),
        (
            {"name_prefix": "Mb-"},
            ("name_prefix", "must be 1-16 lowercase letters, digits or _, starting with a letter"),
        ),
        (
            {"name_prefix": "_mb"},
            ("name_prefix", "must be 1-16 lowercase letters, digits or _, starting with a letter"),
        ),
        (
            {"name_prefix": "a" * 17},
            ("name_prefix", "must be 1-16 lowercase letters, digits or _, starting with a letter"),
        ),
        ({"database": "shared"}, ("database", "unknown option (known: host, name_prefix, port)")),
    ],
)
def test_unusable_options_are_named_with_the_reason(
    options: dict, problem: tuple[str, str]
) -> None:
    assert PostgresBackend.option_problems(options) == [problem]


def test_a_database_name_is_a_readable_slug_of_the_id_and_a_digest() -> None:
    name = database_name("My-Instance.42")

    assert re.fullmatch(r"mb_my_instance_42_[0-9a-f]{12}", name)


@pytest.mark.parametrize(
    "instance_id",
    [
        "x" * 1000,
        '"; DROP DATABASE postgres; --',
        "ünïcødé-ïd-🚀",
        "   ",
        "UPPER/lower\\back\x00slash",
        "_" * 80,
    ],
)
def test_any_instance_id_gives_a_plain_identifier_within_63_bytes(instance_id: str) -> None:
    for name in (
        database_name(instance_id),
        role_name(instance_id, instance_id),
        database_name(instance_id, "p" * 16),
    ):
        assert IDENTIFIER.fullmatch(name), name
        assert len(name.encode()) <= 63


def test_ids_that_slug_alike_still_get_different_names() -> None:
    names = {database_name(instance_id) for instance_id in ("a-1", "A_1", "a.1", "a 1", "a1")}

    assert len(names) == 5


def test_long_ids_that_share_a_beginning_get_different_names() -> None:
    first, second = database_name("p" * 200 + "1"), database_name("p" * 200 + "2")

    assert first != second
    assert first[:-12] == second[:-12]


def test_the_same_ids_always_give_the_same_names() -> None:
    assert database_name("instance") == database_name("instance")
    assert role_name("instance", "binding") == role_name("instance", "binding")


def test_a_role_name_depends_on_the_instance_and_the_binding() -> None:
    assert role_name("i1", "b") != role_name("i2", "b")
    assert role_name("i", "b1") != role_name("i", "b2")


def test_the_name_prefix_starts_every_name() -> None:
    assert database_name("x", "ci_").startswith("ci_x_")
    assert role_name("x", "y", "ci_").startswith("ci_y_")
