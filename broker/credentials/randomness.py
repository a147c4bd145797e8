"""Random sources for generated credentials: seeded (reproducible) or from the OS."""

from __future__ import annotations

import os
import random
import secrets
import string

__all__ = ["new_password", "random_text", "rng_for"]

PASSWORD_ALPHABET = string.ascii_letters + string.digits


def rng_for(seed: str | None, *parts: str) -> random.Random:
    """A generator for one resource: reproducible from ``seed`` and the ids, else secure.

    Seeding with the resource ids (not a shared sequence) keeps generated values
    independent of request order, so parallel tests get the same credentials too.
    """
    if seed is None:
        return random.SystemRandom()
    return random.Random("/".join((seed, *parts)))


def random_text(rng: random.Random, alphabet: str, size: int) -> str:
    """``size`` characters drawn uniformly from ``alphabet`` (at most 256 of them).

    A seeded generator gives the same text as ever (one ``choice`` per character).
    The OS generator draws all the bytes it needs at once instead of one system call
    per character, keeping a byte only below the largest multiple of the alphabet's
    length, so every character stays equally likely.
    """
    if not isinstance(rng, random.SystemRandom):
        return "".join(rng.choice(alphabet) for _ in range(size))
    count = len(alphabet)
    limit = 256 - 256 % count
    chosen: list[str] = []
    while len(chosen) < size:
        chosen.extend(alphabet[byte % count] for byte in os.urandom(2 * size) if byte < limit)
    return "".join(chosen[:size])


def new_password(length: int = 32) -> str:
    """A password for a real server account: always from the OS, never seeded.

    Letters and digits only (190 bits at 32 characters), so the password needs no
    quoting in a URI, a shell, a connection string or a Redis ACL rule.
    """
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
