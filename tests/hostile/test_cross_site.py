"""A browser logged in to the dashboard cannot be made to change state from another site.

Without ``Sec-Fetch-Site`` (older browsers, some proxies strip it), ``Origin`` and
then ``Referer`` decide; a state-changing admin request that any of them shows as
coming from another site answers 403 and changes nothing. Clients that send none of
the three (curl, test code) are not affected.
"""

from __future__ import annotations

import pytest

from broker.app import create_app
from broker.config import Settings
from tests.hostile.conftest import ADMIN
from tests.support.osb import OSB
from tests.support.servers import RunningServer

pytestmark = pytest.mark.server

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
RULE = '{"match": {"operation": "bind"}, "action": {"status": 500}}'
FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},  # the same host on another port is another origin
    {"Origin": "https://127.0.0.1"},
    {"Origin": "not a url"},
    {"Referer": "http://evil.example/page.html"},
    {"Referer": "http://127.0.0.1.evil.example/x"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "{own}"},  # the browser's own verdict wins
    {"Origin": "http://evil.example", "Referer": "{own}/dashboard"},
]


def own(server_url: str, headers: dict[str, str]) -> dict[str, str]:
    return {name: value.replace("{own}", server_url) for name, value in headers.items()}


def admin_rules(admin: OSB) -> list[dict[str, object]]:
    return [rule for rule in admin.get("/admin/faults").json["faults"] if rule["origin"] == "admin"]


@pytest.mark.parametrize("headers", FOREIGN, ids=lambda headers: "+".join(headers))
def test_a_state_change_a_browser_sends_from_another_site_is_refused(
    admin: OSB, server: RunningServer, headers: dict[str, str]
) -> None:
    sent = {**FORM, **own(server.url, headers)}
    answer = admin.request("POST", "/admin/faults", raw=RULE, headers=sent)
    assert answer.status == 403, answer.text
    assert answer.json["error"] == "Forbidden"
    for method, path in (("DELETE", "/admin/faults"), ("POST", "/admin/reset")):
        assert admin.request(method, path, headers=sent).status == 403
    assert admin.request("PUT", "/admin/catalog", raw="services: []", headers=sent).status == 403
    assert admin_rules(admin) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, test code
        {"Origin": "{own}"},
        {"Referer": "{own}/dashboard"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
    ],
    ids=lambda headers: "+".join(headers) or "no-browser-headers",
)
def test_the_dashboard_itself_and_non_browser_clients_still_change_state(
    admin: OSB, server: RunningServer, headers: dict[str, str]
) -> None:
    answer = admin.request("POST", "/admin/faults", raw=RULE, headers=own(server.url, headers))
    assert answer.status == 201, answer.text
    assert admin.delete(f"/admin/faults/{answer.json['id']}").status == 200


def test_reading_is_never_refused_for_where_it_comes_from(admin: OSB) -> None:
    for headers in FOREIGN[:3]:
        assert admin.get("/admin/faults", headers=headers).status == 200


def test_behind_a_proxy_the_public_url_is_the_own_origin(settings: Settings) -> None:
    # In-process: a served broker's banner names its public URL, not where it listens.
    app = create_app(settings.replace(public_url="https://broker.ci.example"))
    admin = OSB(app.test_client(), auth=ADMIN, version=None)
    mine = {"Origin": "https://broker.ci.example", **FORM}
    answer = admin.request("POST", "/admin/faults", raw=RULE, headers=mine)
    assert answer.status == 201, answer.text
    other = {"Origin": "https://other.ci.example", **FORM}
    assert admin.request("POST", "/admin/faults", raw=RULE, headers=other).status == 403
