"""Undoing the steps of a backend call that failed half-way."""

from __future__ import annotations

from collections.abc import Callable

from broker.credentials.base import BackendError

__all__ = ["undo_then_fail"]


def undo_then_fail(message: str, undo: Callable[[], object]) -> BackendError:
    """Run ``undo`` and return the :class:`BackendError` to raise for ``message``.

    If undoing fails too, the error says so and what is left, because the server
    now holds something the broker has no record of.
    """
    try:
        undo()
    except Exception as exc:  # any failure here must reach the platform, not hide the first
        return BackendError(f"{message}; undoing the steps already done failed as well ({exc})")
    return BackendError(message)
