"""The checks: what one request and its answer say about the platform that sent it.

No Flask here. The web layer describes each OSB request as an :class:`Exchange`
(and, for the few checks that need the state as it was *before* the request, calls
:meth:`Checker.before`); :meth:`Checker.after` answers the rules it broke as
:class:`Sighting` values and keeps in the findings store's watches what later
requests are checked against.

What a request costs: the checks of the request itself are pure; those that look
at the broker's state read one record (fetch, update with a plan, bind with a
predecessor) or one instance's bindings (deprovision); polling and deleting touch
one watch; a request that ends an operation, or deletes a resource, writes one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.catalog.model import Plan, Service
from broker.platform_checks.findings_store import FindingsStore
from broker.platform_checks.rules import RULES, announced_version
from broker.storage import Store

__all__ = ["POLL_TOLERANCE", "Checker", "Exchange", "Sighting"]

# Seconds a poll may come early (before Retry-After passed) or late (after the
# maximum polling duration) without a finding: clocks, rounding of Retry-After to
# whole seconds, and the time the answer took to travel.
POLL_TOLERANCE = 1.0
CREATING = ("provision", "bind")
LAST_OPERATION = ("last_operation", "binding_last_operation")
ASYNC_OPERATIONS = ("provision", "update", "deprovision", "bind", "unbind")
WITH_CONTEXT = ("provision", "update", "bind")
# What the profile requires in the originating identity's value, by platform.
IDENTITY_PROPERTIES = {
    "kubernetes": ("username", "uid", "groups", "extra"),
    "cloudfoundry": ("user_id",),
}
DELETING = ("deprovision", "unbind")


@dataclass(frozen=True)
class Sighting:
    """A rule broken by a request, about one resource."""

    rule: str
    instance_id: str | None
    binding_id: str | None = None
    # Journal ids of earlier requests that show it too (an orphan mitigation's answer).
    request_ids: tuple[int, ...] = ()
    # Replaces the rule's summary when the case deserves a sentence of its own.
    summary: str | None = None


@dataclass
class Exchange:
    """One OSB request and its answer, as the checks see them."""

    operation: str | None
    method: str
    instance_id: str | None
    binding_id: str | None
    version_header: str | None
    query: Mapping[str, str]
    body: dict[str, Any] | None
    identity_platform: str | None
    status: int | None
    response_body: bytes
    retry_after: str | None
    fault: str | None
    # The decoded value of the originating identity, if one was sent.
    identity_value: dict[str, Any] | None = None
    # The journal id of this request (None when the journal is off).
    request_id: int | None = None
    time: float = field(default_factory=time.time)

    @property
    def version(self) -> tuple[int, int] | None:
        return announced_version(self.version_header)

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body) if self.response_body else None
        except ValueError:
            return None


Lookup = Callable[[str], tuple[Service, Plan] | None]


def _resource_key(instance_id: str | None, binding_id: str | None) -> str:
    return f"{instance_id}/{binding_id}" if binding_id else f"{instance_id}"


def _retry_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: the broker sends seconds, so this is not ours
    return seconds if seconds >= 0 else None


class Checker:
    def __init__(
        self, store: Store, findings: FindingsStore, lookup: Lookup, orphan_window: float
    ) -> None:
        self.store = store
        self.findings = findings
        self.lookup = lookup
        self.orphan_window = orphan_window

    # --- before the broker acts ---------------------------------------------------------

    def before(
        self,
        operation: str | None,
        version: tuple[int, int] | None,
        instance_id: str | None,
        binding_id: str | None,
        query: Mapping[str, str],
        body: dict[str, Any] | None,
        now: float,
    ) -> list[Sighting]:
        """The checks that need the state as it is before the request changes it."""
        found: list[Sighting] = []
        if version is None or instance_id is None:
            return found
        if operation == "deprovision" and RULES["deprovision-with-bindings"].applies_to(version):
            live = [b for b in self.store.bindings_of(instance_id) if not b.abandoned]
            if live:
                names = ", ".join(b.id for b in live[:5])
                found.append(
                    Sighting(
                        "deprovision-with-bindings",
                        instance_id,
                        summary=f"deprovisioned an instance that still had {len(live)} "
                        f"binding(s): {names}",
                    )
                )
        elif operation == "update" and body is not None:
            found.extend(self._plan_change(version, instance_id, body))
        elif operation == "bind" and body is not None:
            predecessor = body.get("predecessor_binding_id")
            if isinstance(predecessor, str) and RULES["predecessor-binding"].applies_to(version):
                record = self.store.get_binding(predecessor)
                expired = (
                    record is not None
                    and record.expires_at is not None
                    and (record.expires_at <= now)
                )
                if record is None or record.instance_id != instance_id or expired:
                    found.append(Sighting("predecessor-binding", instance_id, binding_id))
        return found

    def _plan_change(
        self, version: tuple[int, int], instance_id: str, body: dict[str, Any]
    ) -> list[Sighting]:
        plan_id = body.get("plan_id")
        if not isinstance(plan_id, str) or not RULES["plan-not-updateable"].applies_to(version):
            return []
        instance = self.store.get_instance(instance_id)
        if instance is None or instance.plan_id == plan_id:
            return []
        current = self.lookup(instance.plan_id)
        if current is None:
            return []
        service, plan = current
        # A plan's own plan_updateable exists from 2.15 on; before, the offering's decides.
        if version >= (2, 15):
            updateable = plan.plan_updateable
        else:
            updateable = bool(service.doc.get("plan_updateable", False))
        if updateable:
            return []
        return [
            Sighting(
                "plan-not-updateable",
                instance_id,
                summary=f"asked to change plan {plan.name!r} (not plan_updateable) to {plan_id}",
            )
        ]

    # --- after the answer -----------------------------------------------------------------

    def after(self, exchange: Exchange) -> list[Sighting]:
        """The rules ``exchange`` broke; remembers what later requests are checked against."""
        found: list[Sighting] = []
        operation = exchange.operation
        version = exchange.version
        instance_id, binding_id = exchange.instance_id, exchange.binding_id
        if version is None or version[0] != 2 or version[1] < 11:
            found.append(Sighting("version-header", instance_id, binding_id))
            return found
        assert version is not None
        if exchange.identity_platform is not None:
            found.extend(self._identity(exchange, version))
        if operation in WITH_CONTEXT and exchange.body is not None:
            found.extend(self._context(exchange, version))
        if operation == "bind" and exchange.body is not None:
            found.extend(self._bind_plan(exchange, version))
        if operation == "fetch_instance" and RULES["get-not-retrievable"].applies_to(version):
            found.extend(self._fetch_instance(exchange))
        if operation in DELETING:
            found.extend(self._delete(exchange, version))
        if operation in CREATING and exchange.status in (201, 202):
            found.extend(self._reuse(exchange, version))
        polled = None
        if operation in LAST_OPERATION:
            polled = self._poll(exchange, version, found)
        elif operation in ASYNC_OPERATIONS and exchange.status == 202:
            self._operation_started(exchange)
        orphan = self._orphan_answer(exchange, version, polled)
        if orphan is not None:
            self._expect_delete(exchange, orphan)
        return found

    def _identity(self, exchange: Exchange, version: tuple[int, int]) -> list[Sighting]:
        required = IDENTITY_PROPERTIES.get(exchange.identity_platform or "")
        if required is None or not RULES["identity-properties"].applies_to(version):
            return []
        value = exchange.identity_value or {}
        missing = [name for name in required if name not in value]
        if not missing:
            return []
        return [
            Sighting(
                "identity-properties",
                exchange.instance_id,
                exchange.binding_id,
                summary=f"sent a {exchange.identity_platform} originating identity without "
                f"{', '.join(missing)}",
            )
        ]

    def _context(self, exchange: Exchange, version: tuple[int, int]) -> list[Sighting]:
        context = exchange.body.get("context") if exchange.body else None
        if not isinstance(context, dict):
            return []
        ids = (exchange.instance_id, exchange.binding_id)
        platform = context.get("platform")
        if not isinstance(platform, str) or not platform:
            if RULES["context-platform"].applies_to(version):
                return [Sighting("context-platform", *ids)]
            return []
        identity = exchange.identity_platform
        if (
            identity is not None
            and identity != platform
            and RULES["identity-platform-mismatch"].applies_to(version)
        ):
            return [
                Sighting(
                    "identity-platform-mismatch",
                    *ids,
                    summary=f"sent originating identity platform {identity!r} with "
                    f"context.platform {platform!r}",
                )
            ]
        return []

    def _bind_plan(self, exchange: Exchange, version: tuple[int, int]) -> list[Sighting]:
        body = exchange.body or {}
        plan_id = body.get("plan_id")
        resolved = self.lookup(plan_id) if isinstance(plan_id, str) else None
        if resolved is None:
            return []
        _, plan = resolved
        ids = (exchange.instance_id, exchange.binding_id)
        found = []
        if not plan.bindable and RULES["bind-not-bindable"].applies_to(version):
            found.append(
                Sighting(
                    "bind-not-bindable",
                    *ids,
                    summary=f"bound plan {plan.name!r}, which is not bindable",
                )
            )
        rotating = isinstance(body.get("predecessor_binding_id"), str)
        if (
            rotating
            and not plan.binding_rotatable
            and (RULES["binding-not-rotatable"].applies_to(version))
        ):
            found.append(
                Sighting(
                    "binding-not-rotatable",
                    *ids,
                    summary=f"rotated a binding of plan "
                    f"{plan.name!r}, which is not binding_rotatable",
                )
            )
        return found

    def _fetch_instance(self, exchange: Exchange) -> list[Sighting]:
        service_id = exchange.query.get("service_id")
        service = None
        if exchange.instance_id is not None:
            instance = self.store.get_instance(exchange.instance_id)
            if instance is not None:
                resolved = self.lookup(instance.plan_id)
                service = resolved[0] if resolved else None
        if service is None and service_id:
            plan_id = exchange.query.get("plan_id")
            resolved = self.lookup(plan_id) if plan_id else None
            service = resolved[0] if resolved and resolved[0].id == service_id else None
        if service is None or service.instances_retrievable:
            return []
        return [
            Sighting(
                "get-not-retrievable",
                exchange.instance_id,
                summary=f"fetched an instance of {service.name!r}, which is not "
                "instances_retrievable",
            )
        ]

    def _delete(self, exchange: Exchange, version: tuple[int, int]) -> list[Sighting]:
        found = []
        instance_id, binding_id = exchange.instance_id, exchange.binding_id
        query = exchange.query
        if (not query.get("service_id") or not query.get("plan_id")) and RULES[
            "delete-without-ids"
        ].applies_to(version):
            missing = [name for name in ("service_id", "plan_id") if not query.get(name)]
            found.append(
                Sighting(
                    "delete-without-ids",
                    instance_id,
                    binding_id,
                    summary=f"sent a {exchange.operation} request without {' and '.join(missing)}",
                )
            )
        # Any DELETE of the resource is the orphan mitigation the spec asks for. Read
        # first: there is seldom one, and a read costs less than a delete.
        key = f"orphan:{_resource_key(instance_id, binding_id)}"
        pending = self.findings.watch_take(key) if self.findings.watch_get(key) else None
        if pending is not None and float(pending["due"]) < exchange.time:
            found.append(self._late(pending, exchange.time))
        if exchange.status == 200:
            self._gone(exchange)
        return found

    def _gone(self, exchange: Exchange) -> None:
        """Remember a deleted id, for id-reuse."""
        kind = "b" if exchange.binding_id else "i"
        resource = exchange.binding_id or exchange.instance_id
        self.findings.watch_put(
            f"gone:{kind}:{resource}",
            {"deleted": exchange.time, "instance_id": exchange.instance_id},
        )

    def _reuse(self, exchange: Exchange, version: tuple[int, int]) -> list[Sighting]:
        kind = "b" if exchange.binding_id else "i"
        resource = exchange.binding_id or exchange.instance_id
        key = f"gone:{kind}:{resource}"
        deleted = self.findings.watch_take(key) if self.findings.watch_get(key) else None
        if deleted is None or not RULES["id-reuse"].applies_to(version):
            return []
        what = "binding" if exchange.binding_id else "instance"
        return [
            Sighting(
                "id-reuse",
                exchange.instance_id,
                exchange.binding_id,
                summary=f"reused the id of {what} {resource}, deleted before",
            )
        ]

    # --- asynchronous operations -------------------------------------------------------

    def _operation_started(self, exchange: Exchange) -> None:
        answer = exchange.response_json()
        operation = answer.get("operation") if isinstance(answer, dict) else None
        key = f"poll:{_resource_key(exchange.instance_id, exchange.binding_id)}"
        known = self.findings.watch_get(key)
        started = exchange.time
        if (
            known is not None
            and known.get("operation") == operation
            and (known.get("type") == exchange.operation)
        ):
            started = float(known["started"])  # a re-sent request: the same operation
        retry = _retry_seconds(exchange.retry_after)
        self.findings.watch_put(
            key,
            {
                "operation": operation if isinstance(operation, str) else None,
                "type": exchange.operation,
                "started": started,
                "not_before": exchange.time + retry if retry is not None else None,
                "maximum": self._maximum_polling(exchange),
            },
        )

    def _maximum_polling(self, exchange: Exchange) -> int | None:
        plan_id = (exchange.body or {}).get("plan_id") or exchange.query.get("plan_id")
        if not isinstance(plan_id, str) and exchange.instance_id is not None:
            record = self.store.get_instance(exchange.instance_id)
            plan_id = record.plan_id if record is not None else None
        resolved = self.lookup(plan_id) if isinstance(plan_id, str) else None
        return resolved[1].maximum_polling_duration if resolved else None

    def _poll(
        self, exchange: Exchange, version: tuple[int, int], found: list[Sighting]
    ) -> str | None:
        """Check a poll against the operation it polls; answer that operation's type."""
        instance_id, binding_id = exchange.instance_id, exchange.binding_id
        key = f"poll:{_resource_key(instance_id, binding_id)}"
        known = self.findings.watch_get(key)
        if known is None:
            return None
        ids = (instance_id, binding_id)
        now = exchange.time
        if known.get("done") is not None:
            self._after_final(exchange, version, known, found)
            return None
        expected = known.get("operation")
        sent = exchange.query.get("operation")
        if (
            expected is not None
            and sent != expected
            and RULES["operation-echo"].applies_to(version)
        ):
            said = f"operation={sent!r}" if sent is not None else "no operation"
            found.append(
                Sighting(
                    "operation-echo",
                    *ids,
                    summary=f"polled with {said}; the broker had returned operation={expected!r}",
                )
            )
        not_before = known.get("not_before")
        if (
            not_before is not None
            and now < float(not_before) - POLL_TOLERANCE
            and RULES["poll-too-soon"].applies_to(version)
        ):
            found.append(
                Sighting(
                    "poll-too-soon",
                    *ids,
                    summary=f"polled {float(not_before) - now:.1f}s before Retry-After had passed",
                )
            )
        maximum = known.get("maximum")
        if (
            maximum is not None
            and now > float(known["started"]) + float(maximum) + POLL_TOLERANCE
            and RULES["polling-past-maximum-duration"].applies_to(version)
        ):
            found.append(
                Sighting(
                    "polling-past-maximum-duration",
                    *ids,
                    summary=f"polled {now - float(known['started']):.0f}s after the operation "
                    f"began; maximum_polling_duration is {maximum}s",
                )
            )
        answer = exchange.response_json()
        state = answer.get("state") if isinstance(answer, dict) else None
        if exchange.status == 410 or (exchange.status == 200 and state in ("succeeded", "failed")):
            # Kept, marked done: a poll after this one is checked against it.
            self.findings.watch_put(key, {**known, "done": state or "gone", "done_at": now})
            if known.get("type") in DELETING and state != "failed":
                self._gone(exchange)
        elif exchange.status == 200 and state == "in progress":
            retry = _retry_seconds(exchange.retry_after)
            not_before = now + retry if retry is not None else None
            if not_before != known.get("not_before"):
                self.findings.watch_put(key, {**known, "not_before": not_before})
        polled: str | None = known.get("type")
        return polled

    def _after_final(
        self,
        exchange: Exchange,
        version: tuple[int, int],
        known: Mapping[str, Any],
        found: list[Sighting],
    ) -> None:
        ids = (exchange.instance_id, exchange.binding_id)
        if RULES["poll-after-final"].applies_to(version):
            found.append(
                Sighting(
                    "poll-after-final",
                    *ids,
                    summary=f"polled again after the broker answered {known['done']!r} for "
                    f"the {known.get('type')} operation",
                )
            )
        maximum = known.get("maximum")
        if (
            maximum is not None
            and exchange.time > float(known["started"]) + float(maximum) + POLL_TOLERANCE
            and RULES["polling-past-maximum-duration"].applies_to(version)
        ):
            found.append(
                Sighting(
                    "polling-past-maximum-duration",
                    *ids,
                    summary=f"polled {exchange.time - float(known['started']):.0f}s after the "
                    f"operation began; maximum_polling_duration is {maximum}s",
                )
            )

    # --- orphan mitigation -----------------------------------------------------------

    def _orphan_answer(
        self, exchange: Exchange, version: tuple[int, int], polled: str | None
    ) -> str | None:
        """Why the orphan-mitigation table asks for a DELETE after this answer, or None.

        2.15 on: the table by request. 2.13 and 2.14: one table for the requests that
        create something (provision, bind), which is what an orphan can come from.
        """
        if not RULES["orphan-mitigation"].applies_to(version):
            return None
        operation, status = exchange.operation, exchange.status
        recent = version >= (2, 15)
        subjects = ("provision", "deprovision", "bind", "unbind") if recent else CREATING
        if operation in LAST_OPERATION:
            if not recent or exchange.status != 200:
                return None
            answer = exchange.response_json()
            if not isinstance(answer, dict) or answer.get("state") != "failed":
                return None
            if polled in ("provision", "deprovision", "bind", "unbind"):
                return f"last_operation answered failed for {polled}"
            return None
        if operation not in subjects:
            return None
        if status is None:
            return "no answer (timeout)" if operation in CREATING else None
        if status >= 500:
            return f"answered {status}"
        if status == 408 and version == (2, 13):
            return "answered 408"
        if 200 <= status < 300 and status not in (200, 201, 202):
            return f"answered {status}"
        # Only a fault rule makes the broker's own answer malformed: decoding every
        # answer to find out would cost each create a JSON parse.
        if (
            exchange.fault is not None
            and status in (201, 202)
            and operation in CREATING
            and (recent or status == 201)
        ):
            answer = exchange.response_json()
            if not isinstance(answer, dict):
                return f"answered {status} with a malformed body"
        return None

    def _expect_delete(self, exchange: Exchange, reason: str) -> None:
        instance_id, binding_id = exchange.instance_id, exchange.binding_id
        key = f"orphan:{_resource_key(instance_id, binding_id)}"
        request_ids = [exchange.request_id] if exchange.request_id is not None else []
        self.findings.watch_put(
            key,
            {
                "instance_id": instance_id,
                "binding_id": binding_id,
                "reason": reason,
                "operation": exchange.operation,
                "request_ids": request_ids,
                "due": exchange.time + self.orphan_window,
            },
            due=exchange.time + self.orphan_window,
        )

    def _late(self, pending: Mapping[str, Any], now: float) -> Sighting:
        late = now - float(pending["due"]) + self.orphan_window
        return Sighting(
            "orphan-mitigation",
            pending.get("instance_id"),
            pending.get("binding_id"),
            request_ids=tuple(pending.get("request_ids") or ()),
            summary=f"{pending['operation']} {pending['reason']}; no DELETE followed within "
            f"{self.orphan_window:g}s (the first came {late:.0f}s later)",
        )

    def overdue(self, now: float) -> list[Sighting]:
        """Orphan mitigations whose window closed with no DELETE (each reported once)."""
        found = []
        for key, pending in self.findings.take_due(now):
            if not key.startswith("orphan:"):
                continue
            found.append(
                Sighting(
                    "orphan-mitigation",
                    pending.get("instance_id"),
                    pending.get("binding_id"),
                    request_ids=tuple(pending.get("request_ids") or ()),
                    summary=f"{pending['operation']} {pending['reason']}; no DELETE followed "
                    f"within {self.orphan_window:g}s",
                )
            )
        return found
