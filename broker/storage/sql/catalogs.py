"""Catalog documents sent through the admin API, in the SQL both databases share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from broker.storage.sql.database import Connection, Database
from broker.storage.sql.meta import Generation

__all__ = ["CatalogDocuments"]


class CatalogDocuments:
    """:class:`~broker.storage.protocols.CatalogDocumentStore` over a database."""

    def __init__(self, database: Database, generation: Generation) -> None:
        self._database = database
        self._bump = generation.bump
        self._insert = database.dialect.sql("INSERT INTO catalogs (data) VALUES (?)")

    def catalog_documents(self) -> list[dict[str, Any]]:
        rows = self._database.rows("SELECT data FROM catalogs ORDER BY seq")
        return [json.loads(row[0]) for row in rows]

    def catalog_set(self, documents: Sequence[dict[str, Any]]) -> None:
        encoded = [json.dumps(document, separators=(",", ":")) for document in documents]
        with self._database.transaction() as db:
            db.execute("DELETE FROM catalogs", ())
            for data in encoded:
                db.execute(self._insert, (data,))
            self._bump(db)

    @staticmethod
    def clear(db: Connection) -> None:
        """Forget every document, in the caller's transaction."""
        db.execute("DELETE FROM catalogs", ())
