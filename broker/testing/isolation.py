"""Tests that share a broker with others: nothing is reset, each test keeps to its own.

Against an external broker (``--osb-broker-url``) the plugin never resets anything
unless told to (``--osb-reset-external``): the broker may hold instances someone
made by hand, or serve other test runs at the same time. Instead, each test gets an
:class:`Isolation`:

* every request its client sends carries ``X-Correlation-ID: <tag>``, a tag of its
  own, which the journal records: the test's journal queries see the requests that
  carry it and were recorded after the test began, nothing else (other tests, other
  pytest-xdist workers, what happened before);
* the ids it asks for (``new_instance_id()``, ``new_binding_id()``) are unique;
* what it created through its client is removed when it ends: the fault rules it
  added, then its bindings and instances, newest first, as a platform would
  (unbind, deprovision), finishing any operation still running on them first.

What the test creates by other means (another HTTP client, the platform under test)
is neither seen nor removed unless those requests carry :attr:`Isolation.headers`.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from broker.client import AdminClient, ConflictError, NotFoundError, OSBClient, OSBClientError

__all__ = [
    "CORRELATION_HEADER",
    "BrokerCleanupWarning",
    "Isolation",
    "SharedAdminClient",
    "SharedBrokerClient",
    "SharedBrokerError",
]

CORRELATION_HEADER = "X-Correlation-ID"
# Journal pages read at a time while looking for a test's own requests.
PAGE = 1000
# Cleanup tries a delete this often: a fault rule of the catalog may fail the first ones.
ATTEMPTS = 3
RESOURCE = re.compile(r"^/v2/service_instances/([^/]+)(?:/service_bindings/([^/]+))?$")
CLEANUP = "ended by the test's cleanup"
OPT_IN = (
    "pass --osb-reset-external (or set osb_reset_external = true in the pytest ini file) "
    "to reset the external broker before each test instead"
)


class Endpoint(Protocol):
    """Where a broker listens and how to log in (``BrokerEndpoint``)."""

    @property
    def url(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def admin_username(self) -> str: ...
    @property
    def admin_password(self) -> str: ...


class SharedBrokerError(RuntimeError):
    """What would change the broker for everyone using it, refused without the opt-in."""


class BrokerCleanupWarning(UserWarning):
    """Something a test created on a shared broker could not be removed."""


class SharedAdminClient(AdminClient):
    """The admin client of a test on a shared broker: what would change the broker for
    every other user of it (and for what was there before) is refused."""

    def reset(self, *, keep_journal: bool = False) -> None:
        raise SharedBrokerError(
            f"reset() would wipe the external broker {self.base_url}, shared with "
            f"whatever else uses it; {OPT_IN}"
        )

    def put_catalog(self, document: Mapping[str, Any]) -> dict[str, Any]:
        raise SharedBrokerError(
            f"put_catalog() would replace the catalog of the external broker "
            f"{self.base_url} for everyone, and only a reset restores it; {OPT_IN}"
        )

    def delete_faults(self, *, origin: str = "admin") -> int:
        raise SharedBrokerError(
            f"delete_faults() would remove the fault rules of everyone using the external "
            f"broker {self.base_url}; osb_broker.delete_faults() removes this test's own "
            "(and they go when the test ends anyway)"
        )


class SharedBrokerClient(OSBClient):
    """The client of a test on a shared broker (see :class:`Isolation`).

    Every request carries the test's tag and tells the isolation what it creates.
    ``reset()``, ``put_catalog()`` and ``delete_faults()`` are refused
    (:class:`SharedAdminClient`).
    """

    admin_class = SharedAdminClient

    def __init__(self, *args: Any, isolation: Isolation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.isolation = isolation
        self.connection.headers = isolation.headers
        self.connection.observer = isolation


@dataclass
class Made:
    """An instance or a binding a test created."""

    instance_id: str
    binding_id: str | None
    service_id: str
    plan_id: str

    def __str__(self) -> str:
        if self.binding_id is None:
            return f"instance {self.instance_id}"
        return f"binding {self.binding_id} of instance {self.instance_id}"


class Isolation:
    """One test's footprint on a shared broker: its tag, its journal, what it made."""

    def __init__(self) -> None:
        self.tag = f"pytest-{uuid.uuid4().hex[:16]}"
        # The newest journal id when the test began: its requests come after.
        self.since = 0
        self._made: dict[tuple[str, str | None], Made] = {}
        self._faults: list[str] = []
        self._generated: set[str] = set()
        self._mutex = threading.Lock()
        self._closed = False

    # --- what the test's client sends and sees -----------------------------------------
    @property
    def headers(self) -> dict[str, str]:
        """Headers that make a request part of this test (send them from any client)."""
        return {CORRELATION_HEADER: self.tag}

    def client(self, endpoint: Endpoint, **options: Any) -> SharedBrokerClient:
        """The test's client for ``endpoint``."""
        return SharedBrokerClient(
            endpoint.url,
            username=endpoint.username,
            password=endpoint.password,
            admin_username=endpoint.admin_username,
            admin_password=endpoint.admin_password,
            isolation=self,
            **options,
        )

    def begin(self, client: OSBClient) -> None:
        """Note where the journal stands: the test's requests are the ones after."""
        newest = client.journal(limit=1)
        self.since = int(newest[-1]["id"]) if newest else 0

    def new_id(self) -> str:
        """A fresh id (a UUID, as platforms use) that the test owns."""
        fresh = str(uuid.uuid4())
        with self._mutex:
            self._generated.add(fresh)
        return fresh

    def sending(self, method: str, path: str, body: Any) -> None:
        """Before a request: an id the test was given is the test's even if the answer
        never comes (a dropped connection, a fault that answers 500 after acting)."""
        found = RESOURCE.search(path)
        if self._closed or method != "PUT" or found is None:
            return
        instance_id, binding_id = found.groups()
        if (binding_id or instance_id) in self._generated:
            self._remember(instance_id, binding_id, body)

    def answered(self, method: str, path: str, body: Any, response: httpx.Response) -> None:
        """After a request: what it created, changed or removed."""
        if self._closed:
            return
        status = response.status_code
        if method == "POST" and path == "/admin/faults" and status == 201:
            rule_id = _json_object(response.content).get("id")
            if isinstance(rule_id, str):
                with self._mutex:
                    self._faults.append(rule_id)
            return
        found = RESOURCE.search(path)
        if found is None:
            return
        instance_id, binding_id = found.groups()
        if method == "PUT" and status in (201, 202):
            self._remember(instance_id, binding_id, body)
        elif method == "PATCH" and status in (200, 202) and binding_id is None:
            plan_id = body.get("plan_id") if isinstance(body, dict) else None
            made = self._made.get((instance_id, None))
            if made is not None and isinstance(plan_id, str):
                made.plan_id = plan_id
        elif method == "DELETE" and status in (200, 410):
            with self._mutex:
                self._made.pop((instance_id, binding_id), None)

    def _remember(self, instance_id: str, binding_id: str | None, body: Any) -> None:
        if not isinstance(body, dict):
            return
        service_id, plan_id = body.get("service_id"), body.get("plan_id")
        if not isinstance(service_id, str) or not isinstance(plan_id, str):
            return
        with self._mutex:
            self._made.setdefault(
                (instance_id, binding_id), Made(instance_id, binding_id, service_id, plan_id)
            )

    # --- the journal ----------------------------------------------------------------------
    def owns(self, entry: Mapping[str, Any]) -> bool:
        """Whether a journal entry is one of this test's requests."""
        if int(entry.get("id", 0)) <= self.since:
            return False
        headers = entry.get("headers") or {}
        tag = next(
            (value for name, value in headers.items() if name.lower() == "x-correlation-id"),
            None,
        )
        return tag == self.tag or entry.get("request_id") == self.tag

    def journal(self, client: OSBClient, **filters: Any) -> list[dict[str, Any]]:
        """``client.journal(**filters)`` of this test's own requests.

        ``since``, ``limit`` and ``wait`` mean what they mean for the whole journal:
        ``limit`` keeps the newest (with ``since``: the first) of the test's entries,
        ``wait`` waits until one of the test's requests matches.
        """
        since = filters.pop("since", None)
        limit = filters.pop("limit", None)
        wait = filters.pop("wait", None)
        cursor: Any = since if since is not None else self.since
        if isinstance(cursor, int) or (isinstance(cursor, str) and cursor.isdigit()):
            cursor = max(int(cursor), self.since)
        deadline = time.monotonic() + float(wait or 0)
        own: list[dict[str, Any]] = []
        while True:
            page = client.journal(since=cursor, limit=PAGE, **filters)
            if page:
                own.extend(entry for entry in page if self.owns(entry))
                cursor = int(page[-1]["id"])
                continue
            remaining = deadline - time.monotonic()
            if own or remaining <= 0:
                break
            # Wakes on the next matching request of anyone; the loop reads and sorts it.
            client.journal(since=cursor, limit=1, wait=min(remaining, 30.0), **filters)
        if limit is not None:
            own = own[: int(limit)] if since is not None else own[-int(limit) :]
        return own

    # --- cleanup --------------------------------------------------------------------------
    def delete_faults(self, client: OSBClient) -> int:
        """Delete the fault rules this test added; answer how many were still there."""
        with self._mutex:
            rules, self._faults = self._faults, []
        deleted = 0
        for rule_id in reversed(rules):
            try:
                client.delete_fault(rule_id)
                deleted += 1
            except NotFoundError:
                pass
        return deleted

    def cleanup(self, client: OSBClient) -> list[str]:
        """Remove what the test made; answer what could not be removed."""
        self._closed = True
        problems: list[str] = []
        try:
            self.delete_faults(client)
        except OSBClientError as exc:
            problems.append(f"its fault rules: {exc}")
        made = list(self._made.values())
        if not made:
            return problems
        try:
            running = client.operations(state="in progress")
        except OSBClientError as exc:
            running = []
            problems.append(f"listing the running operations: {exc}")
        for item in reversed(made):
            problem = self._remove(client, item, running)
            if problem is not None:
                problems.append(problem)
        return problems

    def _remove(self, client: OSBClient, item: Made, running: list[dict[str, Any]]) -> str | None:
        for operation in running:
            if operation.get("instance_id") != item.instance_id:
                continue
            if item.binding_id is not None and operation.get("binding_id") != item.binding_id:
                continue
            # A delete already under way may as well succeed; anything else is moot.
            ending = "succeeded" if operation.get("type") in ("deprovision", "unbind") else "failed"
            _finish(client, str(operation.get("id")), ending)
        error: OSBClientError | None = None
        for _ in range(ATTEMPTS):
            try:
                if item.binding_id is None:
                    answer = client.deprovision(
                        item.instance_id, item.service_id, item.plan_id, accepts_incomplete=True
                    )
                else:
                    answer = client.unbind(
                        item.instance_id,
                        item.binding_id,
                        item.service_id,
                        item.plan_id,
                        accepts_incomplete=True,
                    )
            except OSBClientError as exc:
                error = exc
                continue
            if answer.status == 202 and answer.operation:
                _finish(client, answer.operation, "succeeded")
            return None
        return f"{item}: {error}"


def _finish(client: OSBClient, operation: str, state: str) -> None:
    try:
        client.finish_operation(operation, state, CLEANUP)
    except (NotFoundError, ConflictError):
        pass  # finished meanwhile, or gone with its instance


def _json_object(content: bytes) -> dict[str, Any]:
    """The JSON object in ``content``; ``{}`` for anything else (the client reports it)."""
    try:
        found = json.loads(content or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
