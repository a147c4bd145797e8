"""The one log line of every request, written for a few microseconds.

Every answered request logs ``METHOD PATH STATUS DURATIONms`` on the
``broker.request`` logger, with ``method``, ``path``, ``status``, ``duration_ms`` and
``operation`` as fields. Going through :mod:`logging` (a ``LogRecord``, two filters,
:class:`~broker.logs.JsonLineFormatter`) cost about ten times as much as writing
it here (48 against 5 µs, measured in a loop); the line of a request is always the
same shape, so when the broker's own JSON handler is the one
configured, :func:`log_request` encodes it here, field by field, and writes it under
that handler's lock: the same bytes, redacted and escaped the same way (the
``RedactingFilter`` rules for strings holding ``@`` or ``=``; JSON string escapes,
ASCII only). Any other configuration (the text format, more handlers, filters added
by someone embedding the broker) gets a ``LogRecord`` as before.
"""

from __future__ import annotations

import functools
import logging
from json.encoder import encode_basestring_ascii
from typing import Any

from broker.logs import (
    JsonLineFormatter,
    LineHandler,
    RedactingFilter,
    RequestIdFilter,
    utc_iso,
)
from broker.redaction import mask_text

__all__ = ["LINE", "log_request"]

log = logging.getLogger("broker.request")

LINE = "%s %s %s %.1fms"
_HEAD = '{"level": "INFO", "logger": "broker.request", "request_id": '


def _masked(text: str) -> str:
    return mask_text(text) if "@" in text or "=" in text else text


def _fast_handler(logger: logging.Logger) -> LineHandler | None:
    """The handler the line goes to, when it is only the broker's own JSON line handler.

    Checked for every line (a handful of attribute reads): logging may be configured
    again at any time, by gunicorn, by a test or by an application embedding the broker.
    """
    if logger.disabled or logger.handlers or logger.filters or not logger.propagate:
        return None
    parent = logger.parent
    if parent is None or parent.filters or parent.propagate or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if (
        type(handler) is not LineHandler
        or type(handler.formatter) is not JsonLineFormatter
        or handler.level > logging.INFO
        or len(handler.filters) != 2
        or type(handler.filters[0]) is not RequestIdFilter
        or type(handler.filters[1]) is not RedactingFilter
    ):
        return None
    return handler


@functools.lru_cache(maxsize=256)
def _request_parts(method: str, path: str, operation: str | None) -> tuple[str, str, str]:
    """What a line says of a request that does not change with its answer, encoded:
    the message's start (open, its closing quote to come), the method and path
    fields, the operation field. Requests repeat these (the catalog's above all)."""
    # As RedactingFilter does: the message's arguments are all masked when one of them
    # holds "@" or "=", each field when it does.
    if "@" in method or "=" in method or "@" in path or "=" in path:
        start = f"{mask_text(method)} {mask_text(path)} "
        method, path = _masked(method), _masked(path)
    else:
        start = f"{method} {path} "
    quoted = encode_basestring_ascii
    # Escaping is character by character: the message's start escaped alone is the
    # start of the whole message escaped (status and duration are plain ASCII).
    return (
        quoted(start)[:-1],
        f'", "method": {quoted(method)}, "path": {quoted(path)}, "status": ',
        f', "operation": {"null" if operation is None else quoted(_masked(operation))}',
    )


# A longer path is encoded for its line alone: the cache keeps the short ones.
CACHED_PATH = 256


def encode_line(
    request_id: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    operation: str | None,
    created: float,
) -> str:
    """The JSON line :class:`~broker.logs.JsonLineFormatter` writes for this request."""
    parts = _request_parts if len(path) <= CACHED_PATH else _request_parts.__wrapped__
    message, fields, operation_field = parts(method, path, operation)
    return (
        f"{_HEAD}{encode_basestring_ascii(_masked(request_id))}, "
        f'"message": {message}{status} {duration_ms:.1f}ms{fields}{status}, '
        f'"duration_ms": {float.__repr__(round(duration_ms, 2))}{operation_field}, '
        f'"timestamp": "{utc_iso(created)}"}}\n'
    )


def log_request(
    request_id: str,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    operation: str | None,
    created: float,
) -> None:
    """Log the line of one answered request (the caller checked INFO is enabled)."""
    handler = _fast_handler(log)
    if handler is None:
        _log_record(method, path, status, duration_ms, operation)
        return
    try:
        line = encode_line(request_id, method, path, status, duration_ms, operation, created)
    except Exception:  # as logging does: a line that cannot be made is reported, not raised
        handler.handleError(_record(method, path, status, duration_ms, operation))
        return
    with handler.lock:  # type: ignore[union-attr]
        try:
            handler.stream.write(line)
            handler.stream.flush()
        except RecursionError:
            raise
        except Exception:
            handler.handleError(_record(method, path, status, duration_ms, operation))


def _record(
    method: str, path: str, status: int, duration_ms: float, operation: str | None
) -> logging.LogRecord:
    # Made here rather than by log.info(): the line's origin is known, and looking
    # it up on the stack for every request is wasted work.
    extra: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration_ms, 2),
        "operation": operation,
    }
    return log.makeRecord(
        log.name,
        logging.INFO,
        __file__,
        0,
        LINE,
        (method, path, status, duration_ms),
        None,
        extra=extra,
    )


def _log_record(
    method: str, path: str, status: int, duration_ms: float, operation: str | None
) -> None:
    log.handle(_record(method, path, status, duration_ms, operation))
