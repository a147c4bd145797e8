"""Former home of :mod:`broker.testing.threaded_server`; importing it warns (until the next
release)."""

from __future__ import annotations

from broker.deprecations import warn_renamed
from broker.testing.threaded_server import ThreadedBrokerServer

warn_renamed("the module broker.testing.server", "broker.testing.threaded_server")

__all__ = ["ThreadedBrokerServer"]
