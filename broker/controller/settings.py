"""How the controller behaves: timings, API version, orphan mitigation, where things live.

The defaults are Kubernetes Service Catalog v0.3.1's: polls of ``last_operation``
start after 1 s and double up to 20 min, ignoring ``Retry-After``; failed provisions
and updates back off from 1 s doubling to 20 min; other errors go back to the work
queue, which retries after 5 ms doubling, 15 times, then waits for the next resync
(5 min); the reconciliation retry window is 7 days; brokers without
``relistDuration`` relist every 24 h. Every one of them can be changed (``ctl``'s
flags): a local run may want a shorter window or the broker's ``Retry-After``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ControllerSettings"]

MINUTE = 60.0
DAY = 24 * 60 * MINUTE
# Service Catalog's work queues: 5 ms doubling per failure, 15 tries, then dropped
# until the informers' resync puts the object back.
QUEUE_RETRY_START = 0.005
QUEUE_RETRIES = 15


@dataclass(frozen=True)
class ControllerSettings:
    state_dir: Path = Path(".mockbroker/ctl")
    secrets_dir: Path | None = None
    # X-Broker-API-Version sent to brokers (Service Catalog v0.3.1 sends 2.14).
    api_version: str = "2.14"
    # First poll of last_operation after this many seconds, then doubling up to poll_max.
    poll_start: float = 1.0
    poll_max: float = 20 * MINUTE
    # Poll when the broker's Retry-After says (capped at poll_max); Service Catalog never does.
    honor_retry_after: bool = False
    # Backoff of failed provisions and updates (and catalog fetches): retry_start doubling
    # up to retry_max …
    retry_start: float = 1.0
    retry_max: float = 20 * MINUTE
    # … and the reconciliation retry window: transport errors, async operations still in
    # progress and deprovisions end with ErrorReconciliationRetryTimeout after it.
    retry_duration: float = 7 * DAY
    # When an object's work-queue retries run out, the next try comes with the resync.
    resync_interval: float = 5 * MINUTE
    # Relist period of brokers without relistDuration.
    relist_interval: float = DAY
    # Per-request timeout towards brokers.
    request_timeout: float = 60.0
    # Service Catalog always mitigates orphans; a switch because not everybody wants it.
    orphan_mitigation: bool = True

    @property
    def volumes_dir(self) -> Path:
        """Where Secrets are written as folders, one file per key."""
        return self.secrets_dir if self.secrets_dir is not None else self.state_dir / "secrets"

    def replace(self, **changes: Any) -> ControllerSettings:
        return dataclasses.replace(self, **changes)

    def poll_delay(self, polls: int, retry_after: float | None) -> float:
        """Seconds until the next poll: backoff, or the broker's Retry-After if honoured."""
        if retry_after is not None and self.honor_retry_after:
            return min(max(retry_after, 0.0), self.poll_max)
        return float(min(self.poll_start * 2.0**polls, self.poll_max))

    def retry_delay(self, failures: int) -> float:
        """The backoff after the ``failures``-th failed provision, update or catalog fetch."""
        return float(min(self.retry_start * 2.0 ** max(failures - 1, 0), self.retry_max))

    def queue_delay(self, requeues: int) -> float:
        """The work queue's delay before its ``requeues``-th retry of an object (from 0).

        After :data:`QUEUE_RETRIES` of them the queue drops the object; the resync brings
        it back.
        """
        if requeues >= QUEUE_RETRIES:
            return self.resync_interval
        return QUEUE_RETRY_START * 2.0**requeues
