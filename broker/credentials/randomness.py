"""Random sources for generated credentials: seeded (reproducible) or from the OS."""

from __future__ import annotations

import random
import secrets
import string

__all__ = ["new_password", "rng_for"]

PASSWORD_ALPHABET = string.ascii_letters + string.digits


def rng_for(seed: str | None, *parts: str) -> random.Random:
    """A generator for one resource: reproducible from ``seed`` and the ids, else secure.

    Seeding with the resource ids (not a shared sequence) keeps generated values
    independent of request order, so parallel tests get the same credentials too.
    """
    if seed is None:
        return random.SystemRandom()
    return random.Random("/".join((seed, *parts)))


def new_password(length: int = 32) -> str:
    """A password for a real server account: always from the OS, never seeded.

    Letters and digits only (190 bits at 32 characters), so the password needs no
    quoting in a URI, a shell, a connection string or a Redis ACL rule.
    """
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
