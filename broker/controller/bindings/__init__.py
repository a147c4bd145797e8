"""ServiceBindings: bind, write the credentials Secret, unbind, orphan mitigation.

Bindings are synchronous, as in Service Catalog with its async-binding gate off.
Unbinding deletes the Secret first, then calls the broker; a 410 counts as done.
"""

from __future__ import annotations

from typing import Any

from broker.controller.bindings.bind import bind
from broker.controller.bindings.jsonpath import JSONPathError, jsonpath_template
from broker.controller.bindings.secret_data import SecretDataError, secret_data
from broker.controller.bindings.unbind import unbind
from broker.controller.machinery import Machinery
from broker.controller.work import Work

__all__ = [
    "JSONPathError",
    "SecretDataError",
    "jsonpath_template",
    "reconcile_binding",
    "secret_data",
]


def reconcile_binding(machinery: Machinery, obj: dict[str, Any]) -> None:
    """One pass over one ServiceBinding: unbind if deleted or owing orphan mitigation, else bind."""
    work = Work(machinery, obj)
    if not work.status:
        work.status.update({"conditions": [], "unbindStatus": "NotRequired"})
        work.save()
    if work.deleting or work.status.get("orphanMitigationInProgress"):
        unbind(work)
    else:
        bind(work)
