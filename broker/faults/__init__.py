"""Fault injection: rules that make chosen requests fail, wait, hang or answer oddly.

- :mod:`~broker.faults.shorthand`: the vocabulary (operations, keys) and rules
  written as keywords; standard library only, for the client and the pytest plugin;
- :mod:`~broker.faults.schemas`: how a written rule is checked;
- :mod:`~broker.faults.rules`: a checked rule, typed (:class:`Match`,
  :class:`Trigger`, :class:`Action`);
- :mod:`~broker.faults.engine`: which rule fires for a request, counted in the store;
- :mod:`~broker.faults.answers`: the HTTP answer a rule makes;
- :mod:`~broker.faults.waits`: delays and hangs that end early when they should.

Names are loaded on first use, so ``import broker.faults.shorthand`` stays as light
as the client needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from broker.faults.answers import Answer, error_answer
    from broker.faults.engine import FaultEngine, Fired, RequestTarget
    from broker.faults.rules import Action, FaultRule, Match, Trigger
    from broker.faults.schemas import fault_rule_problems, parse_fault_rule
    from broker.faults.shorthand import FAULT_OPERATIONS, fault_rule
    from broker.faults.waits import FaultWaits

__all__ = [
    "FAULT_OPERATIONS",
    "Action",
    "Answer",
    "FaultEngine",
    "FaultRule",
    "FaultWaits",
    "Fired",
    "Match",
    "RequestTarget",
    "Trigger",
    "error_answer",
    "fault_rule",
    "fault_rule_problems",
    "parse_fault_rule",
]

_HOMES = {
    "FAULT_OPERATIONS": "shorthand",
    "fault_rule": "shorthand",
    "Action": "rules",
    "FaultRule": "rules",
    "Match": "rules",
    "Trigger": "rules",
    "fault_rule_problems": "schemas",
    "parse_fault_rule": "schemas",
    "FaultEngine": "engine",
    "Fired": "engine",
    "RequestTarget": "engine",
    "Answer": "answers",
    "error_answer": "answers",
    "FaultWaits": "waits",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'broker.faults' has no attribute {name!r}")
    return getattr(importlib.import_module(f"broker.faults.{home}"), name)
