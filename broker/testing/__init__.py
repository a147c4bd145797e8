"""Testing with mockbroker: the pytest plugin, its broker handle, a threaded server.

Modules: :mod:`~broker.testing.pytest_plugin` (the fixtures),
:mod:`~broker.testing.osb_broker` (what a test gets), :mod:`~broker.testing.threaded_server`
(the in-process broker) and :mod:`~broker.testing.isolation` (tests on a shared broker).

Attributes load on first use: pytest imports the plugin module (and so this
package) in every session, which must stay cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["BrokerEndpoint", "OSBBroker", "ThreadedBrokerServer"]

_WHERE = {
    "BrokerEndpoint": "broker.testing.osb_broker",
    "OSBBroker": "broker.testing.osb_broker",
    "ThreadedBrokerServer": "broker.testing.threaded_server",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'broker.testing' has no attribute {name!r}")
