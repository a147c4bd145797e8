"""Logging: JSON or text lines, each carrying the request id it belongs to.

The request id lives in a :mod:`contextvars` variable set by the web layer; a
filter copies it onto every record, so even a backend's log line says which
request caused it. A second filter redacts secrets from every record's extras and
message arguments (passwords, credentials, Authorization headers), which is the
one place that guarantees they never reach a log.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import logging.config
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["REQUEST_ID", "SENSITIVE_KEYS", "configure_logging", "redact", "redact_credentials"]

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "credentials",
        "authorization",
        "secret",
        "token",
        "uri",
        "private_key",
        "key.json",
        "admin_password",
        "bearer_tokens",
    }
)
REDACTED = "[redacted]"
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


# The same few keys come back in every request and log record: remember the verdicts
# (bounded, so arbitrary keys sent by clients cannot grow it without limit).
@functools.lru_cache(maxsize=4096)
def is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return lowered in SENSITIVE_KEYS or any(
        marker in lowered for marker in ("password", "secret", "token", "private_key")
    )


# Values that contain nothing to redact; checked by exact type, before a recursive call.
SCALARS = frozenset({str, int, float, bool, type(None)})


def redact(value: Any) -> Any:
    """A copy of ``value`` with every sensitive key's value replaced."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and is_sensitive(key)
            else item
            if type(item) in SCALARS
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [item if type(item) in SCALARS else redact(item) for item in value]
    return value


def redact_credentials(body: Any) -> Any:
    """Like :func:`redact`, but keep the keys of a ``credentials`` object visible."""
    if isinstance(body, Mapping) and isinstance(body.get("credentials"), Mapping):
        rest = redact({key: value for key, value in body.items() if key != "credentials"})
        return {**rest, "credentials": {key: REDACTED for key in body["credentials"]}}
    return redact(body)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in list(vars(record).items()):
            if key in STANDARD_ATTRIBUTES:
                continue
            if is_sensitive(key):
                setattr(record, key, REDACTED)
            elif isinstance(value, (Mapping, list, tuple)):
                setattr(record, key, redact(value))
        if isinstance(record.args, Mapping):
            record.args = redact(record.args)
        return True


def _handlers(log_format: str) -> dict[str, Any]:
    if log_format == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            # An ISO 8601 UTC "timestamp" field.
            "timestamp": True,
        }
    else:
        formatter = {
            "format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "redact": {"()": RedactingFilter},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id", "redact"],
            }
        },
    }


def logging_config(log_format: str | None, level: str) -> dict[str, Any]:
    """A ``dictConfig`` for the broker and gunicorn (used as gunicorn's logconfig_dict)."""
    chosen = log_format or ("text" if sys.stderr.isatty() else "json")
    config = _handlers(chosen)
    config["root"] = {"handlers": ["stderr"], "level": "WARNING"}
    config["loggers"] = {
        "broker": {"handlers": ["stderr"], "level": level, "propagate": False},
        "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
        # Requests are logged once, by the broker, with their request id.
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    }
    return config


def configure_logging(log_format: str | None, level: str) -> None:
    logging.config.dictConfig(logging_config(log_format, level))
