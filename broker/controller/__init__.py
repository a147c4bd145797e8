"""A thin Kubernetes Service Catalog (servicecatalog.k8s.io/v1beta1) for local use.

Objects live in a local store (:mod:`broker.controller.store`); the controller
(:mod:`broker.controller.engine`) reconciles them against brokers over HTTP through
:class:`broker.client.OSBClient`, following Service Catalog's state machines
(``reference/service-catalog.md``); ``mockbroker ctl`` (:mod:`broker.controller.cli`)
is the kubectl/svcat-like front end.
"""
