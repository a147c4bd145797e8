"""Redaction replaces every sensitive value at any depth and copies the rest as it was."""

from __future__ import annotations

from broker.redaction import REDACTED, is_sensitive, redact


def test_sensitive_keys_are_redacted_at_any_depth_and_case() -> None:
    value = {
        "user": "u",
        "Password": "p",
        "nested": [{"api_token": "t", "ok": 1}, ({"client_secret": "s"}, 2.5)],
        "credentials": {"uri": "x"},
        3: {"private_key": "k"},
        "none": None,
    }
    assert redact(value) == {
        "user": "u",
        "Password": REDACTED,
        "nested": [{"api_token": REDACTED, "ok": 1}, [{"client_secret": REDACTED}, 2.5]],
        "credentials": REDACTED,
        3: {"private_key": REDACTED},
        "none": None,
    }


def test_redaction_returns_a_copy_and_leaves_the_input_alone() -> None:
    value = {"a": {"b": [1, {"c": "d"}]}, "password": "p"}
    copied = redact(value)
    copied["a"]["b"][1]["c"] = "changed"
    assert value == {"a": {"b": [1, {"c": "d"}]}, "password": "p"}


def test_the_remembered_verdicts_match_the_rule() -> None:
    for key in ("PASSWORD", "db_password", "x-secret", "Token", "uri", "key.json", "name", "host"):
        expected = key.lower() in {"uri", "key.json"} or any(
            marker in key.lower() for marker in ("password", "secret", "token")
        )
        assert is_sensitive(key) is expected
        assert is_sensitive(key) is expected  # and again, from memory
