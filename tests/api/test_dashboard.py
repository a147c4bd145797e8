"""``/dashboard`` pages through Flask's test client: auth, content, escaping, secrets."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, urlsplit

import pytest
from markupsafe import escape

from broker.web.dashboard import routes
from broker.web.dashboard.presenters import store_label
from tests.support.osb import OSB, basic

HOSTILE_ID = "<img src=x onerror=alert(1)>\"'&evil"
ADMIN_PASSWORD = "admin-secret"


def test_the_dashboard_answers_401_without_admin_credentials(client, osb: OSB) -> None:
    anonymous = OSB(client, auth=None, version=None)  # type: ignore[arg-type]
    wrong = OSB(client, auth=basic("admin", "wrong"), version=None)
    for path in ("/dashboard", "/dashboard/instances/any", "/dashboard/static/dashboard.js"):
        for caller in (anonymous, wrong, osb):
            answer = caller.get(path)
            assert answer.status == 401, (path, answer.status)
            assert answer.headers["WWW-Authenticate"].startswith("Basic")
            assert answer.json["error"] == "Unauthorized"  # JSON, never a page


def test_the_dashboard_lists_instances_bindings_and_running_operations(
    osb: OSB, admin: OSB
) -> None:
    accepted = osb.provision("waiting-instance", "mock-async", "manual", accepts_incomplete=True)
    assert accepted.status == 202
    assert osb.provision("ready-instance", "mock-async", "sync").status == 201
    assert osb.bind("ready-instance", "binding-1", "mock-async", "sync").status == 201

    page = admin.get("/dashboard")

    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'data-instance-row="waiting-instance"' in page.text
    assert 'data-instance-row="ready-instance"' in page.text
    assert 'data-binding-row="binding-1"' in page.text
    operation = accepted.json["operation"]
    for state in ("succeeded", "failed"):
        assert f'data-finish="{state}" data-operation="{operation}"' in page.text
    assert '<span class="badge state-provisioning">provisioning</span>' in page.text
    assert "/dashboard/instances/waiting-instance" in page.text


def test_a_hostile_instance_id_is_escaped_everywhere(osb: OSB, admin: OSB) -> None:
    answer = osb.provision(
        quote(HOSTILE_ID, safe=""),
        "mock-async",
        "manual",
        accepts_incomplete=True,
        parameters={"note": "<script>alert('parameters')</script>"},
    )
    assert answer.status == 202

    for path in ("/dashboard", f"/dashboard/instances/{quote(HOSTILE_ID, safe='')}"):
        page = admin.get(path)
        assert page.status == 200, path
        assert "<img" not in page.text
        assert "<script>alert" not in page.text
        assert str(escape(HOSTILE_ID)) in page.text
        # The page loads its own script only, never inline code.
        assert re.findall(r"<script[^>]*>", page.text) == [
            re.search(r'<script src="[^"]+" defer>', page.text).group(0)  # type: ignore[union-attr]
        ]


def test_credentials_passwords_and_authorization_never_appear_in_the_html(
    osb: OSB, admin: OSB
) -> None:
    assert (
        osb.provision(
            "secret-instance",
            "mock-async",
            "sync",
            parameters={"admin_password": "param-secret-1", "size": "small"},
        ).status
        == 201
    )
    bound = osb.bind("secret-instance", "secret-binding", "mock-async", "sync")
    assert bound.status == 201
    credentials = bound.json["credentials"]
    secrets = [
        credentials["password"],
        credentials["uri"],
        "param-secret-1",
        ADMIN_PASSWORD,
        "broker:broker",
        base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode(),
    ]

    for path in ("/dashboard", "/dashboard/instances/secret-instance"):
        page = admin.get(path)
        assert page.status == 200
        for secret in secrets:
            assert secret not in page.text, (path, secret)
        # The key names stay visible, so "the binding carries a password" can be seen.
        assert '<span class="chip" title="value hidden">password</span>' in page.text
        assert "[redacted]" in page.text


def test_the_instance_page_shows_its_bindings_and_operations(osb: OSB, admin: OSB) -> None:
    accepted = osb.provision(
        "detailed", "mock-async", "manual", accepts_incomplete=True, parameters={"size": "large"}
    )
    operation = accepted.json["operation"]
    admin.post(f"/admin/operations/{operation}", {"state": "succeeded"})
    binding = osb.bind(
        "detailed", "detail-binding", "mock-async", "manual", accepts_incomplete=True
    )
    assert binding.status == 202

    page = admin.get("/dashboard/instances/detailed")

    assert page.status == 200
    assert '<span class="badge state-ready">ready</span>' in page.text
    assert "mock-async" in page.text and "manual" in page.text
    assert "&#34;size&#34;: &#34;large&#34;" in page.text
    assert 'data-binding-row="detail-binding"' in page.text
    assert f'data-operation-row="{operation}"' in page.text
    assert '<span class="badge state-succeeded">succeeded</span>' in page.text
    assert f'data-finish="succeeded" data-operation="{binding.json["operation"]}"' in page.text
    assert 'data-instance-id="detailed"' in page.text  # the journal is filtered to this instance


def test_the_page_of_an_unknown_instance_answers_404_with_a_page(admin: OSB) -> None:
    page = admin.get("/dashboard/instances/never-provisioned")

    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "data-missing-instance" in page.text


def test_the_dashboard_url_of_a_bundled_catalog_points_at_the_instance_page(
    osb: OSB, admin: OSB
) -> None:
    answer = osb.provision(
        "queue-1", "cloud-provider-service", "service-plan-name", accepts_incomplete=True
    )
    assert answer.status == 202

    path = urlsplit(answer.json["dashboard_url"]).path
    page = admin.get(path)

    assert path == "/dashboard/instances/queue-1"
    assert page.status == 200
    assert "cloud-provider-service" in page.text


def test_fault_rules_are_listed_with_their_counters(osb: OSB, admin: OSB) -> None:
    created = admin.post(
        "/admin/faults",
        {
            "match": {"operation": "catalog"},
            "trigger": {"times": 1},
            "action": {"status": 503, "description": "<b>down</b>"},
        },
    )
    assert created.status == 201
    assert osb.get("/v2/catalog").status == 503

    page = admin.get("/dashboard")

    row = re.search(rf'<tr data-fault-row="{created.json["id"]}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    assert cells == ["1", "1"]  # calls, fired
    assert "operation=catalog" in row.group(1)
    assert "the first 1 call(s)" in row.group(1)
    assert "&lt;b&gt;down&lt;/b&gt;" in row.group(1)
    assert f'data-delete-fault="{created.json["id"]}"' in row.group(1)


def test_rules_added_at_run_time_and_the_catalogs_own_are_shown_and_counted_apart(
    admin: OSB,
) -> None:
    declared = [rule["id"] for rule in admin.get("/admin/faults").json["faults"]]
    assert declared  # the bundled mock-flaky plans declare some
    added = admin.post("/admin/faults", {"match": {"operation": "bind"}, "action": {"status": 500}})

    page = admin.get("/dashboard").text

    assert '<span class="card-value" data-count="faults-admin">1</span>' in page
    assert f'<span class="card-value" data-count="faults-catalog">{len(declared)}</span>' in page
    tables = {
        origin: re.search(rf'data-table="faults-{origin}">(.*?)</table>', page, re.S)
        for origin in ("admin", "catalog")
    }
    assert tables["admin"] is not None and tables["catalog"] is not None
    admin_rows = re.findall(r'data-fault-row="([^"]+)"', tables["admin"].group(1))
    catalog_rows = re.findall(r'data-fault-row="([^"]+)"', tables["catalog"].group(1))
    assert (admin_rows, catalog_rows) == ([added.json["id"]], declared)
    assert tables["admin"].group(1).count('class="badge origin-admin"') == 1
    assert tables["catalog"].group(1).count('class="badge origin-catalog"') == len(declared)


def test_the_catalog_section_shows_each_plans_behaviour(admin: OSB) -> None:
    page = admin.get("/dashboard")

    manual = re.search(r'<tr data-plan="manual">(.*?)</tr>', page.text, re.S)
    assert manual is not None
    assert manual.group(1).count("async, manual") == 5
    failing = re.search(r'<tr data-plan="failing-sync">(.*?)</tr>', page.text, re.S)
    assert failing is not None
    assert "sync, answers 500 ProvisionFailed" in failing.group(1)
    # The fault operations offered by the form are the ones the rule schema knows.
    assert '<option value="binding_last_operation">' in page.text


def test_dashboard_pages_forbid_inline_scripts_and_framing(admin: OSB) -> None:
    page = admin.get("/dashboard")

    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "name, mimetype", [("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")]
)
def test_the_static_files_are_served_from_the_package(client, name: str, mimetype: str) -> None:
    response = client.get(
        f"/dashboard/static/{name}", headers={"Authorization": basic("admin", ADMIN_PASSWORD)}
    )
    try:
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(mimetype)
        assert "http://" not in text and "https://" not in text  # nothing from elsewhere
    finally:
        response.close()


def test_the_store_is_shown_without_its_password() -> None:
    label = store_label("postgresql://broker:pg-secret@db.internal:5432/mockbroker")

    assert label == "postgresql db.internal:5432/mockbroker"
    assert store_label("memory://") == "memory"
    assert store_label("sqlite:////var/lib/broker.db") == "sqlite /var/lib/broker.db"


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_page_of_another_site_cannot_use_the_browsers_admin_login(admin: OSB, site: str) -> None:
    rule = {"action": {"status": 500}}
    before = admin.get("/admin/faults").json["faults"]

    refused = admin.post("/admin/faults", rule, headers={"Sec-Fetch-Site": site})
    reset = admin.post("/admin/reset", headers={"Sec-Fetch-Site": site})

    assert (refused.status, refused.json["error"]) == (403, "Forbidden")
    assert reset.status == 403
    assert admin.get("/admin/faults", headers={"Sec-Fetch-Site": site}).status == 200
    assert admin.get("/admin/faults").json["faults"] == before


def test_the_dashboards_own_calls_and_direct_clients_may_change_state(admin: OSB) -> None:
    rule = {"action": {"status": 500}}

    assert (
        admin.post("/admin/faults", rule, headers={"Sec-Fetch-Site": "same-origin"}).status == 201
    )
    assert admin.post("/admin/faults", rule).status == 201  # curl, httpx: no such header


def test_the_tables_show_the_newest_instances_count_them_all_and_page_to_older_ones(
    osb: OSB, admin: OSB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "TABLE_ROWS", 2)
    for name in ("first", "second", "third"):
        assert osb.provision(name, "mock-async", "sync").status == 201

    page = admin.get("/dashboard").text

    assert re.findall(r'data-instance-row="([^"]+)"', page) == ["third", "second"]
    assert '<span class="card-value" data-count="instances">3</span>' in page
    assert "2 of 3 instances, newest first" in page
    older = re.search(r'href="\?instances=([^"#]+)#instances">older instances', page)
    assert older is not None
    page = admin.get("/dashboard", query={"instances": older.group(1)}).text
    assert re.findall(r'data-instance-row="([^"]+)"', page) == ["first"]
    assert "older instances" not in page
    assert admin.get("/dashboard", query={"instances": "not-a-cursor"}).status == 400


def test_a_running_operation_older_than_the_recent_ones_keeps_its_buttons(
    osb: OSB, admin: OSB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "OPERATIONS_READ", 1)
    waiting = osb.provision("waiting", "mock-async", "manual", accepts_incomplete=True)
    for name in ("later-1", "later-2"):
        assert osb.provision(name, "mock-async", "polls", accepts_incomplete=True).status == 202
    button = f'data-finish="succeeded" data-operation="{waiting.json["operation"]}"'

    index = admin.get("/dashboard").text
    own_page = admin.get("/dashboard/instances/waiting").text

    assert button in index
    assert '<span class="card-value" data-count="running">3</span>' in index
    assert button in own_page
