"""Grading the platform: every OSB request checked against the rules the spec puts on it.

* :mod:`.rules` — the catalogue (id, level, quoted sentence, section, versions);
* :mod:`.exchange` — what the checks see (a request and its answer) and find;
* :mod:`.routes` — which checks a request gets, by operation and announced version;
* the checks by concern: :mod:`.request_checks` (the request on its own),
  :mod:`.before_checks` (the state before it), :mod:`.polling` (asynchronous
  operations), :mod:`.orphans` (orphan-mitigation windows), :mod:`.deleted_ids`
  (DELETEs and ``id-reuse``); :mod:`.checker` runs them, without Flask;
* :mod:`.findings_store` and :mod:`.stores` — findings shared by every worker and replica;
* :mod:`.hooks` — where the checks meet the request path, and :func:`record_finding`;
* :mod:`.admin_api`, :mod:`.junit`, :mod:`.metrics`, :mod:`.dashboard` — how findings
  are shown.

The public surface is what this module names.
"""

from __future__ import annotations

from broker.platform_checks.checker import Checker
from broker.platform_checks.exchange import Exchange, Sighting
from broker.platform_checks.hooks import (
    RequestFindings,
    record_finding,
    register_platform_checks,
)
from broker.platform_checks.rules import RULES, Rule

__all__ = [
    "RULES",
    "Checker",
    "Exchange",
    "RequestFindings",
    "Rule",
    "Sighting",
    "record_finding",
    "register_platform_checks",
]
