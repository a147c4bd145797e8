"""Finding credential backends by name: built-ins plus the entry-point group."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, NamedTuple

from broker.credentials.base import (
    BackendError,
    BackendSettings,
    CredentialBackend,
    leaves_objects,
)

__all__ = ["ENTRY_POINT_GROUP", "BackendRegistry", "ResolvedBackend", "backend_classes"]

ENTRY_POINT_GROUP = "mockbroker.credential_backends"

# Built-in backends, importable without the entry points being installed (a source
# checkout); the same names are declared as entry points in pyproject.toml.
BUILTIN = {
    "fake": "broker.credentials.fake:FakeBackend",
    "static": "broker.credentials.static:StaticBackend",
    "parameters": "broker.credentials.parameters:ParametersBackend",
    "postgres": "broker.credentials.postgres:PostgresBackend",
    "mysql": "broker.credentials.mysql:MySQLBackend",
    "redis": "broker.credentials.redis:RedisBackend",
}


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


def backend_classes() -> dict[str, Any]:
    """Every known backend class by name (entry points may add or replace built-ins).

    The installed distributions are scanned once per import path: the settings
    (which read what each backend declares) and the registry of a process both ask,
    and each scan reads the metadata of every installed distribution.
    """
    return dict(_scan(tuple(sys.path)))


@cache
def _scan(import_path: tuple[str, ...]) -> dict[str, Any]:
    classes = {name: _load(target) for name, target in BUILTIN.items()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in classes or entry.value != BUILTIN.get(entry.name):
            classes[entry.name] = entry.load()
    return classes


class ResolvedBackend(NamedTuple):
    """A backend as the broker calls it: the object and whether it leaves objects
    outside the broker (:func:`broker.credentials.base.leaves_objects`)."""

    backend: CredentialBackend
    leaves_objects: bool


class BackendRegistry:
    """The backends of one application, each built once, on first use."""

    def __init__(self, settings: BackendSettings, classes: dict[str, Any] | None = None) -> None:
        self._settings = settings
        self._classes = classes if classes is not None else backend_classes()
        self._instances: dict[str, CredentialBackend] = {}
        self._resolved: dict[str, ResolvedBackend] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: str) -> CredentialBackend:
        backend = self._instances.get(name)
        if backend is None:
            cls = self._classes.get(name)
            if cls is None:
                raise BackendError(f"no credential backend named {name!r}")
            backend = cls.from_settings(self._settings)
            self._instances[name] = backend
        return backend

    def resolve(self, name: str) -> ResolvedBackend:
        """The backend ``name`` with what the broker must know to call it safely."""
        resolved = self._resolved.get(name)
        if resolved is None:
            backend = self.get(name)
            resolved = self._resolved[name] = ResolvedBackend(backend, leaves_objects(backend))
        return resolved

    def option_problems(
        self, name: str, options: Mapping[str, Any]
    ) -> list[tuple[str, str]] | None:
        """Problems of a plan's backend options; ``None`` if no backend has that name."""
        cls = self._classes.get(name)
        if cls is None:
            return None
        problems: list[tuple[str, str]] = cls.option_problems(options)
        return problems

    def parameter_problems(
        self,
        name: str,
        options: Mapping[str, Any],
        purpose: str,
        parameters: Mapping[str, Any],
        instance_parameters: Mapping[str, Any],
    ) -> list[str]:
        """What the backend's optional ``parameter_problems`` hook finds ([] without one)."""
        hook = getattr(self._classes.get(name), "parameter_problems", None)
        if hook is None:
            return []
        problems: list[str] = hook(options, purpose, parameters, instance_parameters)
        return problems

    def register(self, name: str, backend: CredentialBackend) -> None:
        """Use ``backend`` for ``name`` (tests plug fakes in here)."""
        self._classes[name] = type(backend)
        self._instances[name] = backend
        self._resolved.pop(name, None)
