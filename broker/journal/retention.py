"""How much the journal keeps: one trim policy, applied by every store.

The journal holds at most ``journal_size`` entries (``BROKER_JOURNAL_SIZE``) and at
most ``journal_max_bytes`` bytes of encoded entries (``BROKER_JOURNAL_MAX_BYTES``),
dropping the oldest first. Counting is exact and happens on every append; bytes are
measured every :data:`CHECK_EVERY` appends on PostgreSQL (a running total) and,
on SQLite, whenever a worker has written 1/64 of the budget since it last looked
(the segment files' sizes); a journal over its byte budget is cut to :data:`TRIM_TO`
of it, so trimming runs seldom and in batches. Every entry is at most
:data:`broker.journal.entries.MAX_ENTRY_BYTES`, so between two checks the journal
outgrows its budget by at most ``CHECK_EVERY`` entries of that size (on SQLite, by
1/64 of it and an entry per worker).

A journal in segment files (:mod:`broker.storage.segment_journal`) drops whole
segments: entries beyond the limits are left out of every answer at once, and their
space goes back to the file system with the last segment that holds them.
"""

from __future__ import annotations

__all__ = [
    "CHECK_EVERY",
    "DEFAULT_MAX_BYTES",
    "MIN_MAX_BYTES",
    "TRIM_TO",
    "bytes_to_free",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MIN_MAX_BYTES = 256 * 1024
CHECK_EVERY = 32
TRIM_TO = 0.9


def bytes_to_free(stored_bytes: int, max_bytes: int) -> int:
    """How many bytes of the oldest entries to drop (0 while within the budget)."""
    if stored_bytes <= max_bytes:
        return 0
    return stored_bytes - int(max_bytes * TRIM_TO)
