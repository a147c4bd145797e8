"""The OSB state tables (instances, bindings, operations), in the SQL both databases share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from broker.storage.base import Change, Position, Put, StateCounts
from broker.storage.deleted_ids import EXPECTED_DELETE, ExpectedDelete
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.storage.sql.database import Connection, Database, Statement
from broker.storage.sql.deleted_ids import DeletedIdTables

__all__ = ["StateTables"]

TABLES = {"instance": "instances", "binding": "bindings", "operation": "operations"}

PUT_INSTANCE = (
    "INSERT INTO instances (id, service_id, plan_id, created_at, data) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "service_id = excluded.service_id, plan_id = excluded.plan_id, "
    "created_at = excluded.created_at, data = excluded.data"
)
PUT_BINDING = (
    "INSERT INTO bindings (id, instance_id, service_id, plan_id, created_at, data) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "instance_id = excluded.instance_id, service_id = excluded.service_id, "
    "plan_id = excluded.plan_id, created_at = excluded.created_at, data = excluded.data"
)
PUT_OPERATION = (
    "INSERT INTO operations (id, instance_id, binding_id, type, state, data) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "state = excluded.state, data = excluded.data"
)
LATEST_OF_INSTANCE = (
    "SELECT data FROM operations WHERE instance_id = ? AND binding_id IS NULL "
    "ORDER BY seq DESC LIMIT 1"
)
LATEST_OF_BINDING = (
    "SELECT data FROM operations WHERE instance_id = ? AND binding_id = ? ORDER BY seq DESC LIMIT 1"
)
# Finished operations older than the cut, except the newest of an instance or binding
# that still exists ({finished_at}, {same}: the dialect's JSON number and NULL-safe =).
PRUNE = (
    "DELETE FROM operations AS old WHERE state <> 'in progress' AND {finished_at} < ? "
    "AND NOT (seq = (SELECT MAX(seq) FROM operations AS newer "
    "WHERE newer.instance_id = old.instance_id AND newer.binding_id {same} old.binding_id) "
    "AND CASE WHEN binding_id IS NULL "
    "THEN EXISTS (SELECT 1 FROM instances WHERE id = old.instance_id) "
    "ELSE EXISTS (SELECT 1 FROM bindings WHERE id = old.binding_id) END)"
)
COUNT_INSTANCES = "SELECT service_id, plan_id, COUNT(*) FROM instances GROUP BY service_id, plan_id"
COUNT_BINDINGS = "SELECT service_id, plan_id, COUNT(*) FROM bindings GROUP BY service_id, plan_id"
COUNT_RUNNING = "SELECT type, COUNT(*) FROM operations WHERE state = 'in progress' GROUP BY type"


class StateTables:
    """:class:`~broker.storage.protocols.StateStore` without its locks, over a database.

    :meth:`apply` also remembers the id of the delete the request announced
    (:mod:`broker.storage.deleted_ids`), in the same transaction, in ``deleted``.
    """

    def __init__(self, database: Database, deleted: DeletedIdTables) -> None:
        self._database = database
        self._deleted = deleted
        dialect = database.dialect
        sql = dialect.sql
        self._get = {
            table: sql(f"SELECT data FROM {table} WHERE id = ?") for table in TABLES.values()
        }
        self._delete = {
            kind: sql(f"DELETE FROM {table} WHERE id = ?") for kind, table in TABLES.items()
        }
        self._put_instance = sql(PUT_INSTANCE)
        self._put_binding = sql(PUT_BINDING)
        self._put_operation = sql(PUT_OPERATION)
        self._latest_of_instance = sql(LATEST_OF_INSTANCE)
        self._latest_of_binding = sql(LATEST_OF_BINDING)
        self._bindings_of = sql("SELECT data FROM bindings WHERE instance_id = ? ORDER BY id")
        self._prune = sql(
            PRUNE.format(
                finished_at=dialect.json_number("data", "finished_at"),
                same=dialect.null_safe_equal,
            )
        )
        self._pages: dict[tuple[str, bool, bool, bool], str] = {}

    def _data(self, statement: str, *parameters: Any) -> Any:
        row = self._database.row(statement, parameters)
        return json.loads(row[0]) if row else None

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        data = self._data(self._get["instances"], instance_id)
        return InstanceRecord.from_dict(data) if data else None

    def get_binding(self, binding_id: str) -> BindingRecord | None:
        data = self._data(self._get["bindings"], binding_id)
        return BindingRecord.from_dict(data) if data else None

    def get_operation(self, operation_id: str) -> OperationRecord | None:
        data = self._data(self._get["operations"], operation_id)
        return OperationRecord.from_dict(data) if data else None

    def latest_operation(
        self, instance_id: str, binding_id: str | None = None
    ) -> OperationRecord | None:
        # Two statements rather than one NULL-safe comparison: each uses the index.
        if binding_id is None:
            data = self._data(self._latest_of_instance, instance_id)
        else:
            data = self._data(self._latest_of_binding, instance_id, binding_id)
        return OperationRecord.from_dict(data) if data else None

    def bindings_of(self, instance_id: str) -> list[BindingRecord]:
        rows = self._database.rows(self._bindings_of, (instance_id,))
        return [BindingRecord.from_dict(json.loads(row[0])) for row in rows]

    def apply(self, changes: Sequence[Change]) -> None:
        # Every statement is built (records encoded) before the transaction, so the
        # time spent holding the write lock is the database's only. Written out here,
        # without helpers: this is every write's path.
        statements: list[Statement] = []
        expected = EXPECTED_DELETE.get()
        announced: ExpectedDelete | None = None
        for change in changes:
            if not isinstance(change, Put):
                statements.append((self._delete[change.kind], (change.id,)))
                if (
                    expected is not None
                    and change.id == expected.id
                    and change.kind == expected.kind
                    and expected.remembered is None
                ):
                    announced = expected
                continue
            record = change.record
            if isinstance(record, InstanceRecord):
                statements.append(
                    (
                        self._put_instance,
                        (
                            record.id,
                            record.service_id,
                            record.plan_id,
                            record.created_at,
                            record.to_json(),
                        ),
                    )
                )
            elif isinstance(record, BindingRecord):
                statements.append(
                    (
                        self._put_binding,
                        (
                            record.id,
                            record.instance_id,
                            record.service_id,
                            record.plan_id,
                            record.created_at,
                            record.to_json(),
                        ),
                    )
                )
            else:
                statements.append(
                    (
                        self._put_operation,
                        (
                            record.id,
                            record.instance_id,
                            record.binding_id,
                            record.type,
                            record.state,
                            record.to_json(),
                        ),
                    )
                )
        if announced is None:
            self._database.write_all(statements)
            return
        # Last, so that the write answers what it did.
        kind, deleted_id = announced.kind, announced.id
        statements.append(self._deleted.remembering(kind, deleted_id))
        written = self._database.write_all(statements)
        announced.remembered = self._deleted.remembered(kind, deleted_id, written)

    def _page(
        self, table: str, limit: int | None, after: Position | None, newest_first: bool
    ) -> list[Any]:
        key = (table, after is not None, newest_first, limit is not None)
        statement = self._pages.get(key)
        if statement is None:
            order = "DESC" if newest_first else "ASC"
            where = (
                f"WHERE (created_at, id) {'<' if newest_first else '>'} (?, ?) " if after else ""
            )
            statement = self._pages[key] = self._database.dialect.sql(
                f"SELECT data FROM {table} {where}ORDER BY created_at {order}, id {order}"
                + (" LIMIT ?" if limit is not None else "")
            )
        parameters: list[Any] = [] if after is None else [float(after[0]), str(after[1])]
        if limit is not None:
            parameters.append(limit)
        return [json.loads(row[0]) for row in self._database.rows(statement, parameters)]

    def list_instances(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[InstanceRecord]:
        pages = self._page("instances", limit, after, newest_first)
        return [InstanceRecord.from_dict(data) for data in pages]

    def list_bindings(
        self, limit: int | None = None, after: Position | None = None, newest_first: bool = False
    ) -> list[BindingRecord]:
        pages = self._page("bindings", limit, after, newest_first)
        return [BindingRecord.from_dict(data) for data in pages]

    def list_operations(
        self,
        limit: int = 1000,
        *,
        before: str | None = None,
        state: str | None = None,
        instance_id: str | None = None,
    ) -> list[OperationRecord]:
        where: list[str] = []
        parameters: list[Any] = []
        if before is not None:
            where.append("seq < COALESCE((SELECT seq FROM operations WHERE id = ?), -1)")
            parameters.append(before)
        if state == "finished":
            where.append("state <> 'in progress'")
        elif state is not None:
            where.append("state = ?")
            parameters.append(state)
        if instance_id is not None:
            where.append("instance_id = ?")
            parameters.append(instance_id)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self._database.rows(
            self._database.dialect.sql(
                f"SELECT data FROM (SELECT seq, data FROM operations {clause}"
                "ORDER BY seq DESC LIMIT ?) AS newest ORDER BY seq"
            ),
            (*parameters, max(limit, 0)),
        )
        return [OperationRecord.from_dict(json.loads(row[0])) for row in rows]

    def prune_operations(self, finished_before: float) -> int:
        return self._database.write(self._prune, (finished_before,)).rowcount

    def counts(self) -> StateCounts:
        rows = self._database.rows
        instances = {(service, plan): int(n) for service, plan, n in rows(COUNT_INSTANCES)}
        bindings = {(service, plan): int(n) for service, plan, n in rows(COUNT_BINDINGS)}
        running = {kind: int(n) for kind, n in rows(COUNT_RUNNING)}
        return StateCounts(instances, bindings, running)

    @staticmethod
    def clear(db: Connection) -> None:
        """Forget every instance, binding and operation, in the caller's transaction."""
        for table in TABLES.values():
            db.execute(f"DELETE FROM {table}", ())
