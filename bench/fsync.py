"""What a durable commit costs on this disk: raw ``fdatasync`` and SQLite commits.

SQLite in WAL mode with ``synchronous=FULL`` syncs the WAL on every commit;
``NORMAL`` syncs only at checkpoints. The difference between the two commit
latencies is the price of "an acknowledged change survives a power cut".
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from pathlib import Path

__all__ = ["measure_commit_costs"]


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def _fdatasync(folder: Path, count: int) -> list[float]:
    path = folder / "fsync-probe.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        samples = []
        for index in range(count):
            os.pwrite(fd, os.urandom(4096), (index % 16) * 4096)
            started = time.perf_counter()
            os.fdatasync(fd)
            samples.append(time.perf_counter() - started)
        return samples
    finally:
        os.close(fd)
        path.unlink()


def _sqlite_commits(folder: Path, synchronous: str, count: int) -> list[float]:
    path = folder / f"commit-probe-{synchronous.lower()}.db"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
        payload = "x" * 600  # about one instance record
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO probe (data) VALUES (?)", (payload,))
            db.execute("COMMIT")
            samples.append(time.perf_counter() - started)
        return samples
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure_commit_costs(folder: Path, count: int = 300) -> dict[str, dict[str, float]]:
    """Latency of ``fdatasync`` and of one-row SQLite commits at FULL and NORMAL."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "fdatasync_4k": _summary(_fdatasync(folder, count)),
        "sqlite_commit_full": _summary(_sqlite_commits(folder, "FULL", count)),
        "sqlite_commit_normal": _summary(_sqlite_commits(folder, "NORMAL", count)),
    }
