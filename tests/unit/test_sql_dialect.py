"""The dialects write the shared statements as each database wants them."""

from __future__ import annotations

from broker.storage.sql import POSTGRES, SQLITE


def test_sqlite_keeps_the_statement_as_written() -> None:
    statement = "SELECT data FROM faults WHERE id = ? AND key LIKE 'a%'"

    assert SQLITE.sql(statement) is statement


def test_postgresql_writes_psycopg_placeholders_and_escapes_literal_percent_signs() -> None:
    rendered = POSTGRES.sql("UPDATE t SET a = ? WHERE key LIKE 'a%' AND b = ?")

    assert rendered == "UPDATE t SET a = %s WHERE key LIKE 'a%%' AND b = %s"


def test_json_members_and_null_safe_equality_follow_the_dialect() -> None:
    assert SQLITE.json_text("data", "origin") == "json_extract(data, '$.origin')"
    assert POSTGRES.json_text("data", "origin") == "data->>'origin'"
    assert POSTGRES.json_number("data", "finished_at") == "(data->>'finished_at')::float8"
    assert (SQLITE.null_safe_equal, POSTGRES.null_safe_equal) == ("IS", "IS NOT DISTINCT FROM")
