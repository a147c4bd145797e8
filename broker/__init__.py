"""mockbroker: a mock Open Service Broker API server for testing.

The public surface is small: :func:`create_app` builds the WSGI application from a
:class:`~broker.config.Settings` object; everything else is reached through the
``mockbroker`` command, the HTTP API, :mod:`broker.client` and the pytest plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broker.version import __version__

__all__ = ["__version__", "create_app"]

if TYPE_CHECKING:
    from flask import Flask

    from broker.config import Settings


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the broker application (imported lazily so ``import broker`` stays cheap)."""
    from broker.app import create_app as _create_app

    return _create_app(settings, **overrides)
