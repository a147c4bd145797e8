"""Store URLs as they may be shown: in messages, logs and the start-up banner."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["redacted_url"]

HIDDEN = "***"


def redacted_url(url: str) -> str:
    """``url`` with its password (user info or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    in_query = any(key == "password" for key, _ in query)
    if password is None and not in_query:
        return url
    if password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:{HIDDEN}@{host}")
    if in_query:
        hidden = [(key, HIDDEN if key == "password" else value) for key, value in query]
        parts = parts._replace(query=urlencode(hidden, safe="*"))
    return urlunsplit(parts)
