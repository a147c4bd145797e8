"""The dashboard in a real headless Chromium against a real ``mockbroker serve``.

The browser is Debian's ``chromium`` driven through Debian's ``chromedriver``
(:mod:`tests.support.browser`); nothing is downloaded.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest

from tests.support.browser import chromium
from tests.support.osb import OSB, basic
from tests.support.servers import RunningServer, serve

pytestmark = [pytest.mark.browser, pytest.mark.server]

ADMIN_USER = "admin"
ADMIN_PASSWORD = "dashboard-admin-" + uuid.uuid4().hex[:8]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
HOSTILE_ID = "<img src=x onerror=window.__injected=1>"
WAIT_SECONDS = 20

T = TypeVar("T")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningServer]:
    env = {"BROKER_ADMIN_USERNAME": ADMIN_USER, "BROKER_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with serve(tmp_path, env=env, workers=2) as server:
        yield server


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile", monkeypatch) as driver:
        yield driver


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


# --- layout, measured in the browser ---------------------------------------------------

# Ids whose text wraps somewhere else than after a hyphen or a space.
MID_WORD_BREAKS_JS = """
const broken = [];
for (const element of document.querySelectorAll(arguments[0])) {
  const tops = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      if (rect) tops.push([node.data[i], rect.top]);
    }
  }
  for (let i = 1; i < tops.length; i++) {
    if (tops[i][1] > tops[i - 1][1] + 2 && !/[-\\s]/.test(tops[i - 1][0])) {
      broken.push(element.textContent.slice(0, i) + "|" + element.textContent.slice(i));
      break;
    }
  }
}
return broken;
"""
SIDEWAYS_JS = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
# Share of the add-rule form's grid covered by its fieldsets (the rest is blank).
FORM_COVERAGE_JS = """
const grid = document.querySelector("form[data-fault-form] .form-grid").getBoundingClientRect();
let covered = 0;
for (const set of document.querySelectorAll("form[data-fault-form] .form-grid > fieldset")) {
  const box = set.getBoundingClientRect();
  covered += box.width * box.height;
}
return covered / (grid.width * grid.height);
"""


def test_ids_never_break_mid_word_and_the_page_never_scrolls_sideways(
    broker: RunningServer, http: httpx.Client, browser: Any
) -> None:
    osb = OSB(http)
    # Ids as platforms make them (Service Catalog: UUIDs), on plans whose bindings hold
    # many credential keys.
    for _ in range(2):
        instance_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
        assert osb.provision(instance_id, "cloud-provider-service", "premium").status == 201
        assert osb.bind(instance_id, binding_id, "cloud-provider-service", "premium").status == 201
    assert (
        osb.provision("my-db", "mock-database", "small", parameters={"storage_gb": 5}).status == 201
    )
    answer = osb.bind("my-db", "read-only-binding-of-my-db", "mock-database", "small")
    assert answer.status == 201
    address = broker.url.replace("http://", f"http://{ADMIN_USER}:{quote(ADMIN_PASSWORD)}@", 1)
    for width in (1400, 1024):
        browser.set_window_size(width, 1000)
        browser.get(address + "/dashboard")
        wait_for(
            browser,
            lambda d: "read-only-binding-of-my-db" in text_of(d, "[data-table=bindings]"),
            "the bindings",
        )
        assert browser.execute_script(MID_WORD_BREAKS_JS, "[data-table=bindings] .id") == []
        scroll_width, client_width = browser.execute_script(SIDEWAYS_JS)
        assert scroll_width == client_width, f"{width}px: the page scrolls sideways"
    save_full_page(browser, ARTIFACTS / "dashboard-bindings.png")


def test_the_add_rule_form_leaves_no_large_blank_area(broker: RunningServer, browser: Any) -> None:
    address = broker.url.replace("http://", f"http://{ADMIN_USER}:{quote(ADMIN_PASSWORD)}@", 1)
    for width in (1400, 1024):
        browser.set_window_size(width, 1000)
        browser.get(address + "/dashboard#faults")
        coverage = browser.execute_script(FORM_COVERAGE_JS)
        assert coverage >= 0.85, f"{width}px: {coverage:.0%} of the form's area holds fields"


def test_the_journal_filters_narrow_what_it_lists(
    broker: RunningServer, http: httpx.Client, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    osb = OSB(http)
    admin = OSB(http, auth=basic(ADMIN_USER, ADMIN_PASSWORD), version=None)
    for name in ("alpha", "beta"):
        assert osb.provision(name, "mock-async", "sync").status == 201
    rule = {"match": {"operation": "bind"}, "trigger": {"times": 1}, "action": {"status": 503}}
    assert admin.post("/admin/faults", rule).status == 201
    assert osb.bind("alpha", "alpha-1", "mock-async", "sync").status == 503
    assert osb.bind("alpha", "alpha-1", "mock-async", "sync").status == 201
    assert osb.bind("beta", "beta-1", "mock-async", "sync").status == 201

    address = broker.url.replace("http://", f"http://{ADMIN_USER}:{quote(ADMIN_PASSWORD)}@", 1)
    browser.get(address + "/dashboard#journal")
    journal = "table[data-journal] tbody tr:not(.entry-details)"

    def rows(d: Any) -> list[tuple[str, str, str]]:
        found = []
        for row in d.find_elements(By.CSS_SELECTOR, journal):
            cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            if len(cells) == 8:
                found.append((cells[3], cells[4], cells[5]))  # path, operation, status
        return found

    wait_for(
        browser,
        lambda d: len([row for row in rows(d) if row[1] != "catalog"]) == 5,
        "the five requests",
    )
    form = browser.find_element(By.CSS_SELECTOR, "form[data-journal-filters]")

    Select(form.find_element(By.NAME, "operation")).select_by_value("bind")
    wait_for(
        browser,
        lambda d: (
            sorted(rows(d))
            == sorted(
                [
                    ("/v2/service_instances/alpha/service_bindings/alpha-1", "bind", "503"),
                    ("/v2/service_instances/alpha/service_bindings/alpha-1", "bind", "201"),
                    ("/v2/service_instances/beta/service_bindings/beta-1", "bind", "201"),
                ]
            )
        ),
        "only the binds",
    )
    form.find_element(By.NAME, "instance_id").send_keys("beta")
    wait_for(
        browser,
        lambda d: [r[0] for r in rows(d)] == ["/v2/service_instances/beta/service_bindings/beta-1"],
        "only beta's bind",
    )
    instance = form.find_element(By.NAME, "instance_id")
    instance.clear()
    form.find_element(By.NAME, "status").send_keys("503")
    wait_for(browser, lambda d: [r[2] for r in rows(d)] == ["503"], "only the failed bind")

    # New requests that match arrive live; others do not.
    assert osb.bind("beta", "beta-2", "mock-async", "sync").status == 201
    admin.post("/admin/faults", rule)
    assert osb.bind("beta", "beta-3", "mock-async", "sync").status == 503
    wait_for(browser, lambda d: [r[2] for r in rows(d)] == ["503", "503"], "the new failed bind")
    assert all(r[1] == "bind" for r in rows(browser))

    # A filter the API refuses says so instead of listing anything.
    form.find_element(By.NAME, "status").send_keys("9")  # 5039
    refused = wait_for(
        browser,
        lambda d: (
            text_of(d, "[data-journal-status]")
            if "refused" in text_of(d, "[data-journal-status]")
            else ""
        ),
        "the refused filter",
    )
    assert "filter refused: 400" in refused and "status" in refused
    assert rows(browser) == []
