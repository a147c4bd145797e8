"""Former client paths and names keep working for a release, each with a DeprecationWarning
naming what to use instead."""

from __future__ import annotations

import importlib
import sys

import pytest

import broker.client
from broker.client import errors, responses

RENAMED_ERRORS = sorted(errors.RENAMED.items())


def fresh_import(module: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """Import ``module`` anew, so that what it does on import happens again."""
    monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module(module)


@pytest.mark.parametrize(("old", "new"), RENAMED_ERRORS)
def test_a_former_error_name_answers_the_renamed_class_with_a_warning(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"broker.client.{old} is deprecated.*{new}"):
        found = getattr(broker.client, old)
    assert found is getattr(broker.client, new)
    assert issubclass(found, broker.client.ClientError)
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(errors, old) is found


def test_the_former_catalog_answer_name_answers_catalog_response() -> None:
    with pytest.warns(DeprecationWarning, match="Catalog is deprecated.*CatalogResponse"):
        assert broker.client.Catalog is broker.client.CatalogResponse
    with pytest.warns(DeprecationWarning, match="CatalogResponse"):
        assert responses.Catalog is responses.CatalogResponse


def test_a_from_import_of_a_former_name_warns_and_works() -> None:
    with pytest.warns(DeprecationWarning, match="NotFoundError"):
        from broker.client import NotFound
    assert NotFound is broker.client.NotFoundError


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nonsense'"):
        broker.client.Nonsense  # noqa: B018
    with pytest.raises(AttributeError):
        errors.Nonsense  # noqa: B018


def test_the_former_errors_module_warns_on_import_and_keeps_every_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.warns(DeprecationWarning, match="broker.client_errors is deprecated"):
        module = fresh_import("broker.client_errors", monkeypatch)
    for old, new in RENAMED_ERRORS:
        assert getattr(module, old) is getattr(errors, new)
    for name in errors.__all__:
        assert getattr(module, name) is getattr(errors, name)


def test_the_former_responses_module_warns_on_import_and_keeps_every_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.warns(DeprecationWarning, match="broker.client_responses is deprecated"):
        module = fresh_import("broker.client_responses", monkeypatch)
    assert module.Catalog is responses.CatalogResponse  # type: ignore[attr-defined]
    assert module.parse_retry_after is responses.parse_retry_after  # type: ignore[attr-defined]
    assert module.CatalogBody is responses.CatalogBody  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("broker.testing.handle", "broker.testing.osb_broker", ["BrokerEndpoint", "OSBBroker"]),
        ("broker.testing.server", "broker.testing.threaded_server", ["ThreadedBrokerServer"]),
    ],
)
def test_the_former_testing_modules_warn_on_import_and_keep_their_classes(
    old: str, new: str, names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*{new}"):
        module = fresh_import(old, monkeypatch)
    for name in names:
        assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_the_osb_client_keeps_the_admin_calls_as_its_own() -> None:
    client = broker.client.OSBClient("http://127.0.0.1:9", username="u", password="p")
    try:
        assert isinstance(client.admin, broker.client.AdminClient)
        assert client.admin.connection is client.connection
        for call in ("reset", "state", "journal", "add_fault", "faults", "put_catalog"):
            assert callable(getattr(client, call))
    finally:
        client.close()
    assert client.connection.closed
