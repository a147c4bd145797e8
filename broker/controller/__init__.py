"""A thin Kubernetes Service Catalog (servicecatalog.k8s.io/v1beta1) for local use.

Objects live in a local store (:mod:`broker.controller.objects`); the controller
(:class:`Controller`, :mod:`broker.controller.manager`) reconciles brokers
(:mod:`~broker.controller.brokers`), instances (:mod:`~broker.controller.instances`)
and bindings (:mod:`~broker.controller.bindings`) against brokers over HTTP, reached
only through :mod:`broker.controller.broker_access` (and so :class:`broker.client.OSBClient`),
following Service Catalog's state machines (``reference/service-catalog.md``);
``mockbroker ctl`` (:mod:`broker.controller.ctl`) is the kubectl/svcat-like front end.
"""

from broker.controller.manager import Controller
from broker.controller.settings import ControllerSettings

__all__ = ["Controller", "ControllerSettings"]
