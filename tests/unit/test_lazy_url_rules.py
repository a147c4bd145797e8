"""The application's URL rules compile their URL builders on first use, with the same URLs."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from broker.app import BrokerFlask, LazyBuilderRule

RULES = [
    ("/dashboard/instances/<instance_id>", "instance"),
    ("/dashboard/static/<path:filename>", "static"),
    ("/v2/catalog", "catalog"),
    ("/admin/page/<int:number>", "page"),
]
BUILDS = [
    ("instance", {"instance_id": "a b/ü?"}),
    ("static", {"filename": "css/site.css", "v": "1.2.3"}),
    ("catalog", {}),
    ("catalog", {"unknown": "appended as a query"}),
    ("page", {"number": 7}),
]


def test_lazy_rules_build_the_urls_werkzeug_builds() -> None:
    plain = Map([Rule(path, endpoint=endpoint) for path, endpoint in RULES]).bind("localhost")
    lazy = Map([LazyBuilderRule(path, endpoint=endpoint) for path, endpoint in RULES]).bind(
        "localhost"
    )
    for endpoint, values in BUILDS:
        for _ in range(2):  # the first build compiles the builder, the second uses it
            for force_external in (False, True):
                assert lazy.build(endpoint, values, force_external=force_external) == (
                    plain.build(endpoint, values, force_external=force_external)
                )


def test_builders_are_compiled_on_first_use_only() -> None:
    rule = LazyBuilderRule("/dashboard/instances/<instance_id>", endpoint="instance")
    adapter = Map([rule]).bind("localhost")
    first_build, first_unknown = rule._build, rule._build_unknown
    assert adapter.build("instance", {"instance_id": "x"}) == "/dashboard/instances/x"
    assert rule._build_unknown is not first_unknown  # compiled and kept
    compiled = rule._build_unknown
    assert adapter.build("instance", {"instance_id": "y", "q": "1"}) == (
        "/dashboard/instances/y?q=1"
    )
    assert rule._build_unknown is compiled
    assert rule._build is first_build  # never asked for: never compiled


def test_the_application_uses_them() -> None:
    assert BrokerFlask.url_rule_class is LazyBuilderRule
