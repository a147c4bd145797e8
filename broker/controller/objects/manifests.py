"""Reading manifests: files, folders (``*.yaml``, ``*.yml``, ``*.json``, sorted) or stdin.

Every YAML document of every file is one manifest; empty documents (a trailing
``---``, a file of comments) are skipped, and a ``kind: List`` is expanded into its
items, as kubectl does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Manifest", "ManifestReadError", "read_manifests"]

SUFFIXES = (".yaml", ".yml", ".json")


class ManifestReadError(ValueError):
    pass


@dataclass(frozen=True)
class Manifest:
    source: str
    index: int
    document: Any

    @property
    def where(self) -> str:
        return f"{self.source} (document {self.index + 1})"


def read_manifests(sources: tuple[str, ...]) -> list[Manifest]:
    manifests: list[Manifest] = []
    for source in sources:
        if source == "-":
            manifests.extend(_parse("<stdin>", sys.stdin.read()))
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(
                child for child in path.iterdir() if child.suffix in SUFFIXES and child.is_file()
            )
            if not files:
                raise ManifestReadError(f"{path}: no .yaml, .yml or .json files in this folder")
        elif path.is_file():
            files = [path]
        else:
            raise ManifestReadError(f'the path "{source}" does not exist')
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestReadError(f"{file}: {exc}") from None
            manifests.extend(_parse(str(file), text))
    return manifests


def _parse(source: str, text: str) -> list[Manifest]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ManifestReadError(f"{source}: not valid YAML: {exc}") from None
    found: list[Manifest] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if (
            isinstance(document, dict)
            and document.get("kind") == "List"
            and isinstance(document.get("items"), list)
        ):
            found.extend(Manifest(source, index, item) for item in document["items"])
        else:
            found.append(Manifest(source, index, document))
    return found
