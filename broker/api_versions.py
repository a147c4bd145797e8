"""The OSB API versions mockbroker knows (2.11 to 2.17), and how one is written.

A module of its own, below both the settings (``BROKER_OSB_VERSION``) and the
protocol rules (:mod:`broker.osb.versions`), so that reading a setting never pulls
in the protocol.
"""

from __future__ import annotations

import re

__all__ = ["KNOWN", "NEWEST", "OLDEST", "Version", "parse_version", "shown"]

Version = tuple[int, int]

OLDEST: Version = (2, 11)
NEWEST: Version = (2, 17)
KNOWN: tuple[Version, ...] = tuple((2, minor) for minor in range(OLDEST[1], NEWEST[1] + 1))

_VERSION = re.compile(r"^\s*2\.(1[1-7])\s*$")


def shown(version: Version) -> str:
    """``(2, 13)`` as ``"2.13"``."""
    return f"{version[0]}.{version[1]}"


def parse_version(text: str) -> Version:
    """``"2.13"`` as ``(2, 13)``; :class:`ValueError` for anything but 2.11 … 2.17."""
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"must be one of {', '.join(shown(v) for v in KNOWN)}, got {text!r}")
    return (2, int(match.group(1)))
