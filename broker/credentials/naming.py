"""Server-side names (databases, roles, users, key prefixes) derived from OSB ids.

OSB ids are arbitrary strings chosen by the platform; server names must be short
identifiers that are safe everywhere and never collide. A name is the catalog's
``name_prefix``, a readable slug of the last id (lowercase ASCII letters, digits and
``_``), ``_`` and 12 hex digits of a SHA-256 over all the ids, cut to the server's
limit. The digest keeps names apart when slugs are equal (``A-1`` and ``a_1``) or
were cut short; the same ids always give the same name.
"""

from __future__ import annotations

import hashlib
import json
import re

__all__ = ["DIGEST_LENGTH", "PREFIX_PATTERN", "derived_name"]

DIGEST_LENGTH = 12
# Prefixes are short so that even a 32-character MySQL user name keeps its digest.
PREFIX_PATTERN = r"^[a-z][a-z0-9_]{0,15}$"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def derived_name(prefix: str, *ids: str, limit: int) -> str:
    """``prefix`` + slug of ``ids[-1]`` + ``_`` + digest of ``ids``, at most ``limit`` bytes.

    The result matches ``[a-z][a-z0-9_]*`` when ``prefix`` matches
    :data:`PREFIX_PATTERN`, so it is the same in every server and never needs
    escaping (it is quoted all the same).
    """
    if not ids:
        raise ValueError("derived_name needs at least one id")
    digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:DIGEST_LENGTH]
    if len(prefix) + DIGEST_LENGTH > limit:
        raise ValueError(f"prefix {prefix!r} leaves no room for the digest within {limit} bytes")
    slug = _NOT_SLUG.sub("_", ids[-1].lower()).strip("_")
    room = limit - len(prefix) - DIGEST_LENGTH - 1
    slug = slug[: max(room, 0)].rstrip("_")
    return f"{prefix}{slug}_{digest}" if slug else f"{prefix}{digest}"
