"""HTTP: the blueprints, listed in one place, and the catalog's fast path in front of them."""

from __future__ import annotations

from flask import Flask

__all__ = ["register_blueprints"]


def register_blueprints(app: Flask) -> None:
    from broker.web.admin import admin
    from broker.web.dashboard import dashboard, home
    from broker.web.fast_path import install_fast_path
    from broker.web.health import health
    from broker.web.openapi import openapi
    from broker.web.osb_api import osb

    for blueprint in (health, osb, admin, openapi, dashboard, home):
        app.register_blueprint(blueprint)
    install_fast_path(app)
