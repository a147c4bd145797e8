"""The OSB request headers: API version and originating identity.

Pure functions over header values; the web layer calls them and raises nothing
itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from broker.decoding import DecodingError, decode_json
from broker.osb.errors import BadRequest, PreconditionFailed
from broker.osb.versions import NEWEST, OLDEST, shown

__all__ = [
    "MAX_VERSION",
    "MIN_VERSION",
    "OriginatingIdentity",
    "check_api_version",
    "parse_originating_identity",
]

# Any 2.x from 2.11 on is accepted (exclusive upper bound); broker.osb.versions says
# how each is answered.
MIN_VERSION = OLDEST
MAX_VERSION = (3, 0)
SUPPORTED = f"{shown(OLDEST)} to 2.x (newest known: {shown(NEWEST)})"
# ASCII digits only, and few of them: int() of a long or non-ASCII number is trouble.
VERSION = re.compile(r"^([0-9]{1,6})\.([0-9]{1,6})$")
# How much of an unusable header value an error message repeats.
SHOWN = 60


def _shown(value: str) -> str:
    """A header value as an error message names it: quoted, escaped, and cut if long."""
    text = repr(value[:SHOWN])
    return text + f" (cut, {len(value)} characters)" if len(value) > SHOWN else text


def check_api_version(value: str | None, missing_status: int = 412) -> tuple[int, int]:
    """Return ``(major, minor)`` of an acceptable ``X-Broker-API-Version``."""
    if value is None or not value.strip():
        message = f"X-Broker-API-Version header is missing; this broker supports {SUPPORTED}"
        if missing_status == 400:
            raise BadRequest(message)
        raise PreconditionFailed(message)
    match = VERSION.match(value.strip())
    if not match:
        raise PreconditionFailed(
            f"X-Broker-API-Version {_shown(value)} is not MAJOR.MINOR; "
            f"this broker supports {SUPPORTED}"
        )
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version < MAX_VERSION:
        raise PreconditionFailed(
            f"X-Broker-API-Version {value} is not supported; this broker supports {SUPPORTED}"
        )
    return version


@dataclass(frozen=True)
class OriginatingIdentity:
    platform: str
    value: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "value": self.value}


def parse_originating_identity(header: str | None) -> OriginatingIdentity | None:
    """Decode ``X-Broker-API-Originating-Identity: <platform> <base64 JSON object>``."""
    if header is None:
        return None
    parts = header.strip().split()
    if len(parts) != 2:
        raise BadRequest(
            "X-Broker-API-Originating-Identity must be '<platform> <base64-encoded JSON object>'"
        )
    platform, encoded = parts
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        decoded = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            "X-Broker-API-Originating-Identity value is not base64-encoded JSON"
        ) from None
    try:
        value = decode_json(decoded)
    except DecodingError as exc:
        if str(exc).startswith("is not valid JSON"):
            raise BadRequest(
                "X-Broker-API-Originating-Identity value is not base64-encoded JSON"
            ) from None
        raise BadRequest(f"X-Broker-API-Originating-Identity value {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest("X-Broker-API-Originating-Identity value must encode a JSON object")
    return OriginatingIdentity(platform, value)
