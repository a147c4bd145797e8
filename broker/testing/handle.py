"""Former home of :mod:`broker.testing.osb_broker`; importing it warns (until the next release)."""

from __future__ import annotations

from broker.deprecations import warn_renamed
from broker.testing.osb_broker import BrokerEndpoint, OSBBroker

warn_renamed("the module broker.testing.handle", "broker.testing.osb_broker")

__all__ = ["BrokerEndpoint", "OSBBroker"]
