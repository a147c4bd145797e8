"""The SQL that the SQLite and PostgreSQL stores share, cut by concern.

- :class:`Dialect` (:data:`SQLITE`, :data:`POSTGRES`): what differs between them
  (parameters, JSON members, NULL-safe equality), in one small object each;
- :class:`Database`: what the parts need of a backend (reads, writes,
  transactions), implemented once per backend;
- :class:`StateTables`, :class:`FaultRules`, :class:`CatalogDocuments`,
  :class:`Generation`: the parts, each answering one protocol of
  :mod:`broker.storage.protocols`;
- :class:`SQLParts`: the parts over one database, lent to a store;
- :func:`journal_select`: the journal filters (each backend appends its own way).
"""

from __future__ import annotations

from broker.storage.sql.catalogs import CatalogDocuments
from broker.storage.sql.database import Connection, Database, Statement, Written
from broker.storage.sql.dialect import POSTGRES, SQLITE, Dialect
from broker.storage.sql.faults import FaultRules
from broker.storage.sql.journal import JOURNAL_COLUMNS, journal_select
from broker.storage.sql.meta import Generation
from broker.storage.sql.sql_parts import SQLParts
from broker.storage.sql.state import StateTables

__all__ = [
    "CatalogDocuments",
    "Connection",
    "Database",
    "Dialect",
    "FaultRules",
    "Generation",
    "JOURNAL_COLUMNS",
    "POSTGRES",
    "SQLITE",
    "SQLParts",
    "Statement",
    "StateTables",
    "Written",
    "journal_select",
]
