"""Parsing a complete request with gunicorn's own parser, without its per-request lookups.

gunicorn's parser, its WSGI environment and its response read the configuration
about twenty times per request, and ``Config.__getattr__`` finds each value in the
settings table anew (about a microsecond a read). It also decides, for every
request, whether the peer may set forwarding headers, parsing the peer's address
each time. Both are the same for the life of a worker (a reload starts new
workers) and of a connection, so the answering path reads a
:class:`ConfigSnapshot` and keeps the peer's trust on the connection. The parser,
its rules and its errors stay gunicorn's.
"""

from __future__ import annotations

from typing import Any

from gunicorn.config import Config
from gunicorn.http.message import HeaderPolicy, Request
from gunicorn.http.unreader import IterUnreader

from broker.serving.connection import Connection

__all__ = ["ConfigSnapshot", "parse_request"]


class ConfigSnapshot:
    """gunicorn's configuration of a worker, every setting read once.

    A setting is a plain attribute with the value ``Config`` gives for it (its
    property where it has one, such as ``sendfile``). Anything else (``is_ssl``,
    ``forwarded_allow_networks`` ...) is taken from the configuration on first use
    and kept.
    """

    def __init__(self, cfg: Config) -> None:
        object.__setattr__(self, "_cfg", cfg)
        for name in cfg.settings:
            object.__setattr__(self, name, getattr(cfg, name))

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cfg, name)
        object.__setattr__(self, name, value)
        return value


class _Request(Request):  # type: ignore[misc]
    """gunicorn's request, told whether its peer is a trusted proxy."""

    def __init__(self, cfg: Any, request: bytes, peer: Any, number: int, trusted: bool) -> None:
        self._trusted_peer = trusted
        super().__init__(cfg, IterUnreader((request,)), peer, number)

    def _peer_is_trusted_proxy(self) -> bool:
        return self._trusted_peer


def _peer_trusted(cfg: Any, peer: Any) -> bool:
    """gunicorn's rule: may ``peer`` set forwarding and scheme headers?"""
    probe = HeaderPolicy()
    probe.cfg = cfg
    probe.peer_addr = peer
    return bool(probe._peer_is_trusted_proxy())


def parse_request(cfg: ConfigSnapshot, connection: Connection, request: bytes) -> Any:
    """gunicorn's ``Request`` for one complete request read on ``connection``.

    Raises what gunicorn's parser raises for a request it refuses.
    """
    trusted = connection.trusted_peer
    if trusted is None:
        trusted = connection.trusted_peer = _peer_trusted(cfg, connection.client)
    return _Request(cfg, request, connection.client, connection.requests, trusted)
