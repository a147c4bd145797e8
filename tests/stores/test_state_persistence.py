"""The default SQLite store keeps the OSB state across restarts; memory:// does not."""

from __future__ import annotations

from pathlib import Path

from broker.app import create_app
from broker.config import Settings
from broker.web.runtime import runtime_of
from tests.support.osb import OSB


def restartable(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings with the default store: SQLite under the data dir."""
    return settings.replace(store=None, data_dir=tmp_path / "state")


def test_the_default_store_is_sqlite_under_the_data_dir(settings: Settings, tmp_path: Path) -> None:
    app = create_app(restartable(settings, tmp_path))
    assert runtime_of(app).store.url == f"sqlite:///{tmp_path / 'state' / 'broker.db'}"
    assert (tmp_path / "state" / "broker.db").exists()


def test_instances_bindings_and_operations_survive_a_restart(
    settings: Settings, tmp_path: Path
) -> None:
    first = OSB(create_app(restartable(settings, tmp_path)).test_client())
    first.provision("keep-1", "mock-database", "small", parameters={"storage_gb": 4})
    bound = first.bind("keep-1", "keep-1-a", "mock-database", "small").json
    running = first.provision("keep-2", "mock-async", "polls", accepts_incomplete=True).json[
        "operation"
    ]
    assert first.last_operation("keep-2").json["state"] == "in progress"

    second = OSB(create_app(restartable(settings, tmp_path)).test_client())
    assert second.get("/v2/service_instances/keep-1").json["parameters"] == {"storage_gb": 4}
    fetched = second.get("/v2/service_instances/keep-1/service_bindings/keep-1-a")
    assert fetched.json["credentials"] == bound["credentials"]
    # The running operation resumes where it was: one poll done, one to go.
    assert second.last_operation("keep-2", running).json["state"] == "in progress"
    assert second.last_operation("keep-2", running).json["state"] == "succeeded"
    # Repeats keep their idempotent answers.
    assert (
        second.provision("keep-1", "mock-database", "small", parameters={"storage_gb": 4}).status
        == 200
    )
    assert second.bind("keep-1", "keep-1-a", "mock-database", "small").json == bound


def test_a_deprovision_survives_a_restart(settings: Settings, tmp_path: Path) -> None:
    first = OSB(create_app(restartable(settings, tmp_path)).test_client())
    assert first.provision("gone-1", "mock-database", "small").status == 201
    assert first.deprovision("gone-1", "mock-database", "small").status == 200
    second = OSB(create_app(restartable(settings, tmp_path)).test_client())
    assert second.deprovision("gone-1", "mock-database", "small").status == 410


def test_the_memory_store_starts_empty(settings: Settings) -> None:
    first = OSB(create_app(settings).test_client())
    assert first.provision("mem-1", "mock-database", "small").status == 201
    second = OSB(create_app(settings).test_client())
    assert second.get("/v2/service_instances/mem-1").status == 404
