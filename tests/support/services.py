"""Real backing services (PostgreSQL, MariaDB, Redis): skip on a laptop, fail under CI."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULTS = {
    "postgres": ("BROKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": ("BROKER_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    "redis": ("BROKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}


def service_url(name: str) -> str:
    """The URL of a real service, or skip (fail when CI=true) if it does not answer."""
    variable, default = DEFAULTS[name]
    url = os.environ.get(variable, default)
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2
        ):
            pass
    except OSError as exc:
        message = (
            f"{name} is not reachable at {parsed.hostname}:{parsed.port} ({exc}); set {variable}"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url
