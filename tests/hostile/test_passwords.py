"""Empty passwords are refused everywhere; the well-known one is refused off loopback.

``mockbroker serve`` is started for real: a refused setting stops it before it
listens, with a message naming the setting, whichever way it was given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import serve

pytestmark = pytest.mark.server


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``mockbroker serve`` expecting it to refuse; its exit status and output."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environment.update({"BROKER_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "broker", "serve", "--port", "0", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    "args, env, named",
    [
        ((), {"BROKER_PASSWORD": ""}, "BROKER_PASSWORD: a password must not be empty"),
        (("--password", ""), {}, "--password: a password must not be empty"),
        ((), {"BROKER_ADMIN_PASSWORD": ""}, "BROKER_ADMIN_PASSWORD: a password must not be empty"),
        ((), {"BROKER_USERS": "ci:"}, "BROKER_USERS: every user needs a non-empty"),
        ((), {"BROKER_USERS": "ci:pw,other:"}, "BROKER_USERS: every user needs a non-empty"),
        (("--host", "0.0.0.0"), {"BROKER_PASSWORD": ""}, "must not be empty"),
    ],
)
def test_an_empty_password_stops_the_server_with_the_setting_named(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    status, output = start(tmp_path, *args, env=env)
    assert status == 2, output
    assert named in output


def test_an_empty_password_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "broker.yaml"
    for setting in ('password: ""', 'admin_password: ""'):
        config.write_text(setting + "\n")
        status, output = start(tmp_path, "--config", str(config))
        assert status == 2 and "a password must not be empty" in output, output


@pytest.mark.parametrize(
    "env, named",
    [
        ({"BROKER_PASSWORD": "broker"}, "BROKER_PASSWORD"),
        ({"BROKER_PASSWORD": "chosen", "BROKER_ADMIN_PASSWORD": "broker"}, "BROKER_ADMIN_PASSWORD"),
        ({"BROKER_PASSWORD": "chosen", "BROKER_USERS": "ci:broker"}, "BROKER_USERS"),
    ],
)
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_the_well_known_password_is_refused_off_loopback_even_when_set(
    tmp_path: Path, env: dict[str, str], named: str, host: str
) -> None:
    status, output = start(tmp_path, "--host", host, env=env)
    assert status == 2, output
    assert "well-known password 'broker'" in output and named in output


def test_on_loopback_the_well_known_password_works_and_an_empty_one_never_does(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, env={"BROKER_PASSWORD": "broker"}) as server:
        version = {"X-Broker-API-Version": "2.17"}
        ok = httpx.get(f"{server.url}/v2/catalog", auth=("broker", "broker"), headers=version)
        assert ok.status_code == 200
        for user, password in (("broker", ""), ("", ""), ("broker", " ")):
            refused = httpx.get(f"{server.url}/v2/catalog", auth=(user, password), headers=version)
            assert refused.status_code == 401
