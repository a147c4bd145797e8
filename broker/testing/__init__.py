"""Testing with mockbroker: the pytest plugin, its broker handle, a threaded server.

Attributes load on first use: pytest imports the plugin module (and so this
package) in every session, which must stay cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["BrokerEndpoint", "OSBBroker", "ThreadedBrokerServer"]

_WHERE = {
    "BrokerEndpoint": "broker.testing.handle",
    "OSBBroker": "broker.testing.handle",
    "ThreadedBrokerServer": "broker.testing.server",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'broker.testing' has no attribute {name!r}")
