"""``/admin``: the test-control API (admin credentials, JSON).

Every change goes through the store, so it is effective for every gunicorn worker
and every replica on their next request.

No answer is one unbounded document: ``/admin/state`` and ``/admin/operations`` are
pages of at most ``limit`` records (a ``next`` cursor gives the following page), and
a journal page stops at ``limit`` entries or :data:`JOURNAL_PAGE_BYTES`, whichever
comes first (``next`` / ``previous`` say where to go on).
"""

from broker.web.admin import catalogs, fault_rules, recorded_requests, state
from broker.web.admin.blueprint import admin

__all__ = ["admin", "catalogs", "fault_rules", "recorded_requests", "state"]
