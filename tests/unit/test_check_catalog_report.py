"""``mockbroker check-catalog`` tells an author everything wrong with a catalog at once.

One pass names every problem (fields, schemas, knobs, backends, fault rules,
duplicates), suggests the known word for a misspelt one, speaks one style (never
marshmallow's stock sentences), names a broken ``.json`` file as JSON, and explains
the ids it derived from names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from broker.cli import main

BROKEN = Path(__file__).resolve().parents[1] / "catalogs" / "broken"
EVERY_MISTAKE = BROKEN / "every-mistake-at-once.yaml"
DERIVED_SMALL_ID = "6a846e8a-7699-50e7-94d7-3624875c032b"  # uuid5 of orders-db/small
FAULT_OPERATIONS = (
    "catalog, provision, update, deprovision, fetch_instance, last_operation, bind, unbind, "
    "fetch_binding, binding_last_operation"
)
JSON_TYPES = "array, boolean, integer, null, number, object, string"
# What marshmallow says by itself; the checks reword all of it.
STOCK_PHRASES = (
    "Missing data for required field",
    "Not a valid",
    "Must be ",
    "Unknown field.",
    "Field may not be null",
    "Invalid input type",
    "Shorter than minimum length",
)


def check(*paths: Path) -> tuple[int, list[str], str]:
    """Exit code, the problem lines (stdout) and the summary (stderr)."""
    result = CliRunner().invoke(main, ["check-catalog", *map(str, paths)])
    return result.exit_code, result.stdout.splitlines(), result.stderr


def test_every_mistake_of_a_first_catalog_is_reported_in_one_pass() -> None:
    code, lines, summary = check(EVERY_MISTAKE)
    at = f"{EVERY_MISTAKE}: services[0]"
    plan = f"{at}.plans[0]"
    schema = "schemas.service_instance.create.parameters"
    assert code == 1
    assert lines == [
        f"{at}.description: is required",
        f"{at}.descripton: unknown field; did you mean 'description'?",
        f"{at}.plan_updatable: unknown field; did you mean 'plan_updateable'?",
        f"{plan}.mockbroker.credentials.backend: unknown credential backend 'postgress'; "
        "did you mean 'postgres'? (known: fake, mysql, parameters, postgres, redis, static)",
        f"{plan}.mockbroker.faults[0].match.operation: unknown operation 'bnid'; "
        f"did you mean 'bind'? (known: {FAULT_OPERATIONS})",
        f"{plan}.mockbroker.provision.mode: must be one of sync, async, async-required, "
        "not 'asynch'; did you mean 'async'?",
        f"{plan}.{schema}: '$schema' is required (e.g. http://json-schema.org/draft-04/schema#)",
        f"{plan}.{schema}.type: unknown type 'objec'; did you mean 'object'? "
        f"(JSON Schema types: {JSON_TYPES})",
        f"{at}.plans[1]: duplicate id '{DERIVED_SMALL_ID}', derived from the names "
        f"orders-db/small (also derived from the same names at {plan}); give one of them "
        "another name or an explicit id",
        f"{at}.plans[1].bindabel: unknown field; did you mean 'bindable'?",
        f"{at}.plans[1].description: is required",
        f"{at}.plans[1].name: duplicate plan name 'small' in orders-db (first used at {plan}.name)",
        f"{at}.plans[1].{schema}.required: not a valid JSON Schema: "
        "'size_gb' is not of type 'array'",
    ]
    assert summary == "13 problem(s) found\n"


def test_serve_refuses_the_catalog_listing_the_same_problems(tmp_path: Path) -> None:
    served = subprocess.run(
        [sys.executable, "-m", "broker", "serve", "--port", "0", "--catalog", str(EVERY_MISTAKE)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "BROKER_DATA_DIR": str(tmp_path / "data")},
    )
    _, lines, _ = check(EVERY_MISTAKE)
    assert served.returncode == 2
    assert [line.strip() for line in served.stderr.splitlines()[1:]] == lines


def test_no_check_speaks_in_marshmallow_s_own_words() -> None:
    code, lines, _ = check(*sorted(BROKEN.glob("*.yaml")))
    assert code == 1 and len(lines) > 40
    stock = [line for line in lines if any(phrase in line for phrase in STOCK_PHRASES)]
    assert stock == []


def test_a_broken_json_catalog_is_named_as_json(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"services": [\n  {"name": "queue",}\n]}\n')
    code, lines, _ = check(catalog)
    assert code == 1
    assert lines == [
        f"{catalog}: not valid JSON: line 2, column 20: "
        "Expecting property name enclosed in double quotes"
    ]


def test_a_broken_json_schema_file_is_named_as_json(tmp_path: Path) -> None:
    (tmp_path / "create.json").write_text('{"$schema": "http://json-schema.org/draft-04/schema#",')
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "services:\n"
        "  - {name: queue, description: Queue, bindable: true, plans: [{name: small,\n"
        "     description: Small, schemas: {service_instance: {create: {parameters:\n"
        "     {$ref: create.json}}}}}]}\n"
    )
    code, lines, _ = check(catalog)
    assert code == 1
    assert lines == [
        f"{catalog}: services[0].plans[0].schemas.service_instance.create.parameters: "
        f"$ref 'create.json': {tmp_path / 'create.json'}: not valid JSON: line 1, column 55: "
        "Expecting property name enclosed in double quotes"
    ]


def test_a_valid_json_catalog_is_served_as_written(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    document = {
        "services": [
            {
                "name": "queue",
                "description": "Queue",
                "bindable": True,
                "plans": [{"name": "small", "description": "Small"}],
            }
        ]
    }
    catalog.write_text(json.dumps(document))
    code, lines, _ = check(catalog)
    assert (code, lines) == (0, ["ok: 1 services, 1 plans in 1 file(s)"])


def test_an_id_derived_from_the_names_of_another_plan_is_explained(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "services:\n"
        "  - name: orders-db\n"
        "    description: Orders\n"
        "    bindable: true\n"
        "    plans:\n"
        f"      - {{name: large, description: Large, id: {DERIVED_SMALL_ID}}}\n"
        "      - {name: small, description: Small}\n"
    )
    code, lines, _ = check(catalog)
    assert code == 1
    assert lines == [
        f"{catalog}: services[0].plans[1]: duplicate id '{DERIVED_SMALL_ID}', derived from "
        f"the names orders-db/small (first written as the id at {catalog}: "
        "services[0].plans[0].id); rename it or give it an explicit id"
    ]


def test_a_misspelt_knob_value_or_key_gets_a_suggestion(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "services:\n"
        "  - name: queue\n"
        "    description: Queue\n"
        "    bindable: true\n"
        "    plans:\n"
        "      - name: small\n"
        "        description: Small\n"
        "        mockbroker:\n"
        "          provison: {mode: async}\n"
        "          deprovision: {finish: manul}\n"
        "          parameters_on_update: replase\n"
    )
    code, lines, _ = check(catalog)
    knobs = f"{catalog}: services[0].plans[0].mockbroker"
    assert code == 1
    assert lines == [
        f"{knobs}.deprovision.finish: must be 'manual', 'never', {{polls: N}} or "
        "{seconds: T}; did you mean 'manual'?",
        f"{knobs}.parameters_on_update: must be one of merge, replace, not 'replase'; "
        "did you mean 'replace'?",
        f"{knobs}.provison: unknown field; did you mean 'provision'?",
    ]
