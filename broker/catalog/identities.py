"""Ids and names of a catalog: ids derived from names, and the duplicates found.

An id left out is derived with uuid5 from the names (``service:<name>``,
``plan:<service>/<plan>``) under :data:`ID_NAMESPACE`, so restarts never change it.
Service names must be unique across files, plan names within their service, and ids
everywhere; a duplicate derived id is reported with the names it comes from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from broker.catalog.problems import Problem

__all__ = ["ID_NAMESPACE", "FirstUse", "Uniqueness", "derived_plan_id", "derived_service_id"]

ID_NAMESPACE = uuid.UUID("5b0c8e1e-4d7a-5f3e-9c61-6d6f636b6272")


def derived_service_id(name: str) -> str:
    """The id of a service that was given none."""
    return str(uuid.uuid5(ID_NAMESPACE, f"service:{name}"))


def derived_plan_id(service_name: str, name: str) -> str:
    """The id of a plan that was given none."""
    return str(uuid.uuid5(ID_NAMESPACE, f"plan:{service_name}/{name}"))


@dataclass(frozen=True)
class FirstUse:
    """Where a name or id was first used, and the names an id was derived from."""

    source: str
    path: str
    derived_from: str | None = None

    def __str__(self) -> str:
        return f"{self.source}: {self.path}"


class Uniqueness:
    """The names and ids seen so far, and every duplicate among them."""

    def __init__(self) -> None:
        # (kind, value) -> where it was first used, for duplicate reports.
        self.seen: dict[tuple[str, str], FirstUse] = {}
        # (what, value, this use, first use) of every duplicate.
        self.duplicates: list[tuple[str, str, FirstUse, FirstUse]] = []

    def remember(self, kind: str, value: str, use: FirstUse, scope: str = "") -> None:
        """Note a name or id that must be unique (within ``scope``, e.g. a service)."""
        first = self.seen.setdefault((f"{kind} in {scope}" if scope else kind, value), use)
        if first is not use:
            where = f" in {scope}" if scope else ""
            self.duplicates.append((f"{kind} {value!r}{where}", value, use, first))

    def problems(self) -> list[Problem]:
        """One problem per duplicate, at the place it was used again."""
        found: list[Problem] = []
        for what, value, use, first in self.duplicates:
            if use.derived_from is None:
                message = f"duplicate {what} (first used at {first})"
            else:
                # The author never wrote this id: say where it comes from.
                origin = "the same names" if first.derived_from == use.derived_from else "there"
                message = (
                    f"duplicate id {value!r}, derived from the names {use.derived_from} "
                    f"(also derived from {origin} at {first}); give one of them another name "
                    "or an explicit id"
                )
                if first.derived_from is None:
                    message = (
                        f"duplicate id {value!r}, derived from the names {use.derived_from} "
                        f"(first written as the id at {first}); rename it or give it an explicit id"
                    )
            found.append(Problem(use.source, use.path, message))
        return found
