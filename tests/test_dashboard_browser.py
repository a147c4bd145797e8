"""The dashboard in a real headless Chromium against a real ``mockbroker serve``.

The browser is Debian's ``chromium`` driven through Debian's ``chromedriver`` (``make
browser-deps`` installs both); nothing is downloaded. Without them the test skips,
except under CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest

from tests.support.osb import OSB, basic
from tests.support.servers import RunningServer, serve

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
ADMIN_USER = "admin"
ADMIN_PASSWORD = "dashboard-admin-" + uuid.uuid4().hex[:8]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOSTILE_ID = "<img src=x onerror=window.__injected=1>"
WAIT_SECONDS = 20

T = TypeVar("T")


def _require_browser() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if not missing:
        return
    message = f"the dashboard browser test needs {', '.join(missing)}: run `make browser-deps`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningServer]:
    env = {"BROKER_ADMIN_USERNAME": ADMIN_USER, "BROKER_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with serve(tmp_path, env=env, workers=2) as server:
        yield server


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Both paths are given, so Selenium Manager has nothing to look up; and it stays offline.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


@pytest.fixture
def http(broker: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=broker.url, timeout=10) as client:
        yield client


def wait_for(driver: Any, condition: Callable[[Any], T], what: str) -> T:
    """Poll ``condition`` until it is truthy; live regions may swap elements meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(
            driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}") from None


def click(driver: Any, css: str) -> None:
    """Click what a selector finds (centred, clear of the sticky navigation bar), again
    if a refresh replaced it in between."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def clicked(d: Any) -> bool:
        try:
            element = d.find_element(By.CSS_SELECTOR, css)
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()
        except StaleElementReferenceException:
            return False
        return True

    wait_for(driver, clicked, f"{css} to be clickable")


def text_of(driver: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    elements = driver.find_elements(By.CSS_SELECTOR, css)
    return " ".join(element.text for element in elements)


def form_notice_saying(driver: Any, word: str, what: str) -> str:
    """The fault form's notice, once it says ``word``."""

    def said(d: Any) -> str:
        text = text_of(d, "[data-notice=fault-form]")
        return text if word in text else ""

    return wait_for(driver, said, what)


def css_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def save_full_page(driver: Any, path: Path) -> None:
    driver.execute_script("window.scrollTo(0, 0)")  # the sticky bar stays at the top
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def test_the_dashboard_follows_and_drives_the_broker_in_a_real_browser(
    broker: RunningServer, http: httpx.Client, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ARTIFACTS.mkdir(exist_ok=True)
    osb = OSB(http)
    admin = OSB(http, auth=basic(ADMIN_USER, ADMIN_PASSWORD), version=None)
    instance_id = f"demo-{uuid.uuid4().hex[:8]}"

    # The address carries the admin credentials, as a user can type it; the page's
    # script calls the admin API on the same origin with the browser's cached login.
    address = broker.url.replace("http://", f"http://{ADMIN_USER}:{quote(ADMIN_PASSWORD)}@", 1)
    browser.get(address + "/dashboard")
    assert browser.title == "mockbroker"
    wait_for(
        browser, lambda d: text_of(d, "[data-journal-status]") == "live", "the journal to go live"
    )

    # Provision through the OSB API: the page shows it without being reloaded.
    browser.execute_script("window.__sameDocument = true;")
    accepted = osb.provision(instance_id, "mock-async", "manual", accepts_incomplete=True)
    assert accepted.status == 202
    operation = accepted.json["operation"]
    row = f"tr[data-instance-row={css_string(instance_id)}]"
    wait_for(browser, lambda d: "provisioning" in text_of(d, row), "the new instance to appear")
    wait_for(
        browser,
        lambda d: instance_id in text_of(d, "table[data-journal]"),
        "the journal to list the provision",
    )
    assert "PUT" in text_of(browser, "table[data-journal] tbody tr")

    # A hostile instance id is shown as text by the server-rendered tables and the journal.
    assert osb.provision(quote(HOSTILE_ID, safe=""), "mock-async", "sync").status == 201
    wait_for(
        browser,
        lambda d: HOSTILE_ID in text_of(d, "[data-table=instances]"),
        "the hostile id in the table",
    )
    wait_for(
        browser,
        lambda d: HOSTILE_ID in text_of(d, "table[data-journal]"),
        "the hostile id in the journal",
    )
    assert browser.execute_script("return window.__injected === undefined")

    # Finish the manual operation with a click.
    click(browser, f"button[data-finish=succeeded][data-operation={css_string(operation)}]")
    wait_for(
        browser,
        lambda d: (
            f"Operation {operation} finished: succeeded" in text_of(d, "[data-notice=operations]")
        ),
        "the confirmation",
    )
    finished = f"[data-table=finished-operations] tr[data-operation-row={css_string(operation)}]"
    wait_for(
        browser, lambda d: "succeeded" in text_of(d, finished), "the operation to show succeeded"
    )
    wait_for(browser, lambda d: "ready" in text_of(d, row), "the instance to show ready")
    assert not browser.find_elements(
        By.CSS_SELECTOR, f"button[data-operation={css_string(operation)}]"
    )
    last = osb.last_operation(instance_id, operation)
    assert (last.status, last.json["state"]) == (200, "succeeded")

    # Add a fault rule with the form; it is listed and really answers.
    form = browser.find_element(By.CSS_SELECTOR, "form[data-fault-form]")
    Select(form.find_element(By.NAME, "operation")).select_by_value("bind")
    Select(form.find_element(By.NAME, "service")).select_by_value("mock-async")
    Select(form.find_element(By.NAME, "trigger")).select_by_value("times")
    form.find_element(By.NAME, "trigger_value").send_keys("2")
    form.find_element(By.NAME, "status").send_keys("503")
    form.find_element(By.NAME, "description").send_keys("Injected from the dashboard")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    notice = form_notice_saying(browser, "added", "the rule to be added")
    rules = admin.get("/admin/faults").json["faults"]
    added = [rule for rule in rules if rule.get("origin") == "admin"]
    assert len(added) == 1
    rule_id = added[0]["id"]
    assert rule_id in notice
    assert added[0]["match"] == {"operation": ["bind"], "service": "mock-async"}
    assert added[0]["trigger"] == {"times": 2}
    assert added[0]["action"] == {"status": 503, "description": "Injected from the dashboard"}
    fault_row = f"tr[data-fault-row={css_string(rule_id)}]"
    wait_for(
        browser, lambda d: "the first 2 call(s)" in text_of(d, fault_row), "the rule in the list"
    )
    # Listed and counted apart from the catalog's own rules.
    catalog_rules = [rule for rule in rules if rule["origin"] == "catalog"]
    assert browser.find_elements(By.CSS_SELECTOR, f"[data-table=faults-admin] {fault_row}")
    assert text_of(browser, "[data-count=faults-admin]") == "1"
    assert text_of(browser, "[data-count=faults-catalog]") == str(len(catalog_rules))
    assert (
        osb.bind(instance_id, "binding-1", "mock-async", "manual", accepts_incomplete=True).status
        == 503
    )
    wait_for(browser, lambda d: text_of(d, f"{fault_row} td.num") == "1 1", "the rule's counters")

    # A refused rule shows the API's description in the page and adds nothing.
    browser.find_element(By.CSS_SELECTOR, "details.json-rule summary").click()
    form.find_element(By.NAME, "rule_json").send_keys(
        '{"match": {"operation": "teleport"}, "action": {"status": 500}}'
    )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    refused = form_notice_saying(browser, "refused", "the refusal")
    assert "400" in refused and "teleport" in refused
    assert len(admin.get("/admin/faults").json["faults"]) == len(rules)

    save_full_page(browser, ARTIFACTS / "dashboard.png")

    # Remove the rule with its button.
    click(browser, f"button[data-delete-fault={css_string(rule_id)}]")
    wait_for(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, fault_row),
        "the rule to leave the list",
    )
    wait_for(browser, lambda d: text_of(d, "[data-count=faults-admin]") == "0", "the count")
    assert text_of(browser, "[data-count=faults-catalog]") == str(len(catalog_rules))
    assert rule_id not in [rule["id"] for rule in admin.get("/admin/faults").json["faults"]]

    # Everything above happened in one document: nothing reloaded the page.
    assert browser.execute_script("return window.__sameDocument === true")

    # The instance's own page (the catalogs' dashboard_url) shows it and its history.
    click(browser, f"{row} a")
    wait_for(
        browser,
        lambda d: d.current_url.endswith(f"/dashboard/instances/{instance_id}"),
        "the instance page",
    )
    wait_for(
        browser, lambda d: "ready" in text_of(d, "#instance-live"), "the instance page's state"
    )
    assert "succeeded" in text_of(browser, "[data-table=finished-operations]")
    wait_for(
        browser, lambda d: "503" in text_of(d, "table[data-journal]"), "the instance's journal"
    )
    save_full_page(browser, ARTIFACTS / "dashboard-instance.png")

    page = browser.page_source
    assert ADMIN_PASSWORD not in page
    assert basic(ADMIN_USER, ADMIN_PASSWORD).split()[1] not in page
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
    assert problems == []
