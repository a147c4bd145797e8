"""Random sources for generated credentials: seeded (reproducible) or from the OS."""

from __future__ import annotations

import random

__all__ = ["rng_for"]


def rng_for(seed: str | None, *parts: str) -> random.Random:
    """A generator for one resource: reproducible from ``seed`` and the ids, else secure.

    Seeding with the resource ids (not a shared sequence) keeps generated values
    independent of request order, so parallel tests get the same credentials too.
    """
    if seed is None:
        return random.SystemRandom()
    return random.Random("/".join((seed, *parts)))
