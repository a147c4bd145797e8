"""``fake``: realistic credentials without touching anything (the default backend).

Every binding gets its own username and password; with ``credential_seed`` set the
same instance and binding ids always produce the same values. Options (all
optional) shape the values: ``scheme``, ``host``, ``port``, ``database``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from broker.credentials.base import BindingRequest, BindResult, InstanceRequest, LocalBackend
from broker.credentials.endpoints import Endpoint, account_credentials
from broker.credentials.randomness import random_text, rng_for

__all__ = ["FakeBackend"]

OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "scheme": str,
    "host": str,
    "port": int,
    "database": str,
}
DEFAULT_PORTS = {
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "redis": 6379,
    "rediss": 6380,
    "amqp": 5672,
    "mongodb": 27017,
    "nats": 4222,
    "https": 443,
}


def _identifier(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class FakeBackend(LocalBackend):
    name: ClassVar[str] = "fake"

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = []
        for key, value in options.items():
            expected = OPTION_TYPES.get(key)
            if expected is None:
                problems.append((key, f"unknown option (known: {', '.join(OPTION_TYPES)})"))
            elif isinstance(value, bool) or not isinstance(value, expected):
                problems.append((key, f"must be a {getattr(expected, '__name__', expected)}"))
        port = options.get("port")
        if isinstance(port, int) and not 0 < port < 65536:
            problems.append(("port", "must be between 1 and 65535"))
        return problems

    def provision(self, request: InstanceRequest) -> dict[str, Any]:
        default = f"db_{_identifier(request.instance_id)[:16] or 'instance'}"
        return {"database": str(request.options.get("database", default))}

    def bind(self, request: BindingRequest) -> BindResult:
        options = request.instance.options
        rng = rng_for(self._seed, request.instance.instance_id, request.binding_id, "fake")
        scheme = str(options.get("scheme", "postgresql"))
        host = options.get("host", f"{_identifier(request.instance.service_name)}.mockbroker.test")
        endpoint = Endpoint(str(host), int(options.get("port", DEFAULT_PORTS.get(scheme, 5432))))
        database = str(request.instance.state.get("database", "db"))
        username = "u_" + random_text(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 12)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        password = random_text(rng, alphabet, 24)
        credentials = account_credentials(scheme, scheme, endpoint, username, password, database)
        return BindResult(credentials=credentials, state={"username": username})
