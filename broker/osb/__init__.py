"""The Open Service Broker API's rules, with no HTTP: the web layer calls
:class:`ServiceBroker` with parsed requests and maps its :class:`Outcome` to a status.

- :mod:`~broker.osb.service_broker`: one method per endpoint;
- :mod:`~broker.osb.instances`, :mod:`~broker.osb.bindings`: the rules of each resource;
- :mod:`~broker.osb.checks`: pure request checks;
- :mod:`~broker.osb.async_operations`: asynchronous operations (new, advance, finish);
- :mod:`~broker.osb.backend_calls`: crash-safe calls to credential backends;
- :mod:`~broker.osb.rendering`, :mod:`~broker.osb.binding_response`: catalog templates;
- :mod:`~broker.osb.locking`: the instance-then-binding lock order;
- :mod:`~broker.osb.errors`: the one error catalogue; :mod:`~broker.osb.schemas`,
  :mod:`~broker.osb.headers`: what a request may hold.
"""

from broker.osb.errors import OSBError
from broker.osb.outcome import Outcome, RequestInfo
from broker.osb.parts import BrokerParts
from broker.osb.service_broker import ServiceBroker

__all__ = ["BrokerParts", "OSBError", "Outcome", "RequestInfo", "ServiceBroker"]
