"""Values as Service Catalog's Go code writes them.

:func:`go_json` is Go's ``encoding/json``, the bytes Service Catalog puts in Secrets:
compact, object keys sorted, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, and every
number printed as a float64 (``5432``, ``1`` for ``1.0``, ``1e+21``, ``1e-7``).

:func:`go_text` is ``fmt.Print`` (``%v``) of a value decoded from JSON, as Kubernetes
JSONPath templates print their results: strings as they are, numbers as float64 in
``%g`` form (``5432``, ``1e+06``), ``true``, ``<nil>``, lists as ``[a b]`` and objects
as ``map[a:x b:1]`` with sorted keys.

:func:`go_json_error` is the message of Go's ``json.Unmarshal`` for a body that does
not decode into an object (``unexpected end of JSON input`` …), or None if it does.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["go_json", "go_json_error", "go_text"]

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


def go_text(value: Any) -> str:
    """``fmt.Sprint(value)`` of a value decoded from JSON (or bytes from a Secret)."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _shortest_g(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return "[" + " ".join(str(byte) for byte in value) + "]"
    if isinstance(value, dict):
        items = (f"{key}:{go_text(value[key])}" for key in sorted(value, key=str))
        return "map[" + " ".join(items) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_text(item) for item in value) + "]"
    return str(value)


def _shortest_g(number: float) -> str:
    """``strconv.FormatFloat(number, 'g', -1, 64)``: %e when the exponent is < -4 or >= 6."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(str(digit) for digit in digits)
    point = len(text) + exponent  # where the decimal point goes among the digits
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        return prefix + _e_form(text, point - 1)
    if point <= 0:
        return prefix + "0." + "0" * -point + text
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return prefix + text[:point] + "." + text[point:]


def _e_form(digits: str, exponent: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number"}


def go_json_error(text: str, target: str = "map[string]interface {}") -> str | None:
    """What Go's ``json.Unmarshal`` says of ``text`` decoded into ``target`` (None: no error).

    ``target`` is an object type: every JSON value but an object or ``null`` is refused.
    """
    stripped = text.strip(" \t\r\n")
    if not stripped:
        return "unexpected end of JSON input"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return _decode_error(text, exc)
    if value is None or isinstance(value, dict):
        return None
    kind = next(
        (name for python, name in JSON_KINDS.items() if isinstance(value, python)), "number"
    )
    if isinstance(value, bool):
        kind = "bool"
    return f"json: cannot unmarshal {kind} into Go value of type {target}"


def _decode_error(text: str, exc: json.JSONDecodeError) -> str:
    position = exc.pos
    if position >= len(text.rstrip(" \t\r\n")) or exc.msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    char = _quote_char(text[position])
    if exc.msg.startswith("Expecting ':'"):
        return f"invalid character {char} after object key"
    if exc.msg.startswith("Expecting ','"):
        context = "object key:value pair" if _inside_object(text, position) else "array element"
        return f"invalid character {char} after {context}"
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if exc.msg.startswith("Extra data"):
        return f"invalid character {char} after top-level value"
    if exc.msg.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    return f"invalid character {char} looking for beginning of value"


def _inside_object(text: str, position: int) -> bool:
    """Whether ``position`` is directly inside an object (not an array), ignoring strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:position]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return bool(stack) and stack[-1] == "{"


def _quote_char(char: str) -> str:
    """Go's ``quoteChar``: ``'x'``, ``'\\''``, ``'"'``, ``'\\n'``."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char)[1:-1] + "'"
