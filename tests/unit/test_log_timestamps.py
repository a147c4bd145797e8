"""The log line's and the journal entry's times, written without a datetime, are
exactly what datetime writes for the same instant."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from broker.logs import utc_iso, utc_iso_milliseconds

EDGES = [
    0.0,
    -1.5,
    1.0,
    1_767_323_045.0,
    1_767_323_045.678,
    1_767_323_045.9999996,  # rounds up into the next second
    1_767_323_045.0000004,
    1_767_323_045.0000005,  # half a microsecond: to even
    1_767_323_045.0000015,
    1_767_323_045.9995,
    4_102_444_799.999999,
]


def _instants() -> list[float]:
    chosen = random.Random(1234)
    spread = [chosen.uniform(0, 4e9) for _ in range(5000)]
    whole_micros = [
        chosen.randint(0, 4 * 10**9) + chosen.randint(0, 10**6) / 1e6 for _ in range(5000)
    ]
    halves = [
        chosen.randint(0, 4 * 10**9) + chosen.randint(0, 2 * 10**6) * 5e-7 for _ in range(5000)
    ]
    return EDGES + spread + whole_micros + halves


@pytest.mark.parametrize("chunk", range(4))
def test_times_are_what_datetime_writes(chunk: int) -> None:
    instants = _instants()[chunk::4]
    for epoch in instants:
        moment = datetime.fromtimestamp(epoch, UTC)
        assert utc_iso(epoch) == moment.isoformat(), epoch
        expected = moment.isoformat(timespec="milliseconds")[:-6] + "Z"
        assert utc_iso_milliseconds(epoch) == expected, epoch
