"""How the client reads a JSON body: with orjson, and with ``json`` where the two differ."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["decode_json"]

# Nineteen digits in a row, found by mapping every digit to 9 (a tenth of a regex).
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_DIGITS = b"9" * 19


def decode_json(content: bytes) -> Any:
    """The JSON value of ``content``, as ``json.loads`` reads it; :class:`ValueError`
    (or :class:`UnicodeDecodeError`) if it is not JSON."""
    if _LONG_DIGITS not in content.translate(_DIGITS_AS_NINES):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    # What orjson refuses and ``json`` reads (NaN, a UTF-16 body), or an integer of
    # 19 digits or more, which orjson would turn into a float.
    return json.loads(content)
