"""Grading the platform: every OSB request checked against the rules the spec puts on it.

* :mod:`.rules` — the catalogue (id, level, quoted sentence, section, versions);
* :mod:`.checker` — the checks, without Flask;
* :mod:`.store` and :mod:`.stores` — findings shared by every worker and replica;
* :mod:`.hooks` — where the checks meet the request path, and :func:`record_finding`;
* :mod:`.admin_api`, :mod:`.junit`, :mod:`.metrics` — how findings are shown.
"""

from __future__ import annotations

from broker.platform_checks.hooks import (
    RequestFindings,
    record_finding,
    register_platform_checks,
)

__all__ = ["RequestFindings", "record_finding", "register_platform_checks"]
