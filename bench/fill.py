"""Filling a store with many instances before the server starts.

Records go in through the store API itself (``Store.apply``, thousands of ``Put``
changes per transaction), exactly as the broker writes them, so the server finds a
store it could have filled; 100 000 instances take a few seconds instead of the
minutes 100 000 provision requests would need. The fill uses ``synchronous=NORMAL``
(nothing is acknowledged to anyone) and closes the store before the server opens it.
"""

from __future__ import annotations

import time

from broker.osb.instances import provision_fingerprint
from broker.storage import open_store
from broker.storage.base import Put
from broker.storage.records import InstanceRecord

__all__ = ["fill_instances"]

BATCH = 5000


def fill_instances(store_url: str, count: int, *, service_id: str, plan_id: str) -> float:
    """Store ``count`` ready instances of one plan; return the seconds it took."""
    started = time.perf_counter()
    store = open_store(store_url, sqlite_synchronous="NORMAL")
    try:
        digest = provision_fingerprint(
            service_id=service_id,
            plan_id=plan_id,
            organization_guid="bench-org",
            space_guid="bench-space",
            parameters={},
            maintenance_version=None,
        )
        now = time.time()
        for first in range(0, count, BATCH):
            store.apply(
                [
                    Put(
                        InstanceRecord(
                            id=f"bench-fill-{number:07d}",
                            service_id=service_id,
                            plan_id=plan_id,
                            state="ready",
                            fingerprint=digest,
                            created_at=now,
                            updated_at=now,
                            organization_guid="bench-org",
                            space_guid="bench-space",
                            backend_state={"database": f"db_benchfill{number}"},
                        )
                    )
                    for number in range(first, min(first + BATCH, count))
                ]
            )
    finally:
        store.close()
    return time.perf_counter() - started
