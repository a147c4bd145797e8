"""Credential backends: what a plan's bindings carry, and the objects made for them.

The contract every backend follows is :mod:`~broker.credentials.base`
(:class:`CredentialBackend`, the requests it is given and the results it returns);
:class:`BackendRegistry` finds backends by name among the built-in ones
(:mod:`~broker.credentials.fake`, ``static``, ``parameters``, ``postgres``,
``mysql``, ``redis``) and the ``mockbroker.credential_backends`` entry points.

Backends know nothing of the OSB rules or of the store: they are called with plain
requests and return plain state (the import contracts in pyproject.toml hold them to it).
"""

from broker.credentials.base import (
    BackendError,
    BackendUnavailable,
    BindingRequest,
    BindResult,
    CredentialBackend,
    InstanceRequest,
    LocalBackend,
    leaves_objects,
)
from broker.credentials.registry import ENTRY_POINT_GROUP, BackendRegistry

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendError",
    "BackendRegistry",
    "BackendUnavailable",
    "BindResult",
    "BindingRequest",
    "CredentialBackend",
    "InstanceRequest",
    "LocalBackend",
    "leaves_objects",
]
