"""Digests of the parameter schemas proven valid for their JSON Schema draft.

These are the schemas of the bundled catalogs (``catalogs/schemas/``), each checked
against its draft's metaschema by ``tests/unit/test_proven_schemas.py``, which also
fails, naming the digests to put here, when a bundled schema changes. A catalog's
schema whose canonical JSON has one of these digests
(:func:`broker.catalog.parameter_schemas.schema_digest`) is the same schema, and is
not checked again at every start; any other schema is.
"""

from __future__ import annotations

__all__ = ["PROVEN_SCHEMAS"]

PROVEN_SCHEMAS = frozenset(
    {
        # catalogs/schemas/database-bind.json
        "7602fb246eb7c33c47e317f01cabaec979b207cc78f7e59cfb5152cba0d7afe6",
        # catalogs/schemas/database-create.json
        "c664b6cbf04d99fcd67b4abf354d9f68e6eb02cc7c6ceb9707e6cc6226da001f",
        # catalogs/schemas/database-update.json
        "917e5b2e2b3572790a06cecd1198144c5cc45b76b6c75b9fa8dd03c9c5064e09",
    }
)
