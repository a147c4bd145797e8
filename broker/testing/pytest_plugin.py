"""pytest plugin: a mock Open Service Broker for every test session.

Installed with mockbroker (entry point ``pytest11``); it imports nothing heavy until
a fixture is used.

Fixtures:

``osb_broker`` (function)
    An :class:`~broker.testing.handle.OSBBroker` reset before the test: ``url``,
    ``auth``, ``client`` (:class:`broker.client.OSBClient`), ``add_fault(...)``,
    ``requests(...)``, ``wait_for_request(...)``, ``finish_operation(...)``,
    ``state()``, ``ids(service, plan)``, ``put_catalog(...)``.
``osb_broker_server`` (session)
    The :class:`~broker.testing.handle.BrokerEndpoint` all tests share: a broker in a
    background thread on a free port with the in-memory store (one per pytest-xdist
    worker), or the external broker named by ``--osb-broker-url`` / ``OSB_BROKER_URL``.
``osb_broker_catalogs`` (session)
    The catalog files or folders to serve; override this fixture, or set the ini
    option ``osb_broker_catalogs`` / the flag ``--osb-broker-catalogs``. Default:
    the catalogs bundled with mockbroker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from broker.testing.handle import BrokerEndpoint, OSBBroker

__all__ = ["osb_broker", "osb_broker_catalogs", "osb_broker_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockbroker", "mock Open Service Broker (mockbroker)")
    group.addoption(
        "--osb-broker-url",
        default=None,
        help="Use this running broker instead of starting one (env OSB_BROKER_URL). "
        "Credentials: OSB_BROKER_USERNAME/PASSWORD, OSB_BROKER_ADMIN_USERNAME/PASSWORD.",
    )
    group.addoption(
        "--osb-broker-catalogs",
        default=None,
        help=f"Catalog files or folders to serve, separated by {os.pathsep!r}.",
    )
    parser.addini(
        "osb_broker_catalogs",
        type="paths",
        default=[],
        help="Catalog files or folders to serve (relative to the ini file).",
    )
    parser.addini(
        "osb_broker_credential_seed",
        default="",
        help="Seed for generated credentials (same seed and ids = same credentials).",
    )


@pytest.fixture(scope="session")
def osb_broker_catalogs(pytestconfig: pytest.Config) -> list[Path]:
    """Catalogs the session's broker serves; an empty list means the bundled ones."""
    flag = pytestconfig.getoption("osb_broker_catalogs")
    if flag:
        return [Path(part) for part in str(flag).split(os.pathsep) if part]
    return [Path(path) for path in pytestconfig.getini("osb_broker_catalogs")]


@pytest.fixture(scope="session")
def osb_broker_server(
    pytestconfig: pytest.Config, osb_broker_catalogs: list[Path]
) -> Iterator[BrokerEndpoint]:
    from broker.testing.handle import BrokerEndpoint

    url = pytestconfig.getoption("osb_broker_url") or os.environ.get("OSB_BROKER_URL")
    if url:
        username = os.environ.get("OSB_BROKER_USERNAME", "broker")
        password = os.environ.get("OSB_BROKER_PASSWORD", "broker")
        yield BrokerEndpoint(
            url=url.rstrip("/"),
            username=username,
            password=password,
            admin_username=os.environ.get("OSB_BROKER_ADMIN_USERNAME", username),
            admin_password=os.environ.get("OSB_BROKER_ADMIN_PASSWORD", password),
        )
        return

    from broker.config import Settings
    from broker.testing.server import ThreadedBrokerServer

    seed = pytestconfig.getini("osb_broker_credential_seed") or None
    settings = Settings(
        store="memory://",
        port=0,
        catalogs=tuple(osb_broker_catalogs),
        credential_seed=seed,
    )
    with ThreadedBrokerServer.for_settings(settings) as server:
        yield BrokerEndpoint(url=server.url)


@pytest.fixture
def osb_broker(osb_broker_server: BrokerEndpoint) -> Iterator[OSBBroker]:
    """The session's broker, reset for this test."""
    from broker.testing.handle import OSBBroker

    with osb_broker_server.client() as client:
        broker = OSBBroker(osb_broker_server, client)
        broker.reset()
        yield broker
