"""JSON as Go's ``encoding/json`` writes it: the bytes Service Catalog puts in Secrets.

Compact, object keys sorted, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, and every
number printed as a float64 (``5432``, ``1`` for ``1.0``, ``1e+21``, ``1e-7``).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["go_json"]

ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(value: Any) -> str:
    return "".join(_encode(value))


def _encode(value: Any) -> list[str]:
    if value is None:
        return ["null"]
    if value is True:
        return ["true"]
    if value is False:
        return ["false"]
    if isinstance(value, (int, float)):
        return [_number(float(value))]
    if isinstance(value, str):
        return [_string(value)]
    if isinstance(value, dict):
        parts = ["{"]
        for index, key in enumerate(sorted(value, key=str)):
            if index:
                parts.append(",")
            parts.append(_string(str(key)))
            parts.append(":")
            parts.extend(_encode(value[key]))
        parts.append("}")
        return parts
    if isinstance(value, (list, tuple)):
        parts = ["["]
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            parts.extend(_encode(item))
        parts.append("]")
        return parts
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in ESCAPES.items():
        encoded = encoded.replace(char, escape)
    return encoded


def _number(number: float) -> str:
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"unsupported value: {number}")
    magnitude = abs(number)
    if number == 0 or 1e-6 <= magnitude < 1e21:
        text = format(Decimal(repr(number)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa, _, exponent = repr(number).partition("e")
    sign = exponent[0] if exponent[0] in "+-" else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    return f"{mantissa}e{sign}{digits}"
