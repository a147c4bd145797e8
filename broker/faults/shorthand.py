"""The keys of a fault rule, and a rule written as keywords.

``add_fault(operation="bind", times=2, status=500)`` means::

    {"match": {"operation": "bind"}, "trigger": {"times": 2}, "action": {"status": 500}}

Standard library only: the client and the pytest plugin build rules with it without
importing the server. :mod:`broker.faults.rules` checks that its schemas declare
exactly these keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from broker.suggestions import closest

__all__ = [
    "ACTION_KEYS",
    "FAULT_OPERATIONS",
    "MATCH_KEYS",
    "SECTIONS",
    "TRIGGER_KEYS",
    "fault_rule",
    "section_of",
    "unknown_key_message",
]

# The operations a rule can match: the endpoint names of the OSB blueprint
# (tests/api/test_fault_operations.py holds the two together).
FAULT_OPERATIONS = (
    "catalog",
    "provision",
    "update",
    "deprovision",
    "fetch_instance",
    "last_operation",
    "bind",
    "unbind",
    "fetch_binding",
    "binding_last_operation",
)
MATCH_KEYS = ("operation", "service", "plan", "instance_id", "binding_id")
TRIGGER_KEYS = ("times", "nth", "after", "probability", "seed")
ACTION_KEYS = (
    "status",
    "error",
    "description",
    "instance_usable",
    "update_repeatable",
    "delay_ms",
    "body",
    "content_type",
    "drop_connection",
    "hang",
    "async_result",
    "phase",
)
SECTIONS: dict[str, tuple[str, ...]] = {
    "match": MATCH_KEYS,
    "trigger": TRIGGER_KEYS,
    "action": ACTION_KEYS,
}


def section_of(key: str) -> str | None:
    """``"match"``, ``"trigger"`` or ``"action"``: where ``key`` belongs (``None``: nowhere)."""
    for section, keys in SECTIONS.items():
        if key in keys:
            return section
    return None


def unknown_key_message(
    key: str, section: str | None = None, known: Iterable[str] | None = None
) -> str:
    """What is wrong with ``key``.

    Given as a keyword (``section`` ``None``, no ``known``): the message names the
    part the closest field belongs to, ``unknown match field 'opration'; did you
    mean 'operation'?``. Found in a rule (its path then precedes the message): in a
    part (``section``), or at the top (``section`` ``None`` and the rule's own keys
    as ``known``), it says where a key of another part belongs, else what the key is
    most like.
    """
    everything = [name for keys in SECTIONS.values() for name in keys]
    if section is None and known is None:
        guess = closest(key, everything)
        if guess is None:
            listed = "; ".join(f"{name}: {', '.join(keys)}" for name, keys in SECTIONS.items())
            return f"unknown fault rule field {key!r} (fields of {listed})"
        return f"unknown {section_of(guess)} field {key!r}; did you mean {guess!r}?"
    home = section_of(key)
    if home is not None and home != section:
        return f"belongs under {home!r}" + (f", not {section!r}" if section else "")
    own = list(known) if known is not None else list(SECTIONS[section or ""])
    guess = closest(key, own)
    if guess is not None:
        return f"unknown field; did you mean {guess!r}?"
    guess = closest(key, everything)
    if guess is not None:
        return f"unknown field; did you mean the {section_of(guess)} field {guess!r}?"
    return f"unknown field; known: {', '.join(sorted(own))}"


def fault_rule(rule: Mapping[str, Any] | None = None, /, **keywords: Any) -> dict[str, Any]:
    """A fault rule from a whole ``rule`` mapping, keywords, or both.

    Each keyword goes to the section its name belongs to (``operation`` to
    ``match``, ``times`` to ``trigger``, ``status`` to ``action`` …); a keyword that
    belongs nowhere raises :class:`TypeError` saying what it is most like, and so
    does a keyword that contradicts the mapping. The mapping itself is sent as is:
    the broker checks it and names every problem.
    """
    built: dict[str, Any] = dict(rule) if rule is not None else {}
    for key, value in keywords.items():
        section = section_of(key)
        if section is None:
            raise TypeError(unknown_key_message(key))
        current = built.get(section)
        part = dict(current) if isinstance(current, Mapping) else {}
        if key in part and part[key] != value:
            raise TypeError(
                f"{key}={value!r} contradicts the rule's {section}.{key} ({part[key]!r})"
            )
        part[key] = value
        built[section] = part
    return built
