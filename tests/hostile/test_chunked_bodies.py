"""A chunked body over the size limit answers 413, exactly as with a Content-Length.

werkzeug stops reading a chunked body at the limit, which used to hand the views a
truncated document (400 "not valid JSON"). Smaller chunked bodies work as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.hostile.conftest import ADMIN
from tests.support.osb import OSB
from tests.support.servers import RunningServer

pytestmark = pytest.mark.server

LIMIT = 1024 * 1024  # BROKER_MAX_BODY_BYTES' default


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def big_provision(osb: OSB, size: int) -> bytes:
    body = osb.provision_body("mock-async", "sync")
    text = json.dumps(body)[:-1] + ', "parameters": {"padding": "'
    return (text + "x" * (size - len(text) - 3) + '"}}').encode()


@pytest.mark.parametrize("size", [LIMIT + 1, LIMIT + 100_000, 3 * LIMIT])
def test_a_chunked_body_over_the_limit_answers_413_like_a_content_length_one(
    osb: OSB, admin: OSB, server: RunningServer, size: int
) -> None:
    body = big_provision(osb, size)
    for name, content in (("chunked", chunks(body)), ("sized", body)):
        # A connection of its own: what becomes of it after a refused body is the
        # server's business (gunicorn may close it), the answer is what is checked.
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = OSB(client).request(
                "PUT",
                f"/v2/service_instances/chunked-{size}-{name}",
                raw=content,  # type: ignore[arg-type]
                headers={"Content-Type": "application/json"},
            )
        assert answer.status == 413, (name, answer.status, answer.text)
        assert answer.json == {
            "error": "PayloadTooLarge",
            "description": f"request body is larger than {LIMIT} bytes",
        }
        assert osb.get(f"/v2/service_instances/chunked-{size}-{name}").status == 404
    for method, path in (("PUT", "/admin/catalog"), ("POST", "/admin/faults")):
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = OSB(client, auth=ADMIN, version=None).request(
                method,
                path,
                raw=chunks(b"#" * size),  # type: ignore[arg-type]
            )
        assert answer.status == 413, (path, answer.text)


@pytest.mark.parametrize("size", [1000, LIMIT - 10, LIMIT])
def test_a_chunked_body_within_the_limit_is_read_whole(osb: OSB, size: int) -> None:
    body = big_provision(osb, size)
    answer = osb.request(
        "PUT",
        f"/v2/service_instances/chunked-ok-{size}",
        raw=chunks(body),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 201, answer.text
    fetched = osb.get(f"/v2/service_instances/chunked-ok-{size}").json
    assert len(fetched["parameters"]["padding"]) > size - 300


def test_a_chunked_body_without_credentials_answers_401_unread(anonymous: OSB) -> None:
    answer = anonymous.request(
        "PUT",
        "/v2/service_instances/chunked-anonymous",
        raw=chunks(b"{" * (2 * LIMIT)),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 401
