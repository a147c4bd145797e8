"""The application factory. Nothing happens at import time; everything happens here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from broker.config import Settings, load_settings
from broker.credentials.registry import BackendRegistry
from broker.runtime import EXTENSION, build_runtime
from broker.storage import Store

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    store_instance: Store | None = None,
    backends: BackendRegistry | None = None,
    clock: Callable[[], float] = time.time,
    **overrides: Any,
) -> Flask:
    """Build the broker WSGI application.

    ``settings`` defaults to :func:`broker.config.load_settings` (config file and
    ``BROKER_*`` environment), so ``gunicorn 'broker.app:create_app()'`` works;
    ``overrides`` replace single settings (``create_app(store="memory://")``).
    ``store_instance``, ``backends`` and ``clock`` let tests plug in fakes. Raises
    :class:`broker.catalog.CatalogError` when the catalogs are invalid.
    """
    from broker.platform_checks import register_platform_checks
    from broker.web import register_blueprints
    from broker.web.errors import register_error_handlers
    from broker.web.request_context import register_request_context

    if settings is None:
        settings = load_settings(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)

    app = Flask("broker")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    from broker.web.metrics import Metrics

    rt = build_runtime(settings, store=store_instance, backends=backends, clock=clock)
    rt.metrics = Metrics(rt)
    app.extensions[EXTENSION] = rt
    register_request_context(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_platform_checks(app, rt)
    return app
