"""Where clients reach a server, the URI that says so, and the credentials holding both.

The broker's admin connection and the address written into credentials differ as
soon as a network sits between them (docker compose: the broker reaches
``postgres:5432``, a test on the host ``127.0.0.1:15432``). The address in
credentials comes from, first to last: the plan's ``host``/``port`` options, the
``*_public_host``/``*_public_port`` settings, the admin URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = ["Endpoint", "account_credentials", "credential_uri"]


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def public(self, host: str | None, port: int | None, options: Mapping[str, Any]) -> Endpoint:
        """This admin endpoint as clients see it (options > settings > admin URL)."""
        return Endpoint(
            host=str(options.get("host") or host or self.host),
            port=int(options.get("port") or port or self.port),
        )

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def credential_uri(scheme: str, username: str, password: str, endpoint: Endpoint, path: str) -> str:
    """``scheme://username:password@host:port/path`` with user and password escaped."""
    user = quote(username, safe="")
    secret = quote(password, safe="")
    return f"{scheme}://{user}:{secret}@{endpoint.netloc}/{quote(path, safe='')}"


def account_credentials(
    kind: str,
    scheme: str,
    endpoint: Endpoint,
    username: str,
    password: str,
    database: str | int,
) -> dict[str, Any]:
    """The credentials of an account: servicebinding.io keys and a ``scheme://`` URI."""
    return {
        "type": kind,
        "provider": "mockbroker",
        "uri": credential_uri(scheme, username, password, endpoint, str(database)),
        "host": endpoint.host,
        "port": endpoint.port,
        "username": username,
        "password": password,
        "database": database,
    }
