"""mockbroker's admin API (``/admin/...``): reset, state, journal, fault rules, operations.

::

    from broker.client import AdminClient

    with AdminClient("http://127.0.0.1:8080", username="broker", password="broker") as admin:
        admin.add_fault(operation="bind", times=1, status=500)
        for entry in admin.iter_journal(operation="bind"):
            print(entry["status"])

The paged endpoints have iterators that follow the broker's cursors until the end:
:meth:`AdminClient.iter_journal` (``/admin/requests``, ``next``),
:meth:`AdminClient.iter_state` (``/admin/state``) and
:meth:`AdminClient.iter_operations` (``/admin/operations``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from broker.client.admin_requests import AdminRequests, admin_member
from broker.deprecations import RenamedKeys
from broker.faults.shorthand import fault_rule

__all__ = ["AdminClient"]


class AdminClient(AdminRequests):
    """Calls one broker's ``/admin`` API with the admin credentials.

    ``AdminClient(base_url, username=..., password=...)`` opens its own connection;
    ``connection=`` shares one (as :class:`~broker.client.OSBClient` does).
    """

    # --- state ------------------------------------------------------------------------
    def reset(self, *, keep_journal: bool = False) -> None:
        """``POST /admin/reset``: forget every instance, binding, operation and runtime fault."""
        self._admin(
            "POST", "/admin/reset", body={"keep_journal": keep_journal}, expected=(200, 204)
        )

    def state(self, *, credentials: bool = False) -> dict[str, Any]:
        """``GET /admin/state``, its first page: ``{"instances", "bindings", "operations"}``.

        Records use the journal's names and times: an instance's id is
        ``instance_id``, a binding's ``binding_id``, times are ISO 8601 strings. The
        old ``id`` key still reads (with a :class:`DeprecationWarning`) until the next
        release. A broker holding more than a page answers ``next`` too:
        :meth:`iter_state` reads every page.
        """
        return self._state_page({"credentials": "true"} if credentials else {})

    def _state_page(self, params: Mapping[str, Any]) -> dict[str, Any]:
        state = self._admin_object("GET", "/admin/state", params=params or None)
        for key, new, what in (
            ("instances", "instance_id", "an instance of state()"),
            ("bindings", "binding_id", "a binding of state()"),
        ):
            records = state.get(key)
            if isinstance(records, list):
                state[key] = [
                    RenamedKeys(record, {"id": new}, what) if isinstance(record, dict) else record
                    for record in records
                ]
        return state

    def iter_state(
        self, *, credentials: bool = False, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page of ``GET /admin/state``, following ``next`` until the last.

        Each page is a dict like :meth:`state` answers: instances and bindings continue
        in creation order from page to page, operations go back in time (each page
        oldest first). ``page_size`` is the broker's ``limit`` (its default: 1000).
        """
        params: dict[str, Any] = {"limit": page_size}
        if credentials:
            params["credentials"] = "true"
        while True:
            page = self._state_page(params)
            yield page
            cursor = page.get("next")
            if not isinstance(cursor, str) or not cursor:
                return
            params = {**params, "cursor": cursor}

    def operations(self, *, state: str | None = None) -> list[dict[str, Any]]:
        """``GET /admin/operations``: the newest page of operations, oldest first."""
        found: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/operations", "operations", list, params={"state": state}
        )
        return found

    def iter_operations(
        self, *, state: str | None = None, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every operation (``state="in progress"`` …), newest first, a page at a time."""
        params: dict[str, Any] = {"state": state, "limit": page_size}
        while True:
            status, page = self._admin("GET", "/admin/operations", params=params)
            operations = admin_member("GET", "/admin/operations", status, page, "operations", list)
            yield from reversed(operations)
            cursor = page.get("next")
            if not isinstance(cursor, str) or not cursor:
                return
            params = {**params, "cursor": cursor}

    def finish_operation(
        self, operation: str, state: str, description: str | None = None
    ) -> dict[str, Any]:
        """``POST /admin/operations/<operation>``: finish a manual async operation.

        ``state`` is ``"succeeded"`` or ``"failed"``; :class:`NotFoundError` for an
        unknown operation, :class:`ConflictError` if it already finished.
        """
        body = {"state": state}
        if description is not None:
            body["description"] = description
        return self._admin_object("POST", f"/admin/operations/{operation}", body=body)

    def put_catalog(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /admin/catalog``: replace the catalog; :class:`BadRequestError` lists every
        problem."""
        return self._admin_object("PUT", "/admin/catalog", body=dict(document))

    # --- platform findings ------------------------------------------------------------
    def findings(
        self,
        *,
        rule: str | None = None,
        level: str | None = None,
        instance_id: str | None = None,
        since: str | datetime | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /admin/findings``: the OSB rules the platform broke, a finding per rule
        and resource (``rule``, ``level``, ``summary``, ``request_ids``, ``count`` …).

        ``rule`` and ``level`` take one value or several, comma-separated.
        """
        params = {
            "rule": rule,
            "level": level,
            "instance_id": instance_id,
            "since": since.isoformat() if isinstance(since, datetime) else since,
        }
        found: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/findings", "findings", list, params=params
        )
        return found

    # --- journal ----------------------------------------------------------------------
    def journal(
        self,
        *,
        operation: str | None = None,
        instance_id: str | None = None,
        binding_id: str | None = None,
        method: str | None = None,
        status: int | None = None,
        since: int | str | datetime | None = None,
        limit: int | None = None,
        wait: float | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /admin/requests``: the journal of requests, oldest first.

        ``since`` is a journal id (exclusive) or a time; ``wait`` long-polls up to that
        many seconds until at least one request matches; ``limit`` keeps the newest
        ones (with ``since``: the first ones after it).
        """
        params = {
            "operation": operation,
            "instance_id": instance_id,
            "binding_id": binding_id,
            "method": method,
            "status": status,
            "since": since.isoformat() if isinstance(since, datetime) else since,
            "limit": limit,
            "wait": wait,
        }
        return self._journal_page(params, wait)[0]

    def _journal_page(
        self, params: Mapping[str, Any], wait: float | None
    ) -> tuple[list[dict[str, Any]], Any]:
        """One page of entries and the ``next`` cursor the broker gave (or None)."""
        timeout = self.connection.timeout + wait if wait else None
        status, found = self._admin("GET", "/admin/requests", params=params, timeout=timeout)
        entries = admin_member("GET", "/admin/requests", status, found, "requests", list)
        return entries, found.get("next")

    def iter_journal(
        self,
        *,
        since: int | str | datetime = 0,
        page_size: int | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every journal entry after ``since`` (default: all), oldest first, up to the
        newest when the iteration starts.

        Filters as :meth:`journal` (``operation``, ``instance_id``, ``binding_id``,
        ``method``, ``status``); the iterator reads one page (``page_size`` entries,
        the broker's default 1000) at a time and follows the broker's ``next``. It
        stops at the entry that was newest when it started, so that its own requests
        (journaled when the broker journals admin requests) never keep it going.
        """
        unknown = set(filters) - {"operation", "instance_id", "binding_id", "method", "status"}
        if unknown:
            raise TypeError(f"iter_journal() got unexpected filters: {', '.join(sorted(unknown))}")
        newest = self.journal(limit=1)
        if not newest:
            return
        last = int(newest[-1]["id"])
        cursor: Any = since.isoformat() if isinstance(since, datetime) else since
        while True:
            params = {**filters, "since": cursor, "limit": page_size}
            entries, following = self._journal_page(params, None)
            for entry in entries:
                if int(entry["id"]) > last:
                    return
                yield entry
            if following is None:
                return
            cursor = following

    # --- fault rules ------------------------------------------------------------------
    def add_fault(self, rule: Mapping[str, Any] | None = None, /, **keywords: Any) -> str:
        """``POST /admin/faults``: install a fault rule; answers its id.

        Give a whole rule (``{"match": ..., "trigger": ..., "action": ...}``), keywords,
        or both: each keyword goes where its name belongs, match keys (``operation``,
        ``service``, ``plan``, ``instance_id``, ``binding_id``), trigger keys
        (``times``, ``nth``, ``after``, ``probability``, ``seed``) or action keys
        (``status``, ``error``, ``description``, ``delay_ms`` …)::

            client.add_fault(operation="bind", times=2, status=500)
            client.add_fault({"match": {"operation": "bind"}}, status=500)

        A keyword that is no rule field raises :class:`TypeError` saying what it is
        most like; the broker refuses an invalid rule with :class:`BadRequestError`.
        """
        body = fault_rule(rule, **keywords)
        rule_id = self._admin_member(
            "POST", "/admin/faults", "id", object, body=body, expected=(200, 201)
        )
        return str(rule_id)

    def faults(self, *, origin: str | None = None) -> list[dict[str, Any]]:
        """``GET /admin/faults``: every rule with its counters (``calls``, ``fired``).

        Each rule has an ``origin``: ``"admin"`` if it was added at run time,
        ``"catalog"`` if the catalog declares it (those are there from the start and
        come back with every reset). ``origin=`` lists only one kind.
        """
        rules: list[dict[str, Any]] = self._admin_member(
            "GET", "/admin/faults", "faults", list, params={"origin": origin}
        )
        return rules

    def delete_fault(self, rule_id: str) -> None:
        """``DELETE /admin/faults/<id>``."""
        self._admin("DELETE", f"/admin/faults/{rule_id}", expected=(200, 204))

    def delete_faults(self, *, origin: str = "admin") -> int:
        """``DELETE /admin/faults``: remove the rules added at run time; answers how many.

        ``origin="catalog"`` removes the catalog's own rules (until a reset or a new
        catalog brings them back), ``origin="all"`` both kinds.
        """
        found = self._admin_member(
            "DELETE", "/admin/faults", "deleted", int, params={"origin": origin}
        )
        return int(found)
