"""The credential-backend contract.

A backend turns "an instance of plan P was provisioned" into something real (or
realistically fake) and "a binding was created" into credentials. The broker
calls it while holding the instance's lock, after every OSB rule has been checked,
and stores whatever it returns together with the instance or binding:

* :meth:`CredentialBackend.provision` returns the backend's *instance state* (a
  JSON-able mapping, e.g. the database name it created); the broker passes it
  back on every later call for that instance.
* :meth:`CredentialBackend.bind` returns the binding's credentials and its
  *binding state* (e.g. the role it created).
* :meth:`CredentialBackend.unbind` and :meth:`CredentialBackend.deprovision` undo
  them. Both must succeed when there is nothing left to undo.
* Every method either completes or raises :class:`BackendError` after undoing
  whatever it had started: a failed call leaves nothing behind.

A backend that makes something outside the broker (a database, an account) sets
the class attribute ``leaves_objects = True`` (the default when it is missing;
backends that only compute credentials set ``False``, as :class:`LocalBackend`
does). The broker then records each provision or bind *before* calling it, so
that if its process dies during the call the next attempt (a retry, a poll, a
delete) finds the record and first calls :meth:`CredentialBackend.deprovision` or
:meth:`CredentialBackend.unbind` with an empty state: names must be derivable from
the ids alone.

A backend may also define the classmethod ``parameter_problems(options, purpose,
parameters, instance_parameters) -> list[str]``: the broker calls it with the OSB
checks, before anything is written, for ``purpose`` ``instance_create``,
``instance_update`` (the instance's parameters after the update) and
``binding_create`` (``instance_parameters`` are the instance's), and answers 400
``InvalidParameters`` listing the problems. Backends that read the request
parameters use it so bad input never reaches :meth:`CredentialBackend.bind`.

A backend that needs settings of its own (an admin URL, an address) declares them
in the class attribute ``settings``, a tuple of :class:`BackendSetting`. The broker
reads each one as every setting is read (``postgres_url`` in a config file,
``BROKER_POSTGRES_URL`` in the environment), refuses a malformed value at start-up
with a :class:`~broker.setting_parsers.SettingsError` naming the variable, and
:meth:`CredentialBackend.from_settings` reads the value with
``settings.backend_setting(declared)``.

Backends are registered under the entry-point group ``mockbroker.credential_backends``
(name -> class), so a third party adds one by installing a package. A class is
built once per application with :meth:`CredentialBackend.from_settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

__all__ = [
    "BackendError",
    "BackendSetting",
    "BackendSettings",
    "leaves_objects",
    "BackendUnavailable",
    "BindResult",
    "BindingRequest",
    "CredentialBackend",
    "InstanceRequest",
    "LocalBackend",
]


class BackendError(RuntimeError):
    """A backend call failed; the message is shown to the platform as the description."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached at all (used by ``/readyz``)."""


@dataclass(frozen=True)
class BackendSetting:
    """A setting a backend brings: ``name`` in a config file, ``BROKER_<NAME>`` in the
    environment (:attr:`env_var`).

    ``parse(value, where)`` turns the raw value into the setting's value or raises
    :class:`~broker.setting_parsers.SettingsError` naming ``where`` (the parsers of
    :mod:`broker.setting_parsers` do); ``default`` is the value when it is unset.
    """

    name: str
    parse: Callable[[Any, str], Any]
    default: Any = None
    help: str = ""

    @property
    def env_var(self) -> str:
        return f"BROKER_{self.name.upper()}"


class BackendSettings(Protocol):
    """What a credential backend reads of the broker's settings
    (:class:`broker.config.Settings` is one): backends depend on this, not on the
    configuration module, which asks them what settings they declare."""

    @property
    def credential_seed(self) -> str | None: ...

    def backend_setting(self, declared: BackendSetting) -> Any: ...


@dataclass(frozen=True)
class InstanceRequest:
    instance_id: str
    service_id: str
    service_name: str
    plan_id: str
    plan_name: str
    # The plan's ``credentials.options`` from the catalog.
    options: Mapping[str, Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    # What provision() returned for this instance ({} before it ran).
    state: Mapping[str, Any] = field(default_factory=dict)
    # Template variables of the instance (instance_id, service, plan,
    # organization_guid, space_guid, namespace, base_url ...).
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingRequest:
    instance: InstanceRequest
    binding_id: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    bind_resource: Mapping[str, Any] = field(default_factory=dict)
    # What bind() returned for this binding ({} before it ran).
    state: Mapping[str, Any] = field(default_factory=dict)
    # The instance's template variables plus binding_id, app_guid and route.
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindResult:
    credentials: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class CredentialBackend(Protocol):
    name: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> CredentialBackend:
        """Build the backend; admin connections come from settings, never the catalog."""

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(key path, message)`` for every unusable catalog option (checked at load)."""

    def check(self) -> None:
        """Raise :class:`BackendUnavailable` when the backend cannot serve (``/readyz``)."""

    def provision(self, request: InstanceRequest) -> dict[str, Any]: ...

    def deprovision(self, request: InstanceRequest) -> None: ...

    def bind(self, request: BindingRequest) -> BindResult: ...

    def unbind(self, request: BindingRequest) -> None: ...


class LocalBackend:
    """Base of the backends that only compute credentials and make nothing anywhere.

    Nothing outside the broker can be unavailable, created or left behind, so
    :meth:`check`, :meth:`provision`, :meth:`deprovision` and :meth:`unbind` have
    nothing to do; a subclass adds ``name``, ``option_problems`` and ``bind``.
    ``seed`` is the ``credential_seed`` setting, for the values a subclass generates.
    """

    leaves_objects: ClassVar[bool] = False

    def __init__(self, seed: str | None = None) -> None:
        self._seed = seed

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> Self:
        return cls(seed=settings.credential_seed)

    def check(self) -> None:
        return None

    def provision(self, request: InstanceRequest) -> dict[str, Any]:
        return {}

    def deprovision(self, request: InstanceRequest) -> None:
        return None

    def unbind(self, request: BindingRequest) -> None:
        return None


def leaves_objects(backend: object) -> bool:
    """Whether ``backend`` makes things outside the broker that a dead call could leave."""
    return bool(getattr(backend, "leaves_objects", True))
