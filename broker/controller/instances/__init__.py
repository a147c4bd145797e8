"""ServiceInstance: provision, poll, update, deprovision and orphan mitigation.

The action is chosen as Service Catalog chooses it: an async operation in progress
is polled; a deleted instance (or one owing the broker an orphan-mitigation DELETE)
is deprovisioned; a provisioned one is updated when its generation changed; anything
else is provisioned. Reasons, messages and the error table (which failures are
terminal, retried, or start orphan mitigation) follow Service Catalog.
"""

from __future__ import annotations

from typing import Any

from broker.controller.instances.deprovision import delete_instance
from broker.controller.instances.polling import poll_instance
from broker.controller.instances.provision import provision_instance
from broker.controller.instances.update import update_instance
from broker.controller.machinery import Machinery
from broker.controller.work import Work

__all__ = ["reconcile_instance"]


def reconcile_instance(machinery: Machinery, obj: dict[str, Any]) -> None:
    """One pass over one ServiceInstance: the action Service Catalog would take next."""
    work = Work(machinery, obj)
    if not work.status:
        work.status.update({"conditions": [], "deprovisionStatus": "NotRequired"})
        work.save()
    if work.status.get("asyncOpInProgress"):
        poll_instance(work)
    elif work.deleting or work.status.get("orphanMitigationInProgress"):
        delete_instance(work)
    elif work.status.get("provisionStatus") == "Provisioned":
        update_instance(work)
    else:
        provision_instance(work)
