"""Shared fixtures: ``settings`` -> ``app`` -> ``client`` -> ``osb``/``admin`` callers."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

# httpx imports httpcore on its first request and maps httpcore's errors by class. The
# pytester fixture forgets the modules a test imported first, so a first request made
# in such a test would leave the tests after it with a second httpcore, whose errors
# httpx no longer maps (httpcore.RemoteProtocolError instead of httpx's).
import httpcore  # noqa: F401
import pytest
from flask import Flask
from flask.testing import FlaskClient

from broker.app import create_app
from broker.config import Settings
from broker.storage import Store
from broker.web.runtime import runtime_of
from tests.support.clock import FakeClock
from tests.support.osb import OSB, basic
from tests.support.services import finish_run

pytest_plugins: list[str] = []

CATALOGS = Path(__file__).resolve().parent.parent / "catalogs"


@pytest.fixture(scope="session", autouse=True)
def real_servers_left_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Nothing the run made on PostgreSQL, MariaDB or Redis is left when it ends.

    Every test process has accounts of its own there (tests.support.services); they
    and whatever a test left are removed here, and a leftover is an error of the
    session's last test (a session that already failed only says what it removed).
    """
    yield
    leftovers = finish_run()
    message = f"the tests left these behind on the test servers (now removed): {leftovers}"
    if leftovers and request.session.testsfailed:
        warnings.warn(message, pytest.PytestWarning, stacklevel=1)
    else:
        assert leftovers == [], message


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Memory store, bundled catalogs, fixed credential seed."""
    return Settings(
        store="memory://",
        data_dir=tmp_path / "data",
        catalogs=(CATALOGS,),
        credential_seed="tests",
        admin_username="admin",
        admin_password="admin-secret",
        password_is_default=True,
    )


@pytest.fixture
def clock() -> FakeClock:
    """A hand-moved clock; a module that needs it overrides ``app`` to pass it in."""
    return FakeClock()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def osb(client: FlaskClient) -> OSB:
    """OSB caller with broker/broker credentials and X-Broker-API-Version: 2.17."""
    return OSB(client)


@pytest.fixture
def admin(client: FlaskClient) -> OSB:
    """Caller with the admin credentials (admin/admin-secret)."""
    return OSB(client, auth=basic("admin", "admin-secret"), version=None)


@pytest.fixture
def store(app: Flask) -> Store:
    """The application's state store, to check what a request left behind."""
    return runtime_of(app).store
