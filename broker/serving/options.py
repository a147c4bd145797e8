"""The limits of one event-loop worker: gunicorn's configuration and the broker's settings."""

from __future__ import annotations

from typing import Any

from broker.serving.framing import Limits

__all__ = ["MAX_HEAD", "ServingOptions"]

# Request line and headers together (nginx allows 32 KiB; beyond this: 431).
MAX_HEAD = 65536


class ServingOptions:
    """The limits of one worker, from the broker's settings (or defaults)."""

    def __init__(self, cfg: Any, settings: Any) -> None:
        self.header_timeout = float(getattr(settings, "header_timeout", 10))
        self.body_timeout = float(getattr(settings, "body_timeout", 30))
        self.keepalive = float(cfg.keepalive)
        self.max_connections = int(cfg.worker_connections)
        self.threads = int(cfg.threads)
        # A delayed or hung request (or one more beyond the cap, refused at once)
        # steps aside; a few more places cover requests on their way out.
        self.max_waiting = int(getattr(settings, "max_delayed", 100)) + 8
        self.limits = Limits(
            max_head=MAX_HEAD,
            max_body=int(getattr(settings, "max_body_bytes", 1024 * 1024)),
            max_request_line=int(cfg.limit_request_line) or 8190,
        )
        shortest = min(self.header_timeout, self.body_timeout, self.keepalive or 60.0)
        self.sweep_every = max(0.05, min(1.0, shortest / 4))
