"""Credentials → Secret bytes (Go's JSON), JSONPath templates and parameter checksums."""

from __future__ import annotations

import base64
import hashlib

import pytest

from broker.controller.bindings import (
    JSONPathError,
    SecretDataError,
    jsonpath_template,
    secret_data,
)
from broker.controller.go_encoding import go_json
from broker.controller.objects import State
from broker.controller.request_parameters import ParameterError, build_parameters


def decoded(data: dict[str, str]) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in data.items()}


def test_credentials_map_to_secret_bytes_as_service_catalog_writes_them() -> None:
    credentials = {
        "uri": "pg://h:5432/db",
        "port": 5432,
        "tls": True,
        "hosts": ["a", "b"],
        "opts": {"b": 1, "a": "x"},
        "ratio": 1.0,
        "none": None,
        "html": "<&>",
    }
    assert decoded(secret_data(State({}), credentials, [])) == {
        "uri": b"pg://h:5432/db",
        "port": b"5432",
        "tls": b"true",
        "hosts": b'["a","b"]',
        "opts": b'{"a":"x","b":1}',
        "ratio": b"1",
        "none": b"null",
        "html": b"<&>",
    }


def test_go_json_prints_numbers_and_escapes_like_go() -> None:
    assert go_json(
        {"z": 1e21, "y": 1e-7, "x": 0.00001, "w": 12345678901234567890, "v": "<a&b>"}
    ) == ('{"v":"\\u003ca\\u0026b\\u003e","w":12345678901234567000,"x":0.00001,"y":1e-7,"z":1e+21}')


def test_a_credential_key_that_is_not_a_secret_key_is_an_error() -> None:
    with pytest.raises(SecretDataError, match='invalid Secret key "a/b"'):
        secret_data(State({}), {"a/b": "x"}, [])


def test_add_key_prefers_json_path_then_string_value_then_bytes() -> None:
    transforms = [
        {
            "addKey": {
                "key": "k",
                "jsonPathExpression": "{.foo}",
                "stringValue": "s",
                "value": "dg==",
            }
        },
        {"addKey": {"key": "s", "stringValue": "s", "value": "dg=="}},
    ]
    assert decoded(secret_data(State({}), {"foo": "bar"}, transforms))["k"] == b"bar"
    assert decoded(secret_data(State({}), {"foo": "bar"}, transforms))["s"] == b"s"


def test_add_keys_from_a_missing_secret_is_an_error() -> None:
    with pytest.raises(SecretDataError, match='secrets "gone" not found'):
        secret_data(
            State({}), {}, [{"addKeysFrom": {"secretRef": {"namespace": "x", "name": "gone"}}}]
        )


def test_json_path_templates_resolve_fields_indexes_and_quoted_names() -> None:
    data = {"a": {"b": [10, {"c": "deep"}]}, "key.json": {"email": "e@x"}, "n": 5}
    assert jsonpath_template("{.a.b[1].c}", data) == "deep"
    assert jsonpath_template("{$['key.json'].email}", data) == "e@x"
    assert jsonpath_template("host={.n}/{.a.b[0]}", data) == "host=5/10"
    assert jsonpath_template("{.a.b[-1].c}", data) == "deep"
    with pytest.raises(JSONPathError, match="unsupported JSONPath"):
        jsonpath_template("{.a[?(@.x)]}", data)
    with pytest.raises(JSONPathError, match="^nope is not found$"):
        jsonpath_template("{.nope}", data)
    with pytest.raises(JSONPathError, match="array index out of bounds: index 2, length 2"):
        jsonpath_template("{.a.b[2]}", data)


@pytest.mark.parametrize(
    ("template", "printed"),
    [
        ("{.big}", "1e+06"),
        ("{.port}", "5432"),
        ("{.ratio}", "0.25"),
        ("{.tiny}", "1e-05"),
        ("{.hosts}", "[a b]"),
        ("{.opts}", "map[a:x b:1]"),
        ("{.users[*].name}", "u1 u2"),
        ("{.hosts[*]}", "a b"),
        ("{.hosts[0:1]}", "a"),
        ("{.tls}", "true"),
        ("{.none}", "<nil>"),
        ("{.users[0]}", "map[name:u1]"),
    ],
)
def test_json_path_results_print_as_gos_fmt_does(template: str, printed: str) -> None:
    credentials = {
        "big": 1000000,
        "port": 5432,
        "ratio": 0.25,
        "tiny": 0.00001,
        "hosts": ["a", "b"],
        "opts": {"b": 1, "a": "x"},
        "users": [{"name": "u1"}, {"name": "u2"}],
        "tls": True,
        "none": None,
    }
    assert jsonpath_template(template, credentials) == printed


def secret_state(**values: str) -> State:
    state = State({})
    state.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "p", "namespace": "ns"},
            "data": {
                key: base64.b64encode(value.encode()).decode() for key, value in values.items()
            },
        }
    )
    return state


def test_parameters_merge_secret_sources_and_redact_them() -> None:
    state = secret_state(one='{"size": 3}', empty="{}")
    spec = {
        "parameters": {"name": "x"},
        "parametersFrom": [
            {"secretKeyRef": {"name": "p", "key": "one"}},
            {"secretKeyRef": {"name": "p", "key": "empty"}},
        ],
    }
    built = build_parameters(state, "ns", spec)
    assert built.values == {"size": 3, "name": "x"}
    assert built.redacted == {"size": "<redacted>", "name": "x"}
    assert built.checksum == hashlib.sha256(b'{"name":"x","size":3}').hexdigest()
    assert build_parameters(state, "ns", {}).checksum is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"parametersFrom": [{"secretKeyRef": {"name": "missing", "key": "k"}}]},
            'secrets "missing" not found',
        ),
        (
            {"parametersFrom": [{"secretKeyRef": {"name": "p", "key": "nokey"}}]},
            "failed to unmarshal",
        ),
        ({"parametersFrom": [{"secretKeyRef": {"name": "p", "key": "list"}}]}, "got a JSON list"),
        (
            {
                "parameters": {"size": 1},
                "parametersFrom": [{"secretKeyRef": {"name": "p", "key": "one"}}],
            },
            'conflict: duplicate entry for parameter "size"',
        ),
    ],
)
def test_parameter_problems_are_named(spec: dict[str, object], message: str) -> None:
    state = secret_state(one='{"size": 3}', list="[1]")
    with pytest.raises(ParameterError, match=message):
        build_parameters(state, "ns", spec)
