"""The ``osb_broker`` handle: one running broker, as a test sees it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from broker.deprecations import warn_renamed

if TYPE_CHECKING:
    from broker.client import OSBClient
    from broker.testing.isolation import Isolation
    from broker.testing.threaded_server import ThreadedBrokerServer

__all__ = ["BrokerEndpoint", "OSBBroker"]


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where a broker listens and how to log in (OSB and admin credentials).

    ``dedicated``: the broker serves this test session alone (the plugin started
    it), so each test may reset it. An endpoint of a broker someone else runs is
    never reset unless the session opts in (``--osb-reset-external``).
    """

    url: str
    username: str = "broker"
    password: str = field(default="broker", repr=False)
    admin_username: str = "broker"
    admin_password: str = field(default="broker", repr=False)
    dedicated: bool = False
    # The in-process server behind ``url`` when the plugin started it: resets call it
    # directly instead of sending ``POST /admin/reset``.
    server: ThreadedBrokerServer | None = field(default=None, repr=False, compare=False)

    def client(self, **options: Any) -> OSBClient:
        from broker.client import OSBClient

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
    in-process server and for an external broker (``--osb-broker-url``). With an
    ``isolation`` (an external broker that is not reset), the journal methods see
    this test's requests only, and what the test creates is removed when it ends
    (see :mod:`broker.testing.isolation`).

    ``client`` may be a function that makes the client: it is then made on first use,
    so a test that never sends a request never pays for an HTTP client.
    """

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        client: OSBClient | Callable[[], OSBClient],
        isolation: Isolation | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._client = client
        self.isolation = isolation

    @property
    def client(self) -> OSBClient:
        """The test's :class:`~broker.client.OSBClient` (typed OSB and admin calls)."""
        found = self._client
        if callable(found):
            found = self._client = found()
        return found

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def auth(self) -> tuple[str, str]:
        """``(username, password)`` of the OSB API, e.g. for ``httpx`` or ``requests``."""
        return self.endpoint.username, self.endpoint.password

    @property
    def admin_auth(self) -> tuple[str, str]:
        """``(username, password)`` of the admin API (``/admin/...``, ``/dashboard``,
        ``/metrics``), for any HTTP client; the OSB credentials unless the broker sets
        ``BROKER_ADMIN_USERNAME``/``BROKER_ADMIN_PASSWORD`` (then give them with
        ``OSB_BROKER_ADMIN_USERNAME``/``OSB_BROKER_ADMIN_PASSWORD``)."""
        return self.endpoint.admin_username, self.endpoint.admin_password

    @property
    def headers(self) -> dict[str, str]:
        """Headers that make a request this test's: send them from any other HTTP client.

        Empty unless the broker is shared (an external broker that is not reset):
        then the journal methods see only requests that carry them.
        """
        return self.isolation.headers if self.isolation is not None else {}

    def __repr__(self) -> str:
        return f"OSBBroker({self.url!r})"

    # --- ids --------------------------------------------------------------------------
    def ids(self, service: str, plan: str) -> tuple[str, str]:
        """``(service_id, plan_id)`` for a service and plan given by name or id.

        :class:`LookupError` if the catalog has no such plan, naming the closest.
        """
        offering, candidate = self.client.catalog().plan(service, plan)
        return str(offering["id"]), str(candidate["id"])

    def new_instance_id(self) -> str:
        """A fresh instance id (a UUID) no other test uses; removed when the test ends."""
        return self._new_id()

    def new_binding_id(self) -> str:
        """A fresh binding id (a UUID) no other test uses; removed when the test ends."""
        return self._new_id()

    def _new_id(self) -> str:
        if self.isolation is not None:
            return self.isolation.new_id()
        return str(uuid.uuid4())

    # --- catalog ----------------------------------------------------------------------
    def put_catalog(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the catalog for the rest of the test (a reset restores the files).

        A shared external broker refuses (:class:`SharedBrokerError`): the change would
        last beyond the test, for everyone.
        """
        return self.client.put_catalog(document)

    # --- state ------------------------------------------------------------------------
    def reset(self, *, keep_journal: bool = False) -> None:
        """Forget everything (a shared external broker refuses: :class:`SharedBrokerError`)."""
        if self.endpoint.server is not None and self.isolation is None:
            self.endpoint.server.reset(keep_journal=keep_journal)
            return
        self.client.reset(keep_journal=keep_journal)

    def state(self, *, credentials: bool = False) -> dict[str, Any]:
        """``{"instances": [...], "bindings": [...], "operations": [...]}``.

        The broker's whole state (on a shared broker, everyone's). Records name their
        ids as the journal does (``instance_id``, ``binding_id``) and times are ISO
        8601 strings; ``record["id"]`` still reads, with a :class:`DeprecationWarning`,
        until the next release.
        """
        return self.client.state(credentials=credentials)

    def finish_operation(
        self, operation: str, state: str = "succeeded", description: str | None = None
    ) -> dict[str, Any]:
        """Finish a running asynchronous operation (``manual`` plans wait for this)."""
        return self.client.finish_operation(operation, state, description)

    # --- faults -----------------------------------------------------------------------
    def add_fault(self, rule: Mapping[str, Any] | None = None, /, **keywords: Any) -> str:
        """Install a fault rule; answers its id. The same arguments as
        :meth:`OSBClient.add_fault <broker.client.OSBClient.add_fault>`: a whole rule,
        keywords placed where their names belong, or both::

            osb_broker.add_fault(operation="bind", times=2, status=500)
            osb_broker.add_fault({"match": {"operation": "bind"}, "action": {"status": 500}})

        A misspelled keyword (``opration=``) raises :class:`TypeError` naming the
        closest field (``unknown match field 'opration'; did you mean 'operation'?``).
        """
        return self.client.add_fault(rule, **keywords)

    def faults(self, *, origin: str | None = None) -> list[dict[str, Any]]:
        """Fault rules with their counters (``calls``, ``fired``) and ``origin``.

        Right after a reset the catalog's own rules are there (``"origin": "catalog"``,
        e.g. the ``mock-flaky`` plans'); rules added with :meth:`add_fault` have
        ``"origin": "admin"``. ``origin="admin"`` or ``"catalog"`` lists one kind.
        """
        return self.client.faults(origin=origin)

    def delete_fault(self, rule_id: str) -> None:
        self.client.delete_fault(rule_id)

    def delete_faults(self) -> int:
        """Delete the rules added at run time (the catalog's stay); answer how many.

        On a shared broker: the rules this test added.
        """
        if self.isolation is not None:
            return self.isolation.delete_faults(self.client)
        return self.client.delete_faults()

    # --- journal ----------------------------------------------------------------------
    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Recorded requests, oldest first; filters as ``GET /admin/requests``
        (``operation``, ``instance_id``, ``binding_id``, ``method``, ``status``,
        ``since``, ``limit``, ``wait``). On a shared broker, this test's requests only."""
        if self.isolation is not None:
            return self.isolation.journal(self.client, **filters)
        return self.client.journal(**filters)

    def findings(self, **filters: Any) -> list[dict[str, Any]]:
        """The OSB rules the platform broke (``GET /admin/findings``); filters ``rule``,
        ``level``, ``instance_id``, ``since``. On a shared broker, the findings this
        test's requests show."""
        found = self.client.findings(**filters)
        if self.isolation is None:
            return found
        since = self.isolation.since
        return [f for f in found if any(int(i) > since for i in f["request_ids"])]

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Deprecated name of :meth:`journal` (until the next release)."""
        warn_renamed("osb_broker.requests()", "osb_broker.journal()")
        return self.journal(**filters)

    def wait_for_request(
        self, timeout: float = 10.0, count: int = 1, **filters: Any
    ) -> dict[str, Any]:
        """Wait until ``count`` requests match ``filters``; answer the ``count``-th.

        Raises :class:`AssertionError` naming what did arrive if they do not come in time.
        """
        deadline = time.monotonic() + timeout
        found = self.journal(**filters)
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [
                    f"{entry['method']} {entry['path']} -> {entry['status']}"
                    for entry in self.journal(limit=10)
                ]
                raise AssertionError(
                    f"expected {count} request(s) matching {filters} within {timeout}s, "
                    f"got {len(found)}; the last requests were: {recent or 'none'}"
                )
            since = found[-1]["id"] if found else None
            found += self.journal(since=since, wait=min(remaining, 30.0), **filters)
        return found[count - 1]
