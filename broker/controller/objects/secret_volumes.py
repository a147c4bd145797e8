"""Secrets as folders, one file per key: the layout of a mounted Kubernetes secret volume.

``<volumes>/<namespace>/<name>/`` holds, like the kubelet's atomic writer::

    ..2024_05_01_10_00_00.123456/key.json    the files of one version
    ..data -> ..2024_05_01_10_00_00.123456   switched with one rename
    key.json -> ..data/key.json              what a reader opens

so a container that mounts the folder (``/var/secrets/provider``) sees either the old
or the new set of files, never a mix. Files are 0644 (a secret volume's default
mode); the top folder is 0700, so only its owner reaches them on the host.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State

__all__ = ["SecretVolumes", "write_folder"]

DATA = "..data"


class SecretVolumes:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, namespace: str, name: str) -> Path:
        return self.root / namespace / name

    def sync(self, state: State, keys: set[ObjectKey] | None = None) -> None:
        """Make the folders match the Secrets in ``state`` (only ``keys``, or all of them)."""
        if keys is None:
            keys = {
                ObjectKey("Secret", secret["metadata"]["namespace"], secret["metadata"]["name"])
                for secret in state.list("Secret")
            }
            keys |= self._on_disk()
        for key in sorted(keys):
            secret = state.get(key)
            if secret is None:
                self.remove(key.namespace, key.name)
            else:
                files = {
                    name: base64.b64decode(value)
                    for name, value in (secret.get("data") or {}).items()
                }
                self.write(key.namespace, key.name, files)

    def _on_disk(self) -> set[ObjectKey]:
        found: set[ObjectKey] = set()
        if not self.root.is_dir():
            return found
        for namespace in self.root.iterdir():
            if namespace.is_dir():
                found.update(
                    ObjectKey("Secret", namespace.name, folder.name)
                    for folder in namespace.iterdir()
                    if (folder / DATA).exists()
                )
        return found

    def read(self, namespace: str, name: str) -> dict[str, bytes] | None:
        folder = self.folder(namespace, name)
        data = folder / DATA
        if not data.is_dir():
            return None
        return {
            child.name: child.read_bytes() for child in sorted(data.iterdir()) if child.is_file()
        }

    def write(self, namespace: str, name: str, files: dict[str, bytes]) -> None:
        if self.read(namespace, name) == files:
            return
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_folder(self.folder(namespace, name), files)

    def remove(self, namespace: str, name: str) -> None:
        folder = self.folder(namespace, name)
        if folder.exists():
            shutil.rmtree(folder)
        parent = folder.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into ``folder`` as a secret volume, replacing what was there atomically."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o755)
    version = (
        folder
        / f"..{time.strftime('%Y_%m_%d_%H_%M_%S', time.gmtime())}.{time.time_ns() % 10**9:09d}"
    )
    version.mkdir(mode=0o755)
    for key, value in files.items():
        path = version / key
        with open(path, "wb") as out:
            out.write(value)
            out.flush()
            os.fsync(out.fileno())
        path.chmod(0o644)
    previous = os.readlink(folder / DATA) if (folder / DATA).is_symlink() else None
    staged = folder / "..data_tmp"
    staged.unlink(missing_ok=True)
    staged.symlink_to(version.name)
    os.replace(staged, folder / DATA)
    for key in files:
        link = folder / key
        if not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to(f"{DATA}/{key}")
    for child in folder.iterdir():
        if child.is_symlink() and not child.name.startswith("..") and child.name not in files:
            child.unlink()
    if previous and previous != version.name:
        shutil.rmtree(folder / previous, ignore_errors=True)
