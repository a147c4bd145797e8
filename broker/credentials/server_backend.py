"""What the backends of a real server (``postgres``, ``mysql``, ``redis``) share: the
admin URL and public address they are built with, their client library, the names of
what they create, and the refusal to take over what they did not create."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any, ClassVar, Self

from broker.credentials.base import (
    BackendSetting,
    BackendSettings,
    BackendUnavailable,
    BindingRequest,
    InstanceRequest,
)
from broker.credentials.endpoints import Endpoint
from broker.credentials.options import ServerOptions, schema_problems
from broker.setting_parsers import optional_port, optional_text

__all__ = ["DEFAULT_PREFIX", "ServerBackend", "already_exists", "server_settings"]

DEFAULT_PREFIX = "mb_"


def server_settings(name: str, server: str) -> tuple[BackendSetting, ...]:
    """The settings of the backend ``name`` of a real ``server``: its admin URL, and
    the public host and port written into credentials (unset: the admin URL's)."""
    return (
        BackendSetting(
            f"{name}_url",
            optional_text,
            help=f"admin connection of the {server} server (never read from a catalog)",
        ),
        BackendSetting(
            f"{name}_public_host",
            optional_text,
            help=f"host written into {server} credentials, when clients reach the server "
            "under another address than the broker",
        ),
        BackendSetting(
            f"{name}_public_port", optional_port, help=f"port written into {server} credentials"
        ),
    )


class ServerBackend:
    """Base of the backends that create databases and accounts on a real server.

    ``url`` is the admin connection; ``public_host``/``public_port`` the address written
    into credentials when the plan's options name none (:mod:`broker.credentials.endpoints`).
    """

    name: ClassVar[str]
    # Databases and accounts on a server: the broker records each attempt first.
    leaves_objects: ClassVar[bool] = True
    # The catalog options the backend accepts.
    options_schema: ClassVar[type[ServerOptions]] = ServerOptions
    # The client library (an optional extra named like the backend): its module, and
    # the distribution to install when it is missing.
    driver_module: ClassVar[str]
    driver_package: ClassVar[str]

    # The admin URL, public host and public port (server_settings), in that order.
    settings: ClassVar[tuple[BackendSetting, ...]]

    def __init__(
        self, url: str | None, public_host: str | None = None, public_port: int | None = None
    ) -> None:
        self._url = url
        self._public_host = public_host
        self._public_port = public_port

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> Self:
        url, public_host, public_port = (settings.backend_setting(s) for s in cls.settings)
        return cls(url, public_host, public_port)

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return schema_problems(cls.options_schema(), options)

    @classmethod
    def _driver(cls) -> Any:
        """The client library's module, imported on first use."""
        try:
            return import_module(cls.driver_module)
        except ImportError:
            raise BackendUnavailable(
                f"the {cls.name} backend needs {cls.driver_package}: "
                f"pip install 'mockbroker[{cls.name}]'"
            ) from None

    @staticmethod
    def _prefix(options: Mapping[str, Any]) -> str:
        return str(options.get("name_prefix", DEFAULT_PREFIX))

    def _name(
        self, request: InstanceRequest | BindingRequest, key: str, derive: Callable[..., str]
    ) -> str:
        """The name the request's state holds under ``key``, else ``derive(*ids, prefix)``
        from its ids (a call that died before returning left the state empty)."""
        if isinstance(request, BindingRequest):
            instance = request.instance
            ids: tuple[str, ...] = (instance.instance_id, request.binding_id)
        else:
            instance, ids = request, (request.instance_id,)
        return str(request.state.get(key) or derive(*ids, self._prefix(instance.options)))

    def _public(self, admin: Endpoint, options: Mapping[str, Any]) -> Endpoint:
        """Where clients reach the server whose admin endpoint is ``admin``."""
        return admin.public(self._public_host, self._public_port, options)


def already_exists(thing: str) -> str:
    """Why a backend refuses ``thing`` ("role x"): it exists, and this request did not make it."""
    return (
        f"{thing} already exists on the server and was not made for this request; "
        "it is left untouched"
    )
