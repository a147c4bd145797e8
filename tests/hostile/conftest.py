"""The hostile suite: attacks on a real ``mockbroker serve`` (gunicorn on a free port).

Each module starts the servers it needs once (module scope) and tries several
variants of one class of attack against them. Helpers here: a server per module,
OSB / admin / anonymous callers over httpx, and raw bodies built as text (the
attacks are often documents Python's own encoder would refuse to write).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import ADMIN_ENV, RunningServer, serve

ADMIN = basic("admin", "admin-secret")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One SQLite-backed server (2 workers) for the module's tests."""
    with serve(tmp_path_factory.mktemp("server"), env=dict(ADMIN_ENV)) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def osb(http: httpx.Client) -> OSB:
    return OSB(http)


@pytest.fixture(scope="module")
def admin(http: httpx.Client) -> OSB:
    return OSB(http, auth=ADMIN, version=None)


@pytest.fixture(scope="module")
def anonymous(http: httpx.Client) -> OSB:
    return OSB(http, auth=None)


@contextmanager
def callers(server: RunningServer, timeout: float = 60) -> Iterator[tuple[OSB, OSB]]:
    """``(osb, admin)`` callers of another server than the module's, closed afterwards."""
    with httpx.Client(base_url=server.url, timeout=timeout) as client:
        yield OSB(client), OSB(client, auth=ADMIN, version=None)


def nested_object(depth: int, leaf: str = "1") -> str:
    """JSON text of ``depth`` objects nested in each other (``{"a":{"a":…1…}}``)."""
    return '{"a":' * depth + leaf + "}" * depth


def nested_array(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def with_field(body: dict[str, object], field: str, raw: str) -> str:
    """JSON text of ``body`` with ``field`` set to the raw JSON text ``raw``."""
    import json

    text = json.dumps(body)
    return text[:-1] + f', "{field}": {raw}' + "}"


def server_data(server: RunningServer) -> Path:
    """The folder of the server's default SQLite store (tests.support.servers sets it)."""
    return Path(server.log_path).parent / "data"
