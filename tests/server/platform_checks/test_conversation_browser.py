"""The findings panel and an instance's conversation in a real headless Chromium.

Screenshots are kept in tests/artifacts/ (platform-findings.png, platform-conversation.png).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from tests.support.browser import chromium
from tests.support.osb import OSB
from tests.support.servers import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.server]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
T = TypeVar("T")


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile", monkeypatch) as driver:
        yield driver


def wait_for(driver: Any, condition: Callable[[Any], T], what: str) -> T:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(
            driver, 20, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}") from None


def save_full_page(driver: Any, path: Path) -> None:
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def a_conversation_with_faults_and_findings(osb: OSB, admin: OSB) -> None:
    started = osb.provision("talk-1", "graded", "quick", accepts_incomplete=True)
    osb.last_operation("talk-1")  # operation-echo: no operation
    osb.last_operation("talk-1", started.json["operation"])  # succeeded
    osb.last_operation("talk-1", started.json["operation"])  # poll-after-final
    fault = admin.post(
        "/admin/faults",
        {"match": {"operation": "bind"}, "trigger": {"times": 1}, "action": {"status": 500}},
    )
    assert fault.status == 201
    assert osb.bind("talk-1", "b-1", "graded", "quick").status == 500
    osb.unbind("talk-1", "b-1", "graded", "quick")


def test_the_findings_panel_and_the_conversation_show_what_the_platform_did(
    server: RunningServer, osb: OSB, admin: OSB, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(exist_ok=True)
    a_conversation_with_faults_and_findings(osb, admin)
    address = server.url.replace("http://", f"http://admin:{quote('admin-secret')}@", 1)

    browser.get(address + "/dashboard")
    rows = browser.find_elements(By.CSS_SELECTOR, "#findings tr[data-finding]")
    assert {row.get_attribute("data-finding") for row in rows} == {
        "operation-echo",
        "poll-after-final",
    }
    # A finding made while the page is open shows up without a reload.
    browser.execute_script("window.__sameDocument = true;")
    OSB(osb.client, version=None).get("/v2/catalog")
    wait_for(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#findings tr[data-finding=version-header]"),
        "the new finding to appear in the panel",
    )
    assert browser.execute_script("return window.__sameDocument === true")
    browser.execute_script("document.getElementById('findings').scrollIntoView()")
    save_full_page(browser, ARTIFACTS / "platform-findings.png")

    browser.get(address + "/dashboard/instances/talk-1/conversation")
    assert browser.title.startswith("Conversation of talk-1")
    requests = browser.find_elements(By.CSS_SELECTOR, "svg g[data-request]")
    assert len(requests) == 6
    marked = {
        element.get_attribute("data-findings")
        for element in browser.find_elements(By.CSS_SELECTOR, "svg g[data-findings]")
    }
    assert marked == {"operation-echo", "poll-after-final"}
    faulted = browser.find_elements(By.CSS_SELECTOR, "svg g[data-fault]")
    assert len(faulted) == 1 and "fault" in faulted[0].text
    svg_text = browser.find_element(By.CSS_SELECTOR, "svg").text
    assert "PUT provision" in svg_text and "202 operation=" in svg_text
    assert "500" in svg_text
    # Nothing the page loads comes from elsewhere, and nothing in it failed to load.
    assert browser.execute_script(
        "return performance.getEntriesByType('resource').every("
        "e => new URL(e.name).host === location.host)"
    )
    save_full_page(browser, ARTIFACTS / "platform-conversation.png")
