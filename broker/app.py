"""The application factory. Nothing happens at import time; everything happens here.

:func:`create_app` builds every part of one broker — catalog, store, credential
backends, the OSB rules, fault engine, authentication, metrics — into one
:class:`~broker.web.runtime.Runtime`, and hands it to the web layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.routing import Rule

from broker.catalog.documents import bundled_catalog_paths
from broker.catalog.loader import load_catalog
from broker.catalog.model import Catalog
from broker.catalog.source import CatalogSource
from broker.config import Settings, load_settings
from broker.credentials.registry import BackendRegistry
from broker.faults.engine import FaultEngine
from broker.faults.schemas import fault_rule_problems
from broker.faults.waits import FaultWaits
from broker.osb.finding_hook import FindingRecorder
from broker.osb.operation_retention import OperationRetention
from broker.osb.parts import BrokerParts
from broker.osb.service_broker import ServiceBroker
from broker.storage import Store, open_store

if TYPE_CHECKING:
    from broker.web.runtime import Runtime

__all__ = [
    "BrokerFlask",
    "LazyBuilderRule",
    "build_runtime",
    "create_app",
    "load_configured_catalog",
]


def create_app(
    settings: Settings | None = None,
    *,
    store_instance: Store | None = None,
    backends: BackendRegistry | None = None,
    clock: Callable[[], float] = time.time,
    findings: FindingRecorder | None = None,
    **overrides: Any,
) -> Flask:
    """Build the broker WSGI application.

    ``settings`` defaults to :func:`broker.config.load_settings` (config file and
    ``BROKER_*`` environment), so ``gunicorn 'broker.app:create_app()'`` works;
    ``overrides`` replace single settings (``create_app(store="memory://")``).
    ``store_instance``, ``backends`` and ``clock`` let tests plug in fakes;
    ``findings`` receives the deviations the broker lets through (default: the
    platform checks' findings of the request,
    :class:`broker.platform_checks.RequestFindings`). Raises
    :class:`broker.catalog.CatalogError` when the catalogs are invalid.
    """
    # The web layer is imported here, not above: it brings prometheus_client, which
    # must not be imported before `mockbroker serve` sets PROMETHEUS_MULTIPROC_DIR.
    from broker.platform_checks import RequestFindings, register_platform_checks
    from broker.web import register_blueprints
    from broker.web.errors import register_error_handlers
    from broker.web.request_context import register_request_context
    from broker.web.runtime import EXTENSION

    if settings is None:
        settings = load_settings(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)

    app = BrokerFlask("broker")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    rt = app.extensions[EXTENSION] = build_runtime(
        settings,
        store=store_instance,
        backends=backends,
        clock=clock,
        findings=findings or RequestFindings(),
    )
    register_request_context(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_platform_checks(app, rt)
    return app


class LazyBuilderRule(Rule):
    """A URL rule whose URL builders are compiled the first time a URL is built.

    werkzeug writes two Python functions for each rule as it is added (generated
    through ``ast`` and ``compile()``), to build its URLs: a fifth of what making the
    application costs. The broker builds URLs for few of its rules (the dashboard's
    links and redirects), so each builder is compiled on its first use instead.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_first(rule: Rule, **values: Any) -> tuple[str, str]:
            builder: Callable[..., tuple[str, str]]
            builder = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, attribute, builder)  # the next URL goes straight to it
            return builder(**values)

        return build_first


class BrokerFlask(Flask):
    """Flask, minus a per-request cost: whether a hook or view is a coroutine is
    decided once per function, not on every call.

    Flask asks :meth:`ensure_sync` about every hook and the view of every request
    (eight times for a catalog request), and each answer inspects the function's code
    flags. The broker's functions never change, so the answer is kept.
    """

    url_rule_class = LazyBuilderRule

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        found = self._sync_functions.get(func)
        if found is None:
            found = self._sync_functions[func] = super().ensure_sync(func)
        return found


def load_configured_catalog(settings: Settings, registry: BackendRegistry) -> Catalog:
    """Load the catalogs named by the settings (bundled ones by default)."""
    paths = settings.catalogs or bundled_catalog_paths()
    return load_catalog(
        paths,
        backend_problems=registry.option_problems,
        fault_problems=fault_rule_problems,
        backend_names=registry.names,
    )


def build_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    backends: BackendRegistry | None = None,
    clock: Callable[[], float] = time.time,
    findings: FindingRecorder | None = None,
) -> Runtime:
    """Every part of one broker, put together and synchronised with the store."""
    from broker.web.auth import Authenticator
    from broker.web.metrics import Metrics
    from broker.web.runtime import Runtime

    registry = backends or BackendRegistry(settings)
    catalog = load_configured_catalog(settings, registry)
    store = store or open_store(settings.store_url, sqlite_synchronous=settings.sqlite_synchronous)
    catalogs = CatalogSource(
        catalog,
        store,
        backend_problems=registry.option_problems,
        fault_problems=fault_rule_problems,
        backend_names=registry.names,
    )
    parts = BrokerParts.assemble(
        catalogs,
        store,
        registry,
        base_url=settings.base_url,
        credential_seed=settings.credential_seed,
        clock=clock,
        findings=findings,
        strict=settings.strict,
    )
    runtime = Runtime(
        settings=settings,
        store=store,
        catalogs=catalogs,
        faults=FaultEngine(store),
        fault_waits=FaultWaits(store, settings.max_delayed),
        backends=registry,
        broker=ServiceBroker(parts),
        osb_auth=Authenticator(settings.osb_credentials, settings.bearer_tokens),
        admin_auth=Authenticator(settings.admin_credentials, realm="mockbroker-admin"),
        retention=OperationRetention(store, settings.operation_retention, clock),
        metrics=Metrics(store, catalogs),
    )
    runtime.sync()
    return runtime
