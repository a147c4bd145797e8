"""What the postgres, mysql and redis backends share (broker.credentials.server_backend)."""

from __future__ import annotations

import sys

import pytest

from broker.credentials.base import BackendUnavailable
from broker.credentials.mysql import MySQLBackend
from broker.credentials.postgres import PostgresBackend
from broker.credentials.redis import RedisBackend


@pytest.mark.parametrize(
    "backend, module, message",
    [
        (PostgresBackend, "psycopg", "the postgres backend needs psycopg"),
        (MySQLBackend, "pymysql", "the mysql backend needs PyMySQL"),
        (RedisBackend, "redis", "the redis backend needs redis-py"),
    ],
)
def test_a_missing_client_library_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
    backend: type[PostgresBackend | MySQLBackend | RedisBackend],
    module: str,
    message: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(BackendUnavailable) as raised:
        backend("scheme://unused").check()
    assert str(raised.value) == f"{message}: pip install 'mockbroker[{backend.name}]'"
