"""How the controller behaves: timings, API version, orphan mitigation, where things live.

Service Catalog's defaults are days and hours (a 7-day retry window, a 20-minute
poll cap, a 24-hour relist); locally they are seconds and minutes. The shape is
kept: polls start after 1 s and double, retries back off exponentially.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ControllerSettings"]


@dataclass(frozen=True)
class ControllerSettings:
    state_dir: Path = Path(".mockbroker/ctl")
    secrets_dir: Path | None = None
    # X-Broker-API-Version sent to brokers (Service Catalog v0.3.1 sends 2.14).
    api_version: str = "2.14"
    # First poll of last_operation after this many seconds, then doubling up to poll_max.
    poll_start: float = 1.0
    poll_max: float = 10.0
    # Backoff of failed calls: retry_start doubling up to retry_max …
    retry_start: float = 1.0
    retry_max: float = 30.0
    # … for at most this long, then a terminal ErrorReconciliationRetryTimeout (7 days there).
    retry_duration: float = 600.0
    # Relist period of brokers without relistDuration (24 h in Service Catalog).
    relist_interval: float = 900.0
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
        """Seconds until the next poll: the broker's Retry-After if it sent one, else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.poll_max)
        return float(min(self.poll_start * 2.0**polls, self.poll_max))

    def retry_delay(self, failures: int) -> float:
        return float(min(self.retry_start * 2.0 ** max(failures - 1, 0), self.retry_max))
