"""The controller: passes over the store, one object at a time, until things settle.

A pass reconciles, in this order, brokers (so classes exist), bindings being
deleted (so instances are unblocked), instances, then bindings. An object whose
schedule says "not before T" (a backoff, the next poll, the next relist) waits.
Passes repeat while they change something; ``reconcile(wait=True)`` then sleeps
until the next due time and goes on until every object has settled (Ready or
Failed, nothing in flight, nothing being deleted) or the timeout passes.
"""

from __future__ import annotations

import base64
import binascii
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from broker.client import OSBClient
from broker.controller.conditions import is_true
from broker.controller.kinds import ObjectKey
from broker.controller.secret_volumes import SecretVolumes
from broker.controller.settings import ControllerSettings
from broker.controller.store import State, Store

__all__ = ["AuthError", "Controller", "Progress"]

log = logging.getLogger("broker.controller")

Progress = Callable[[ObjectKey, dict[str, Any]], None]
MAX_PASSES = 50


class AuthError(ValueError):
    """The broker's auth Secret cannot be used."""


@dataclass(frozen=True)
class BrokerAccess:
    client: OSBClient
    name: str


class Controller:
    def __init__(
        self,
        store: Store,
        settings: ControllerSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.volumes = SecretVolumes(settings.volumes_dir)
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.progress = progress
        # Every pass starts by reading the store under its write lock (reconcile_pass).
        self.state = State({})
        # What unsettled() answered at the end of the last reconcile().
        self.waiting: list[str] = []
        self._clients: dict[tuple[Any, ...], OSBClient] = {}

    # --- used by Work ---------------------------------------------------------------------

    def adopt(self, state: State) -> None:
        self.state = state

    def report(self, key: ObjectKey, events: list[dict[str, Any]]) -> None:
        if self.progress is not None:
            for event in events:
                self.progress(key, event)

    # --- broker clients ------------------------------------------------------------------

    def client_for(self, broker: dict[str, Any]) -> OSBClient:
        """A client for a ClusterServiceBroker, with credentials read from its Secret now."""
        spec = broker["spec"]
        auth: dict[str, str] = {}
        info = spec.get("authInfo") or {}
        if "basic" in info:
            data = self._auth_secret(info["basic"]["secretRef"])
            for field in ("username", "password"):
                if field not in data:
                    raise AuthError(f"auth secret didn't contain {field}")
            auth = {"username": data["username"], "password": data["password"]}
        elif "bearer" in info:
            data = self._auth_secret(info["bearer"]["secretRef"])
            if "token" not in data:
                raise AuthError("auth secret didn't contain token")
            auth = {"token": data["token"]}
        verify: bool | ssl.SSLContext = not spec.get("insecureSkipTLSVerify", False)
        bundle = spec.get("caBundle")
        identity = (spec["url"], tuple(sorted(auth.items())), verify, bundle)
        found = self._clients.get(identity)
        if found is None:
            if bundle:
                verify = ssl.create_default_context(cadata=base64.b64decode(bundle).decode())
            found = OSBClient(
                spec["url"],
                username=auth.get("username"),
                password=auth.get("password"),
                token=auth.get("token"),
                api_version=self.settings.api_version,
                timeout=self.settings.request_timeout,
                transport=self.transport,
                verify=verify,
            )
            self._clients[identity] = found
        return found

    def _auth_secret(self, ref: dict[str, Any]) -> dict[str, str]:
        secret = self.state.get(ObjectKey("Secret", ref.get("namespace") or "", ref["name"]))
        if secret is None:
            raise AuthError(f'secrets "{ref["name"]}" not found')
        try:
            return {
                key: base64.b64decode(value).decode()
                for key, value in (secret.get("data") or {}).items()
            }
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError(f'secret "{ref["name"]}" holds data that is not text') from None

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # --- passes --------------------------------------------------------------------------

    def reconcile_pass(self) -> bool:
        """Reconcile every due object once; answers whether anything changed."""
        from broker.controller.bindings import reconcile_binding
        from broker.controller.brokers import collect_removed_catalog_entries, reconcile_broker
        from broker.controller.instances import reconcile_instance

        with self.store.write() as state:
            self.volumes.sync(state)
            collect_removed_catalog_entries(state)
        self.state = state
        before = state.revision, state.event_count
        order: list[tuple[str, Callable[[Controller, dict[str, Any]], None], bool | None]] = [
            ("ClusterServiceBroker", reconcile_broker, None),
            ("ServiceBinding", reconcile_binding, True),
            ("ServiceInstance", reconcile_instance, None),
            ("ServiceBinding", reconcile_binding, False),
        ]
        for kind, reconcile, deleting in order:
            for listed in self.state.list(kind):
                key = ObjectKey(
                    kind, listed["metadata"].get("namespace", ""), listed["metadata"]["name"]
                )
                obj = self.state.get(key)
                if obj is None or (
                    deleting is not None
                    and bool(obj["metadata"].get("deletionTimestamp")) != deleting
                ):
                    continue
                if float(self.state.peek_schedule(key).get("due", 0)) > self.clock():
                    continue
                try:
                    reconcile(self, obj)
                except Exception:  # one broken object must not stop the others
                    log.exception("reconciling %s failed", key)
                    self._note_crash(key)
        latest = self.store.read()
        return (latest.revision, latest.event_count) != before

    def _note_crash(self, key: ObjectKey) -> None:
        with self.store.write() as state:
            if state.get(key) is not None:
                entry = state.schedule(key)
                failures = int(entry.get("failures", 0)) + 1
                entry["failures"] = failures
                entry["due"] = self.clock() + self.settings.retry_delay(failures)
        self.state = state

    def settle_passes(self) -> None:
        """Run passes while they change something (bounded)."""
        for _ in range(MAX_PASSES):
            if not self.reconcile_pass():
                return

    def reconcile(
        self, *, wait: bool = False, timeout: float = 300.0, interval: float = 1.0
    ) -> bool:
        """Reconcile until nothing changes (with ``wait``: until all settled); answers settled.

        What is still unsettled at the end is kept in :attr:`waiting`.
        """
        deadline = self.clock() + timeout
        while True:
            # The lock is held for a burst of passes, not while sleeping: `ctl run` may go on.
            with self.store.reconciling():
                self.settle_passes()
            self.waiting = self.unsettled()
            if not wait or not self.waiting:
                return not self.waiting
            now = self.clock()
            if now >= deadline:
                return False
            self.sleep(max(0.05, min(self.next_due() - now, deadline - now, interval)))

    def run(
        self, *, interval: float = 1.0, should_stop: Callable[[], bool] = lambda: False
    ) -> None:
        """Reconcile forever (until ``should_stop``), sleeping until the next due time."""
        while not should_stop():
            with self.store.reconciling():
                self.settle_passes()
            now = self.clock()
            self.sleep(max(0.05, min(self.next_due() - now, interval)))

    def next_due(self) -> float:
        dues = [
            float(entry["due"])
            for entry in self.store.read().document["schedule"].values()
            if "due" in entry
        ]
        return min(dues, default=self.clock() + 3600)

    # --- settled? -------------------------------------------------------------------------

    def unsettled(self) -> list[str]:
        """Objects still changing: in flight, retrying, polling or being deleted."""
        state = self.store.read()
        waiting: list[str] = []
        for kind in ("ClusterServiceBroker", "ServiceInstance", "ServiceBinding"):
            for obj in state.list(kind):
                reason = _unsettled_reason(kind, obj)
                if reason:
                    name = "/".join(
                        filter(None, [obj["metadata"].get("namespace"), obj["metadata"]["name"]])
                    )
                    waiting.append(f"{kind} {name}: {reason}")
        return waiting


def _unsettled_reason(kind: str, obj: dict[str, Any]) -> str | None:
    status = obj.get("status") or {}
    if obj["metadata"].get("deletionTimestamp"):
        if status.get("deprovisionStatus") == "Failed" or status.get("unbindStatus") == "Failed":
            return None
        return "being deleted"
    ready, failed = is_true(status, "Ready"), is_true(status, "Failed")
    generation = int(obj["metadata"].get("generation", 1))
    if kind == "ClusterServiceBroker":
        done = (ready or failed) and status.get("reconciledGeneration") == generation
    elif kind == "ServiceInstance":
        done = (
            (ready or failed)
            and status.get("observedGeneration") == generation
            and not status.get("currentOperation")
            and not status.get("orphanMitigationInProgress")
        )
    else:
        done = (
            (ready or failed)
            and status.get("reconciledGeneration") == generation
            and not status.get("orphanMitigationInProgress")
        )
    if done:
        return None
    return str(status.get("lastConditionState") or "not processed yet")
