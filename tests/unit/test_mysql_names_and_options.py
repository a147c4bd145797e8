"""``mysql`` backend units: catalog options, names derived from OSB ids, quoting."""

from __future__ import annotations

import re

import pytest

from broker.credentials.mysql import (
    MySQLBackend,
    database_name,
    grant_pattern,
    quoted,
    server_version,
    user_name,
)
from broker.credentials.naming import derived_name

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def test_host_port_name_prefix_and_user_host_are_accepted() -> None:
    options = {"host": "mariadb", "port": 3307, "name_prefix": "ci_", "user_host": "10.0.0.%"}

    assert MySQLBackend.option_problems(options) == []


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (
            {"port": 70000},
            ("port", "Must be greater than or equal to 1 and less than or equal to 65535."),
        ),
        ({"user_host": ""}, ("user_host", "Length must be between 1 and 255.")),
        (
            {"name_prefix": "db-"},
            ("name_prefix", "must be 1-16 lowercase letters, digits or _, starting with a letter"),
        ),
        (
            {"charset": "latin1"},
            ("charset", "unknown option (known: host, name_prefix, port, user_host)"),
        ),
    ],
)
def test_unusable_options_are_named_with_the_reason(
    options: dict, problem: tuple[str, str]
) -> None:
    assert MySQLBackend.option_problems(options) == [problem]


@pytest.mark.parametrize(
    "instance_id",
    ["y" * 500, "x`; DROP DATABASE mysql; --", "'quoted' \"double\"", "ünïcødé", "%_%_%", ""],
)
def test_any_id_gives_a_database_within_64_and_a_user_within_32_characters(
    instance_id: str,
) -> None:
    database = database_name(instance_id)
    user = user_name(instance_id, instance_id, "p" * 16)

    assert NAME.fullmatch(database) and len(database) <= 64
    assert NAME.fullmatch(user) and len(user) <= 32


@pytest.mark.parametrize(
    "instance_id", ["served-a1b2c3-91f5a35365bd4ee89412d4dddcb233a8", "a_b_c_d_e_f_g_h" * 8]
)
def test_a_long_database_name_still_fits_its_escaped_grant_pattern(instance_id: str) -> None:
    pattern = grant_pattern(database_name(instance_id))

    assert len(pattern.strip("`")) <= 64  # MariaDB: "Incorrect database name" beyond


def test_a_database_name_whose_pattern_fits_is_derived_as_before() -> None:
    instance_id = "8d3b1f7e-52ac-4c4b-9a57-0b6f1f1c2d3e"

    assert database_name(instance_id) == derived_name("mb_", instance_id, limit=64)


def test_user_names_of_two_bindings_differ_even_when_cut_short() -> None:
    assert user_name("i", "b" * 100 + "1") != user_name("i", "b" * 100 + "2")


def test_identifiers_are_backquoted_with_backquotes_doubled() -> None:
    assert quoted("mb_x") == "`mb_x`"
    assert quoted("a`b") == "`a``b`"


def test_a_grant_target_escapes_the_underscore_wildcard() -> None:
    assert grant_pattern("mb_a_1") == "`mb\\_a\\_1`"


@pytest.mark.parametrize(
    ("answer", "version"),
    [
        ("10.11.19-MariaDB-0+deb12u1", (10, 11)),
        ("8.0.36", (8, 0)),
        ("5.7.44-log", (5, 7)),
        ("", (0, 0)),
    ],
)
def test_the_server_version_is_read_from_select_version(
    answer: str, version: tuple[int, int]
) -> None:
    assert server_version(answer) == version
