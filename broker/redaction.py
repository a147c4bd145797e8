"""The one redaction policy, applied wherever data leaves the broker.

The journal (headers, query, bodies, responses), ``GET /admin/state`` and
``/admin/operations``, the dashboard and every log record go through these
functions, so a secret is hidden the same way everywhere:

* **Keys.** A value whose key names a secret is replaced by :data:`REDACTED`,
  whatever it holds. Keys are compared in lower case with ``-`` read as ``_``; a
  key is sensitive when it is one of :data:`SENSITIVE_KEYS` or contains one of
  :data:`SENSITIVE_PARTS` (``db_password``, ``X-Api-Key``, ``jdbcUrl``,
  ``client_secret``, ``Cookie`` ...).
* **URLs.** In every other string, the user info of a URL is masked
  (``postgresql://app:[redacted]@db:5432/x``; a user alone, which is often a token,
  is masked whole), and so are ``password=``-style parameters
  (``jdbc:postgresql://db/x?user=app&password=[redacted]``).
* **Depth.** The walk is recursive, and request data is at most
  :data:`broker.decoding.MAX_NESTING` levels deep; anything deeper (data written by
  an older version) is cut at :data:`MAX_WALK_DEPTH` with a marker instead of
  overflowing the stack.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_WALK_DEPTH",
    "REDACTED",
    "SENSITIVE_KEYS",
    "SENSITIVE_PARTS",
    "TOO_DEEP",
    "is_sensitive",
    "mask_text",
    "redact",
    "redact_credentials",
]

REDACTED = "[redacted]"
TOO_DEEP = "[nested too deep to show]"
MAX_WALK_DEPTH = 100

SENSITIVE_KEYS = frozenset(
    {
        "uri",
        "dsn",
        "key.json",
        "auth",
        "pass",
        "passphrase",
        "jdbcurl",
        "jdbc_url",
        "connection_string",
        "connectionstring",
    }
)
SENSITIVE_PARTS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
    "access_key",
    "accesskey",
    "credential",
    "authorization",
    "cookie",
)

# scheme://user:password@ or scheme://user@ (a user alone is often a token).
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s:/?#@]*)(?::[^\s/?#@]*)?@"
)
# password=..., token: ... as in JDBC URLs, DSNs and query strings.
_PARAMETER = re.compile(
    r"(?i)(?P<name>\b(?:password|passwd|pwd|secret|token|api_?key|access_?key)\s*[=:]\s*)"
    r"(?P<value>[^\s&;,'\"]+)"
)


# The same few keys come back in every request and log record: remember the verdicts
# (bounded, so arbitrary keys sent by clients cannot grow it without limit).
@functools.lru_cache(maxsize=4096)
def is_sensitive(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return lowered in SENSITIVE_KEYS or any(part in lowered for part in SENSITIVE_PARTS)


def _mask_userinfo(match: re.Match[str]) -> str:
    whole = match.group(0)
    if ":" in whole[len(match.group("scheme")) :]:
        return f"{match.group('scheme')}{match.group('user')}:{REDACTED}@"
    return f"{match.group('scheme')}{REDACTED}@"


def mask_text(text: str) -> str:
    """``text`` with URL user info and ``password=``-style values masked."""
    if "@" in text and "://" in text:
        text = _USERINFO.sub(_mask_userinfo, text)
    if "=" in text or ":" in text:
        text = _PARAMETER.sub(lambda match: match.group("name") + REDACTED, text)
    return text


def _string(text: str) -> str:
    # Most strings hold neither "@" nor "=": two C-level scans, no regex.
    if "@" in text or "=" in text:
        return mask_text(text)
    return text


# Values that contain nothing to redact; checked by exact type, before a recursive call.
SCALARS = frozenset({int, float, bool, type(None)})


def _plain(item: Any) -> bool:
    """Whether ``item`` is returned as it is (no call needed): a number, or a string
    with neither ``@`` nor ``=`` (no URL user info, no ``password=``)."""
    kind = type(item)
    return kind in SCALARS or (kind is str and "@" not in item and "=" not in item)


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with every sensitive key's value replaced and URLs masked."""
    # Exact types first: isinstance() against the Mapping ABC is the slow test. The
    # comprehensions test the common leaves inline: a call per value is what costs.
    kind = type(value)
    if kind is str:
        return _string(value)
    if _depth >= MAX_WALK_DEPTH:
        return TOO_DEEP if kind not in SCALARS else value
    if kind is dict or (kind not in SCALARS and kind is not list and isinstance(value, Mapping)):
        deeper = _depth + 1
        return {
            key: REDACTED
            if type(key) is str and is_sensitive(key)
            else item
            if (leaf := type(item)) in SCALARS
            or (leaf is str and "@" not in item and "=" not in item)
            else redact(item, deeper)
            for key, item in value.items()
        }
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        deeper = _depth + 1
        return [item if _plain(item) else redact(item, deeper) for item in value]
    return value


def redact_credentials(body: Any) -> Any:
    """Like :func:`redact`, but keep the keys of a ``credentials`` object visible."""
    if isinstance(body, Mapping) and isinstance(body.get("credentials"), Mapping):
        rest = redact({key: value for key, value in body.items() if key != "credentials"})
        return {**rest, "credentials": {key: REDACTED for key in body["credentials"]}}
    return redact(body)
