"""pytest plugin: a mock Open Service Broker for every test session.

Installed with mockbroker (entry point ``pytest11``); it imports nothing heavy until
a fixture is used.

Fixtures:

``osb_broker`` (function)
    An :class:`~broker.testing.osb_broker.OSBBroker` for the test: ``url``, ``auth``,
    ``admin_auth``, ``client`` (:class:`broker.client.OSBClient`), ``add_fault(...)``,
    ``faults()``, ``journal(...)``, ``wait_for_request(...)``,
    ``finish_operation(...)``, ``state()``, ``ids(service, plan)``,
    ``new_instance_id()``, ``put_catalog(...)``, ``findings(...)`` (the OSB rules the
    platform broke). With ``--osb-strict-platform`` (ini ``osb_strict_platform``, or
    the marker ``osb_strict_platform``) a test fails when its requests broke a rule at
    MUST level. The session's own broker is reset
    before each test. An external broker is never reset unless the session opts in
    (``--osb-reset-external`` or the ini option ``osb_reset_external = true``):
    each test sees its own requests in the journal and what it created is removed
    when it ends (:mod:`broker.testing.isolation`).
``osb_broker_server`` (session)
    The :class:`~broker.testing.osb_broker.BrokerEndpoint` all tests share: a broker in a
    background thread on a free port with the in-memory store (one per pytest-xdist
    worker), or the external broker named by ``--osb-broker-url`` / ``OSB_BROKER_URL``.
``osb_broker_strict_server`` (session)
    Like ``osb_broker_server``, with ``BROKER_STRICT=true``: made the first time a
    test marked ``@pytest.mark.osb_strict`` asks for ``osb_broker``. Such a test's
    broker refuses what the lenient default accepts and reports as a finding (a
    ``last_operation`` poll with an ``operation`` it never issued answers 400).
``osb_broker_catalogs`` (session)
    The catalog files or folders to serve; override this fixture, or set the ini
    option ``osb_broker_catalogs`` / the flag ``--osb-broker-catalogs``. Default:
    the catalogs bundled with mockbroker.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from broker.client import OSBClient
    from broker.testing.osb_broker import BrokerEndpoint, OSBBroker

__all__ = ["osb_broker", "osb_broker_catalogs", "osb_broker_server", "osb_broker_strict_server"]

STRICT_MARKER = "osb_strict"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockbroker", "mock Open Service Broker (mockbroker)")
    group.addoption(
        "--osb-broker-url",
        default=None,
        help="Use this running broker instead of starting one (env OSB_BROKER_URL). "
        "Credentials: OSB_BROKER_USERNAME/PASSWORD, OSB_BROKER_ADMIN_USERNAME/PASSWORD.",
    )
    group.addoption(
        "--osb-reset-external",
        action="store_true",
        default=None,
        help="Reset the external broker (--osb-broker-url) before each test: deletes "
        "everything on it, including what others created. Without it, tests are isolated "
        "instead (ini: osb_reset_external).",
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
        "osb_reset_external",
        type="bool",
        default=False,
        help="Reset the external broker before each test (deletes everything on it).",
    )
    group.addoption(
        "--osb-strict-platform",
        action="store_true",
        default=None,
        help="Fail a test whose requests broke an OSB rule at MUST or MUST NOT level "
        "(see GET /admin/findings) (ini: osb_strict_platform).",
    )
    parser.addini(
        "osb_strict_platform",
        type="bool",
        default=False,
        help="Fail a test whose requests broke an OSB rule at MUST or MUST NOT level.",
    )
    parser.addini(
        "osb_broker_credential_seed",
        default="",
        help="Seed for generated credentials (same seed and ids = same credentials).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{STRICT_MARKER}: the test's osb_broker runs strict (BROKER_STRICT=true): it "
        "refuses what the lenient default accepts and reports as a finding",
    )
    config.addinivalue_line(
        "markers",
        "osb_strict_platform: fail this test if its requests broke an OSB rule at MUST level",
    )


def _external_url(config: pytest.Config) -> str | None:
    url = config.getoption("osb_broker_url") or os.environ.get("OSB_BROKER_URL")
    return str(url) if url else None


def _reset_external(config: pytest.Config) -> bool:
    flag = config.getoption("osb_reset_external")
    return bool(flag) or bool(config.getini("osb_reset_external"))


def _strict_platform(config: pytest.Config, node: pytest.Item | None) -> bool:
    if node is not None and node.get_closest_marker("osb_strict_platform") is not None:
        return True
    return bool(config.getoption("osb_strict_platform")) or bool(
        config.getini("osb_strict_platform")
    )


def _fail_on_findings(broker: OSBBroker) -> None:
    from broker.testing.strict_platform import strict_failure

    failure = strict_failure(broker)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def pytest_report_header(config: pytest.Config) -> str | None:
    url = _external_url(config)
    if url is None:
        return None
    if _reset_external(config):
        return f"mockbroker: external broker {url}, RESET before each test (osb_reset_external)"
    return (
        f"mockbroker: external broker {url}, never reset: each test sees its own requests "
        "and its instances, bindings and fault rules are removed when it ends"
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
    from broker.testing.osb_broker import BrokerEndpoint

    url = _external_url(pytestconfig)
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

    with _own_broker(pytestconfig, osb_broker_catalogs, strict=False) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def osb_broker_strict_server(
    pytestconfig: pytest.Config, osb_broker_catalogs: list[Path]
) -> Iterator[BrokerEndpoint]:
    if _external_url(pytestconfig):
        pytest.fail(
            f"@pytest.mark.{STRICT_MARKER} needs the session's own broker: an external broker "
            "(--osb-broker-url) is strict when it runs with BROKER_STRICT=true",
            pytrace=False,
        )
    with _own_broker(pytestconfig, osb_broker_catalogs, strict=True) as endpoint:
        yield endpoint


@contextmanager
def _own_broker(
    pytestconfig: pytest.Config, catalogs: list[Path], *, strict: bool
) -> Iterator[BrokerEndpoint]:
    from broker.config import Settings
    from broker.testing.osb_broker import BrokerEndpoint
    from broker.testing.threaded_server import ThreadedBrokerServer

    seed = pytestconfig.getini("osb_broker_credential_seed") or None
    settings = Settings(
        store="memory://",
        port=0,
        catalogs=tuple(catalogs),
        credential_seed=seed,
        strict=strict,
    )
    with ThreadedBrokerServer.for_settings(settings) as server:
        yield BrokerEndpoint(url=server.url, dedicated=True, server=server)


class _SessionClient:
    """One client per session and endpoint: a test gets it as a new one would be.

    A new ``httpx.Client`` per test would cost an SSL context and a new connection;
    this one keeps its connection alive from test to test. Before each test what a
    test may have changed on it (identity, API version, timeout, default headers)
    is put back, and a client a test closed is replaced.

    The client of the session's own broker sends its requests in-process
    (:mod:`broker.testing.in_process`): the same answers without a socket.
    """

    def __init__(self, endpoint: BrokerEndpoint) -> None:
        self.endpoint = endpoint
        self._client: OSBClient | None = None
        self._timeout = 30.0

    def for_test(self) -> OSBClient:
        client = self._client
        if client is None or client.connection.closed:
            client = self._client = self._new_client()
            self._timeout = client.connection.timeout
            return client
        client.identity = None
        client.api_version = "2.17"
        connection = client.connection
        connection.timeout = self._timeout
        connection.headers = {}
        connection.observer = None
        return client

    def _new_client(self) -> OSBClient:
        server = self.endpoint.server
        if server is None:
            return self.endpoint.client()
        from broker.testing.in_process import InProcessTransport

        return self.endpoint.client(
            transport=InProcessTransport(server.app, server.host, server.port)
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@pytest.fixture(scope="session")
def _osb_broker_session_client(osb_broker_server: BrokerEndpoint) -> Iterator[_SessionClient]:
    holder = _SessionClient(osb_broker_server)
    yield holder
    holder.close()


@pytest.fixture(scope="session")
def _osb_broker_strict_session_client(
    osb_broker_strict_server: BrokerEndpoint,
) -> Iterator[_SessionClient]:
    holder = _SessionClient(osb_broker_strict_server)
    yield holder
    holder.close()


@pytest.fixture
def osb_broker(
    osb_broker_server: BrokerEndpoint,
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
    _osb_broker_session_client: _SessionClient,
) -> Iterator[OSBBroker]:
    """The session's broker for this test: reset if it is the session's own (or the
    session opted in), else shared: isolated, and cleaned up after the test. A test
    marked ``osb_strict`` gets the session's strict broker instead.

    With strict platform checks (``--osb-strict-platform``), the test fails when its
    requests broke an OSB rule at MUST level; the failure lists them."""
    from broker.testing.osb_broker import OSBBroker

    make_client = _osb_broker_session_client.for_test

    if request.node.get_closest_marker(STRICT_MARKER) is not None:
        osb_broker_server = request.getfixturevalue("osb_broker_strict_server")
        make_client = request.getfixturevalue("_osb_broker_strict_session_client").for_test

    strict = _strict_platform(pytestconfig, request.node)
    if osb_broker_server.dedicated or _reset_external(pytestconfig):
        broker = OSBBroker(osb_broker_server, make_client)
        broker.reset()
        yield broker
        if strict:
            _fail_on_findings(broker)
        return

    from broker.testing.isolation import BrokerCleanupWarning, Isolation

    isolation = Isolation()
    with isolation.client(osb_broker_server) as client:
        isolation.begin(client)
        broker = OSBBroker(osb_broker_server, client, isolation)
        yield broker
        try:
            if strict:
                _fail_on_findings(broker)
        finally:
            problems = isolation.cleanup(client)
    if problems:
        warnings.warn(
            BrokerCleanupWarning(
                f"could not remove from {osb_broker_server.url} what the test created: "
                + "; ".join(problems)
            ),
            stacklevel=1,
        )
