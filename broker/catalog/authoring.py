"""What a catalog author is told, in one style.

Every schema an author writes against (the OSB fields, the ``mockbroker:`` knobs,
fault rules) derives from :class:`StrictSchema`: an unknown key is refused and named
with the closest known one. :class:`Choice` does the same for a value out of a fixed
set (``mode: asynch``). :func:`plain` rewords marshmallow's stock messages
("Missing data for required field.") the way the rest of the catalog checks speak:
lowercase, no final full stop, saying what the value must be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, validate

from broker.suggestions import did_you_mean

__all__ = ["Choice", "StrictSchema", "plain", "unknown_field"]

UNKNOWN = "Unknown field."

# marshmallow's stock messages -> ours. Checked in order; the first match wins.
STOCK_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"\Z"), replacement)
    for pattern, replacement in (
        (r"Missing data for required field\.", "is required"),
        (r"Field may not be null\.", "must not be null"),
        (r"Not a valid boolean\.", "must be true or false"),
        (r"Not a valid integer\.", "must be a whole number"),
        (r"Not a valid number\.", "must be a number"),
        (r"Not a valid string\.", "must be a string"),
        (r"Not a valid list\.", "must be a list"),
        (r"Not a valid mapping type\.", "must be a mapping"),
        (r"Invalid input type\.", "must be a mapping"),
        (r"Invalid type\.", "must be a mapping"),
        (r"Unknown field\.", "unknown field"),
        (r"Must be one of: (.*)\.", r"must be one of \1"),
        (
            r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.",
            r"must be from \1 to \2",
        ),
        (r"Must be greater than or equal to (\S+)\.", r"must be at least \1"),
        (r"Must be less than or equal to (\S+)\.", r"must be at most \1"),
        (r"Shorter than minimum length 1\.", "must not be empty"),
        (r"Shorter than minimum length (\d+)\.", r"must be at least \1 characters long"),
        (r"Longer than maximum length (\d+)\.", r"must be at most \1 characters long"),
        (r"String does not match expected pattern\.", "does not have the expected form"),
        (r"Invalid value\.", "is not valid"),
    )
)


def plain(message: str) -> str:
    """``message`` in the catalog checks' style (marshmallow's stock texts reworded)."""
    for pattern, replacement in STOCK_MESSAGES:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def unknown_field(key: object, known: Iterable[str], hint: str = "") -> str:
    """The message for an unknown key: a suggestion, else ``hint`` (default: the known keys)."""
    known = sorted(known)
    suggestion = did_you_mean(key, known)
    if suggestion:
        return "unknown field" + suggestion
    return "unknown field" + (hint or f"; known: {', '.join(known)}")


class StrictSchema(Schema):
    """A schema that refuses unknown keys, naming the closest known one.

    ``unknown_hint`` replaces the list of known keys in the message when none is
    close enough to suggest.
    """

    unknown_hint = ""

    class Meta:
        unknown = RAISE

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        # Nested schemas run this for their own level first, so each level names the
        # keys it knows; the messages are rewritten in place.
        if isinstance(error.messages, dict) and isinstance(data, Mapping):
            known = [field.data_key or name for name, field in self.load_fields.items()]
            for key, messages in error.messages.items():
                if isinstance(messages, list) and UNKNOWN in messages:
                    error.messages[key] = [unknown_field(key, known, self.unknown_hint)]
        raise error


class Choice(validate.OneOf):
    """One of a fixed set of values; a near miss is named (``'asynch'``: ``'async'``)."""

    def __init__(self, choices: Iterable[Any]) -> None:
        super().__init__(choices)

    def __call__(self, value: Any) -> Any:
        if value in self.choices:
            return value
        known = [str(choice) for choice in self.choices]
        raise ValidationError(
            f"must be one of {', '.join(known)}, not {value!r}{did_you_mean(value, known)}"
        )
