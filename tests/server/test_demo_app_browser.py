"""The compose demo's app page, with real bound credentials, in headless Chromium.

The app (``examples/compose/demo-app/app.py``) runs on this machine against a real
PostgreSQL login that a real ``mockbroker serve`` bound, as in the compose stack:
the binding's credentials are written as a secret folder (one file per key, plus the
``key.json`` the app reads).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import chromium
from tests.support.osb import OSB
from tests.support.servers import serve
from tests.support.services import service_url

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "compose" / "demo-app" / "app.py"
CATALOG = ROOT / "catalogs" / "real" / "postgresql.yaml"
SIDEWAYS_JS = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"


@pytest.fixture
def secret_folder(tmp_path: Path) -> Iterator[Path]:
    """A bound PostgreSQL login's credentials as a mounted secret would hold them."""
    url = service_url("postgres")
    # Ids as long as the compose demo's (cloud-queue-instance, cloud-queue-binding).
    suffix = uuid.uuid4().hex[:8]
    instance_id, binding_id = f"cloud-queue-instance-{suffix}", f"cloud-queue-binding-{suffix}"
    with serve(tmp_path, "--catalog", str(CATALOG), env={"BROKER_POSTGRES_URL": url}) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            osb = OSB(http)
            try:
                answer = osb.provision(instance_id, "mock-postgresql", "standard")
                assert answer.status == 201, answer.json
                answer = osb.bind(instance_id, binding_id, "mock-postgresql", "standard")
                assert answer.status == 201, answer.json
                folder = tmp_path / "sa-key"
                folder.mkdir()
                credentials = answer.json["credentials"]
                for key, value in credentials.items():
                    text = value if isinstance(value, str) else json.dumps(value)
                    (folder / key).write_text(text)
                (folder / "key.json").write_text(json.dumps({"connection": credentials}))
                yield folder
            finally:
                # The backend drops the login and the database again.
                http.post("/admin/reset", auth=("broker", "broker"))


@pytest.fixture
def demo_app(secret_folder: Path, tmp_path: Path) -> Iterator[str]:
    log = tmp_path / "demo-app.log"
    environment = {
        **os.environ,
        "PROVIDER_APPLICATION_CREDENTIALS": str(secret_folder / "key.json"),
        "HOST": "127.0.0.1",
        "PORT": "0",
    }
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, str(APP)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"demo-app on (http://[^\s,]+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield found.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile", monkeypatch) as driver:
        yield driver


def test_the_demo_app_page_never_scrolls_sideways(demo_app: str, browser: Any) -> None:
    assert httpx.get(f"{demo_app}/status", timeout=30).json()["status"] == "connected"
    for width in (1280, 800, 390):
        browser.set_window_size(width, 900)
        browser.get(demo_app + "/")
        assert "connected to postgresql://mb_cloud_queue_binding_" in browser.page_source
        scroll_width, client_width = browser.execute_script(SIDEWAYS_JS)
        assert scroll_width == client_width, f"{width}px: the page scrolls sideways"
