"""Catalog documents: the files (or admin-API documents) a catalog is built from.

Folders are read for every ``*.yaml``, ``*.yml`` and ``*.json`` file directly
inside; ``.json`` files are read as JSON, everything else as YAML, within the
limits of :mod:`broker.decoding`. A file that cannot be read is a
:class:`~broker.catalog.problems.Problem`, reported with all the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from broker.catalog.problems import Problem
from broker.decoding import DecodingError, decode_json, decode_yaml

__all__ = ["CatalogDocument", "bundled_catalog_paths", "documents_from_paths", "read_document"]

CATALOG_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class CatalogDocument:
    """One catalog document and where it came from (a file, or an admin request)."""

    source: str
    data: Any
    # Folder that schema $refs are resolved against; None = no file refs allowed.
    base_dir: Path | None = None


def bundled_catalog_paths() -> tuple[Path, ...]:
    """The catalogs shipped with mockbroker (in the wheel, or the source checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_catalogs", here.parent / "catalogs"):
        if candidate.is_dir():
            return (candidate,)
    return ()


def documents_from_paths(paths: Iterable[Path]) -> tuple[list[CatalogDocument], list[Problem]]:
    """Read catalog files (folders: every *.yaml/*.yml/*.json directly inside)."""
    documents: list[CatalogDocument] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.suffix in CATALOG_SUFFIXES and p.is_file()
            )
            if not files:
                problems.append(
                    Problem(str(path), "", "folder holds no *.yaml, *.yml or *.json file")
                )
        elif path.is_file():
            files = [path]
        else:
            problems.append(Problem(str(path), "", "no such file or folder"))
            continue
        for file in files:
            try:
                data = read_document(file)
            except OSError as exc:
                problems.append(Problem(str(file), "", f"cannot read: {exc.strerror or exc}"))
                continue
            except ValueError as exc:
                problems.append(Problem(str(file), "", str(exc)))
                continue
            documents.append(CatalogDocument(str(file), data, file.parent))
    return documents, problems


def read_document(file: Path) -> Any:
    """A ``.json`` file parsed as JSON, any other as YAML, within :mod:`broker.decoding`'s
    limits (nesting, aliases, NaN, NUL), as a request body would be.

    Raises :class:`OSError` when it cannot be read, :class:`ValueError` saying where
    it is not valid JSON or YAML (in that format's own terms) or which limit it breaks.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        if file.suffix == ".json":
            return decode_json(text)
        return decode_yaml(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {_yaml_error(exc)}") from None
    except DecodingError as exc:
        if str(exc) != "is not valid JSON":
            raise ValueError(f"the document {exc}") from None
    # Not valid JSON (and not too deep, decode_json looked first): where, in JSON's terms.
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    raise ValueError("not valid JSON")


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
