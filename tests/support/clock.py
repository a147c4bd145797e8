"""A clock that tests move by hand, passed to ``create_app(clock=...)``."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """Seconds since the epoch that only change when told: ``clock.advance(5)``."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
