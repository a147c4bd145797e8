"""A request id the broker makes is a random UUID (version 4) in hex, as uuid4().hex is."""

from __future__ import annotations

import re
import uuid

from broker.web.request_context import new_request_id


def test_a_new_request_id_is_a_version_4_uuid_in_hex() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for value in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", value)
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == value
