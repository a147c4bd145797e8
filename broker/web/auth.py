"""Authentication of the OSB and admin APIs: HTTP Basic (several pairs) or bearer tokens.

Credentials are compared as SHA-256 digests with :func:`hmac.compare_digest`, so
neither the length nor the content of a secret leaks through timing, and every
configured credential is compared on every attempt (no early exit on the first
username match).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

from broker.config import BasicCredential

__all__ = ["Authenticator"]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


class Authenticator:
    def __init__(
        self,
        credentials: Iterable[BasicCredential],
        tokens: Iterable[str] = (),
        realm: str = "mockbroker",
    ) -> None:
        # An empty password is never a credential (the settings refuse one anyway).
        self._basic = [_digest(f"{c.username}:{c.password}") for c in credentials if c.password]
        self._tokens = [_digest(token) for token in tokens]
        self.challenge = f'Basic realm="{realm}"' + (
            f', Bearer realm="{realm}"' if self._tokens else ""
        )

    def accepts(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return self._any(_digest(decoded), self._basic)
        if scheme == "bearer":
            return self._any(_digest(value), self._tokens)
        return False

    @staticmethod
    def _any(candidate: bytes, known: list[bytes]) -> bool:
        found = False
        for digest in known:
            found |= hmac.compare_digest(candidate, digest)
        return found
