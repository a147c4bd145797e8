"""Did you mean …? The known name closest to a misspelled one.

Standard library only, so the client and the pytest plugin can use it without
importing the server.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]

# difflib's ratio: 0.6 is its default; typos of short names ("opration") score higher.
CUTOFF = 0.6


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (a typo of it), or ``None`` if none is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=CUTOFF)
    if found:
        return found[0]
    # A different case is still the same name to a reader: "Small" for "small".
    lowered = {choice.lower(): choice for choice in choices}
    return lowered.get(word.lower())


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""``: a message suffix."""
    match = closest(word, list(choices))
    return f"; did you mean {match!r}?" if match is not None else ""
