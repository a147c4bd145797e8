"""Where the protocol rules report a platform's deviation they let through.

The broker is lenient where public platforms trip over a stricter reading than the
spec needs: it answers, and reports a finding instead (the rule's stable id, the
resource, a one-line summary). :class:`NoFindings` drops them; the application
factory decides which recorder the broker gets.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["FindingRecorder", "NoFindings"]


class FindingRecorder(Protocol):
    def record(
        self,
        rule: str,
        *,
        instance_id: str | None,
        binding_id: str | None = None,
        summary: str,
    ) -> None:
        """Note that the current request broke ``rule`` (e.g. ``"operation-echo"``)."""


class NoFindings:
    """A recorder that keeps nothing."""

    def record(
        self,
        rule: str,
        *,
        instance_id: str | None,
        binding_id: str | None = None,
        summary: str,
    ) -> None:
        return None
