"""The local store: concurrent ``ctl`` processes, atomic writes, the reconciler lock,
and Secrets as secret-volume folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from broker.controller.objects import ObjectKey, ReconcilerBusy, SecretVolumes, State, Store


def secret(name: str, **data: str) -> str:
    items = ", ".join(f"{key}: {value}" for key, value in data.items())
    return f"""apiVersion: v1
kind: Secret
metadata: {{name: {name}, namespace: apps}}
stringData: {{{items}}}
"""


def test_concurrent_ctl_processes_lose_no_write(tmp_path: Path) -> None:
    state_dir = tmp_path / "ctl"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    processes = []
    for index in range(6):
        manifest = tmp_path / f"s{index}.yaml"
        manifest.write_text(secret(f"s{index}", value=str(index)))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "broker",
                    "ctl",
                    "--state-dir",
                    str(state_dir),
                    "apply",
                    "-f",
                    str(manifest),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment,
            )
        )
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    state = Store(state_dir).read()
    assert [obj["metadata"]["name"] for obj in state.list("Secret")] == [
        f"s{index}" for index in range(6)
    ]
    versions = {obj["metadata"]["resourceVersion"] for obj in state.list("Secret")}
    assert len(versions) == 6  # every write saw the one before it
    volumes = SecretVolumes(state_dir / "secrets")
    assert all(
        volumes.read("apps", f"s{index}") == {"value": str(index).encode()} for index in range(6)
    )


def test_a_write_that_fails_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.write() as state:
        state.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kept"}})
    before = store.path.read_bytes()
    with pytest.raises(RuntimeError), store.write() as state:
        state.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lost"}})
        raise RuntimeError("crash in the middle")
    assert store.path.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".store-")] == []


def test_only_one_process_reconciles_at_a_time(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.reconciling():
        with pytest.raises(ReconcilerBusy), Store(tmp_path).reconciling(blocking=False):
            pass
    with Store(tmp_path).reconciling(blocking=False):
        pass


def test_the_cluster_id_is_fixed_at_the_first_write(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.write():
        pass
    first = store.read().cluster_id
    with store.write():
        pass
    assert store.read().cluster_id == first


def test_secret_folders_switch_atomically_and_follow_the_store(tmp_path: Path) -> None:
    volumes = SecretVolumes(tmp_path / "secrets")
    volumes.write("apps", "creds", {"a": b"1", "b": b"2"})
    folder = tmp_path / "secrets" / "apps" / "creds"
    first_version = os.readlink(folder / "..data")
    assert (folder / "a").read_bytes() == b"1" and os.readlink(folder / "a") == "..data/a"
    assert oct((folder / first_version / "a").stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / "secrets").stat().st_mode & 0o777) == "0o700"
    volumes.write("apps", "creds", {"a": b"3", "c": b"4"})
    assert os.readlink(folder / "..data") != first_version
    assert not (folder / first_version).exists()
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith("..")) == [
        "a",
        "c",
    ]
    assert volumes.read("apps", "creds") == {"a": b"3", "c": b"4"}
    state = State({})
    volumes.sync(state)  # no Secret in the store any more: the folder goes
    assert not folder.exists()
    assert volumes.read("apps", "creds") is None


def test_objects_keep_their_keys_in_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.write() as state:
        state.put(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "x", "namespace": "ns"},
                "data": {},
            }
        )
    assert store.read().get(ObjectKey("Secret", "ns", "x")) is not None
    assert store.read().get(ObjectKey("Secret", "other", "x")) is None
