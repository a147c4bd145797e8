"""The checks: what one request and its answer say about the platform that sent it.

No Flask here. The web layer describes each OSB request as an
:class:`~.exchange.Exchange`; :meth:`Checker.before` (for the few checks that need
the state as it was before the request) and :meth:`Checker.after` answer the rules
it broke as :class:`~.exchange.Sighting` values, running the checks
:mod:`.routes` lists for the request's operation and version.

What a request costs: the checks of the request itself are pure; those that look
at the broker's state read one record (fetch, update with a plan, bind with a
predecessor) or one instance's bindings (deprovision); a create reads whether its
id was deleted before; a DELETE's id is written by the state store in the
transaction of the delete (:mod:`.deleted_ids`), so a successful lifecycle writes
nothing of its own; every DELETE reads for an open orphan-mitigation window;
polling touches one watch.
"""

from __future__ import annotations

from broker.platform_checks.exchange import (
    DEFAULT_REMEMBERED_IDS,
    POLL_TOLERANCE,
    Exchange,
    Lookup,
    Sighting,
    Sources,
)
from broker.platform_checks.findings_store import FindingsStore
from broker.platform_checks.orphans import overdue
from broker.platform_checks.routes import after_checks, before_checks_for, usable
from broker.storage import Store

__all__ = ["POLL_TOLERANCE", "Checker", "Exchange", "Sighting"]


class Checker:
    """Runs the checks against one state store, findings store and catalog."""

    def __init__(
        self,
        store: Store,
        findings: FindingsStore,
        lookup: Lookup,
        orphan_window: float,
        remembered_ids: int = DEFAULT_REMEMBERED_IDS,
    ) -> None:
        self.sources = Sources(store, findings, lookup, orphan_window, remembered_ids)

    @property
    def findings(self) -> FindingsStore:
        return self.sources.findings

    def before(self, exchange: Exchange) -> list[Sighting]:
        """The checks that need the state as it is before the request changes it."""
        found: list[Sighting] = []
        for check in before_checks_for(exchange.operation, exchange.version):
            check(self.sources, exchange, found)
        return found

    def after(self, exchange: Exchange) -> list[Sighting]:
        """The rules ``exchange`` broke; remembers what later requests are checked against."""
        if not usable(exchange.version):
            return [Sighting("version-header", *exchange.ids)]
        found: list[Sighting] = []
        checks = after_checks(
            exchange.operation, exchange.version, exchange.identity_platform is not None
        )
        for check in checks:
            check(self.sources, exchange, found)
        return found

    def overdue(self, now: float) -> list[Sighting]:
        """Orphan mitigations whose window closed with no DELETE (each reported once)."""
        return overdue(self.sources, now)
