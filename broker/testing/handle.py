"""The ``osb_broker`` handle: one running broker, as a test sees it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.client import OSBClient

__all__ = ["BrokerEndpoint", "OSBBroker"]

MATCH_KEYS = ("operation", "service", "plan", "instance_id", "binding_id")
TRIGGER_KEYS = ("times", "nth", "after", "probability", "seed")


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where a broker listens and how to log in (OSB and admin credentials)."""

    url: str
    username: str = "broker"
    password: str = field(default="broker", repr=False)
    admin_username: str = "broker"
    admin_password: str = field(default="broker", repr=False)

    def client(self, **options: Any) -> OSBClient:
        return OSBClient(
            self.url,
            username=self.username,
            password=self.password,
            admin_username=self.admin_username,
            admin_password=self.admin_password,
            **options,
        )


class OSBBroker:
    """A broker for one test: its URL and credentials, a client, and test controls.

    Everything here goes through the broker's HTTP API, so it works the same for the
    in-process server and for an external broker (``--osb-broker-url``).
    """

    def __init__(self, endpoint: BrokerEndpoint, client: OSBClient) -> None:
        self.endpoint = endpoint
        self.client = client

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def auth(self) -> tuple[str, str]:
        """``(username, password)`` of the OSB API, e.g. for ``httpx`` or ``requests``."""
        return self.endpoint.username, self.endpoint.password

    @property
    def admin_auth(self) -> tuple[str, str]:
        return self.endpoint.admin_username, self.endpoint.admin_password

    def __repr__(self) -> str:
        return f"OSBBroker({self.url!r})"

    # --- catalog ----------------------------------------------------------------------
    def ids(self, service: str, plan: str) -> tuple[str, str]:
        """``(service_id, plan_id)`` for a service and plan given by name or id.

        :class:`LookupError` if the catalog has no such plan.
        """
        offering, candidate = self.client.catalog().plan(service, plan)
        return str(offering["id"]), str(candidate["id"])

    def put_catalog(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the catalog for the rest of the test (a reset restores the files)."""
        return self.client.put_catalog(document)

    # --- state ------------------------------------------------------------------------
    def reset(self, *, keep_journal: bool = False) -> None:
        self.client.reset(keep_journal=keep_journal)

    def state(self, *, credentials: bool = False) -> dict[str, Any]:
        """``{"instances": [...], "bindings": [...], "operations": [...]}``."""
        return self.client.state(credentials=credentials)

    def finish_operation(
        self, operation: str, state: str = "succeeded", description: str | None = None
    ) -> dict[str, Any]:
        """Finish a running asynchronous operation (``manual`` plans wait for this)."""
        return self.client.finish_operation(operation, state, description)

    # --- faults -----------------------------------------------------------------------
    def add_fault(self, rule: Mapping[str, Any] | None = None, **shorthand: Any) -> str:
        """Install a fault rule; answers its id.

        Give a whole rule (``{"match": ..., "trigger": ..., "action": ...}``) or the
        shorthand: match keys (``operation``, ``service``, ``plan``, ``instance_id``,
        ``binding_id``), trigger keys (``times``, ``nth``, ``after``, ``probability``,
        ``seed``), and everything else as the action::

            osb_broker.add_fault(operation="bind", times=2, status=500)
        """
        if rule is not None and shorthand:
            raise TypeError("give a rule or keyword shorthand, not both")
        if rule is None:
            rule = {
                "match": {key: shorthand.pop(key) for key in MATCH_KEYS if key in shorthand},
                "trigger": {key: shorthand.pop(key) for key in TRIGGER_KEYS if key in shorthand},
                "action": shorthand,
            }
        return self.client.add_fault(rule)

    def faults(self) -> list[dict[str, Any]]:
        return self.client.faults()

    def delete_fault(self, rule_id: str) -> None:
        self.client.delete_fault(rule_id)

    # --- journal ----------------------------------------------------------------------
    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Recorded requests, oldest first (filters as ``GET /admin/requests``)."""
        return self.client.requests(**filters)

    def wait_for_request(
        self, timeout: float = 10.0, count: int = 1, **filters: Any
    ) -> dict[str, Any]:
        """Wait until ``count`` requests match ``filters``; answer the ``count``-th.

        Raises :class:`AssertionError` naming what did arrive if they do not come in time.
        """
        deadline = time.monotonic() + timeout
        found = self.client.requests(**filters)
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [
                    f"{entry['method']} {entry['path']} -> {entry['status']}"
                    for entry in self.client.requests(limit=10)
                ]
                raise AssertionError(
                    f"expected {count} request(s) matching {filters} within {timeout}s, "
                    f"got {len(found)}; the last requests were: {recent or 'none'}"
                )
            since = found[-1]["id"] if found else None
            found += self.client.requests(since=since, wait=min(remaining, 30.0), **filters)
        return found[count - 1]
