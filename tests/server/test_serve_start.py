"""What ``mockbroker serve`` tells a newcomer when it starts, and where ``/`` leads."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import ADMIN_ENV, serve

pytestmark = pytest.mark.server

VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def banner(log: str) -> list[str]:
    lines = log.splitlines()
    start = next(index for index, line in enumerate(lines) if " listening on " in line)
    return [lines[start], *[line for line in lines[start + 1 :] if line.startswith("  ")]]


def test_the_banner_names_the_dashboard_and_how_to_log_in(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1) as server:
        shown = banner(server.log())
    assert f"  OSB API:    {server.url}/v2  user 'broker', password broker" in shown
    assert f"  dashboard:  {server.url}/dashboard  same user and password" in shown


def test_the_banner_names_a_separate_admin_login_without_its_password(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1, env=ADMIN_ENV) as server:
        shown = banner(server.log())
    assert f"  dashboard:  {server.url}/dashboard  user 'admin', password (as configured)" in shown
    assert "admin-secret" not in server.log()


@pytest.mark.skipif(
    not (VENV_BIN / "activate").exists(), reason="the tests do not run in a virtualenv"
)
def test_the_banner_says_how_to_get_mockbroker_on_path_when_it_is_not(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1, env={"PATH": SYSTEM_PATH}) as server:
        shown = banner(server.log())
    # Said as the reader types it: relative to the folder the server was started in.
    activate = VENV_BIN / "activate"
    if activate.is_relative_to(Path.cwd()):
        activate = activate.relative_to(Path.cwd())
    assert f"  note:       mockbroker is not on PATH; `. {activate}` puts it there" in shown

    on_path = f"{VENV_BIN}{os.pathsep}{SYSTEM_PATH}"
    with serve(tmp_path, workers=1, env={"PATH": on_path}) as server:
        assert not any("PATH" in line for line in banner(server.log()))


def test_the_root_leads_to_the_dashboard_behind_the_admin_login(tmp_path: Path) -> None:
    with serve(tmp_path, workers=1, env=ADMIN_ENV) as server:
        anonymous = httpx.get(f"{server.url}/")
        osb_login = httpx.get(f"{server.url}/", auth=("broker", "broker"))
        admin = httpx.get(f"{server.url}/", auth=("admin", "admin-secret"))
        followed = httpx.get(
            f"{server.url}/", auth=("admin", "admin-secret"), follow_redirects=True
        )
    assert anonymous.status_code == 401
    assert 'realm="mockbroker-admin"' in anonymous.headers["WWW-Authenticate"]
    assert osb_login.status_code == 401
    assert admin.status_code == 302
    assert admin.headers["Location"] == "/dashboard"
    assert followed.status_code == 200
    assert str(followed.url) == f"{server.url}/dashboard"
    assert "<title>mockbroker</title>" in followed.text
