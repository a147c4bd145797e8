"""Kubernetes names of classes and plans, derived from OSB ids as Service Catalog does.

``[a-y0-9]`` pass through; ``.`` and ``-`` stay where a DNS subdomain allows them;
every other character (uppercase, ``z`` itself, ``_`` …) becomes ``z<hex>z``. A result
longer than 63 characters is cut to 30 (without a trailing ``.``) and suffixed with
``-`` and the md5 of the raw id. Lowercase GUIDs are therefore unchanged.
"""

from __future__ import annotations

import hashlib

__all__ = ["k8s_name", "label_value"]

MAX_NAME = 63
CUT = 30


def k8s_name(external_id: str) -> str:
    out: list[str] = []
    last = len(external_id) - 1
    for index, char in enumerate(external_id):
        previous = out[-1][-1] if out else ""
        if ("a" <= char <= "y") or ("0" <= char <= "9"):
            out.append(char)
        elif char == "." and 0 < index < last and previous not in (".", "-"):
            out.append(char)
        elif char == "-" and 0 < index < last and previous != ".":
            out.append(char)
        else:
            out.append(f"z{ord(char):x}z")
    name = "".join(out)
    if len(name) > MAX_NAME:
        head = name[:CUT]
        if head.endswith("."):
            head = head[:-1]
        name = f"{head}-{hashlib.md5(external_id.encode()).hexdigest()}"
    return name


def label_value(raw: str) -> str:
    """The value Service Catalog stores in its lookup labels: the hex SHA-224 of ``raw``."""
    return hashlib.sha224(raw.encode()).hexdigest()
