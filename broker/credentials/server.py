"""What the backends of a real server (``postgres``, ``mysql``, ``redis``) share: the
admin URL and public address they are built with, the name prefix of what they create,
and the refusal to take over what they did not create."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from broker.credentials.options import ServerOptions, schema_problems

__all__ = ["DEFAULT_PREFIX", "ServerBackend", "already_exists"]

DEFAULT_PREFIX = "mb_"


class ServerBackend:
    """Base of the backends that create databases and accounts on a real server.

    ``url`` is the admin connection; ``public_host``/``public_port`` the address written
    into credentials when the plan's options name none (:mod:`broker.credentials.endpoints`).
    """

    # Databases and accounts on a server: the broker records each attempt first.
    leaves_objects: ClassVar[bool] = True
    # The catalog options the backend accepts.
    options_schema: ClassVar[type[ServerOptions]] = ServerOptions

    def __init__(
        self, url: str | None, public_host: str | None = None, public_port: int | None = None
    ) -> None:
        self._url = url
        self._public_host = public_host
        self._public_port = public_port

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return schema_problems(cls.options_schema(), options)

    @staticmethod
    def _prefix(options: Mapping[str, Any]) -> str:
        return str(options.get("name_prefix", DEFAULT_PREFIX))


def already_exists(thing: str) -> str:
    """Why a backend refuses ``thing`` ("role x"): it exists, and this request did not make it."""
    return (
        f"{thing} already exists on the server and was not made for this request; "
        "it is left untouched"
    )
