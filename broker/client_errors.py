"""Former home of :mod:`broker.client.errors`; importing it warns (until the next release).

The 4xx classes keep their former names here (``NotFound`` for
:class:`~broker.client.errors.NotFoundError` …).
"""

from __future__ import annotations

from broker.client import errors as _errors
from broker.client.errors import *  # noqa: F403
from broker.client.errors import BY_CODE, BY_STATUS, RENAMED, broker_error
from broker.deprecations import warn_renamed

warn_renamed("the module broker.client_errors", "broker.client (or broker.client.errors)")

__all__ = [*_errors.__all__, *RENAMED, "BY_CODE", "BY_STATUS", "broker_error"]

globals().update({old: getattr(_errors, new) for old, new in RENAMED.items()})
