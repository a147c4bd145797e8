"""The closest known word to a misspelled one, for "did you mean …?" messages.

One helper for every message that offers a correction (catalog fields, credential
backends, fault operations, knob values, JSON Schema keywords), so they all suggest
the same way. Standard library only: the client may use it too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]

# difflib's similarity ratio a suggestion needs: "plan_updatable" finds
# "plan_updateable" and "bnid" finds "bind", but "sometimes" suggests nothing.
CUTOFF = 0.6


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The known word most like ``word``, or ``None`` when nothing is close."""
    if not isinstance(word, str) or not word:
        return None
    known = [choice for choice in choices if choice != word]
    # Case slips ("Async") are the commonest typo: compare without case first.
    lowered = {choice.lower(): choice for choice in known}
    if word.lower() in lowered:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=CUTOFF)
    return lowered[matches[0]] if matches else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` to append to a message, or ``""`` when nothing is close."""
    suggestion = closest(word, choices)
    return f"; did you mean {suggestion!r}?" if suggestion else ""
