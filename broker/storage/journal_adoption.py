"""Carrying a journal database written by an older version over into a segment."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

from broker.storage.segment_files import IDS, SUFFIX, encode, read_counters

__all__ = ["adopt_journal_database"]

log = logging.getLogger("broker.storage")


def adopt_journal_database(folder: Path, counter: int, database: Path) -> None:
    """Write the entries of ``database`` into one segment of ``folder`` (ids kept, shared
    responses put back in place), move the ``counter`` past them and remove the
    database with its WAL files. The caller holds the journal's append lock."""
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            rows: list[tuple[int, str, str | None]] = []
            if "journal" in tables:
                shared = "journal_responses" in tables
                rows = connection.execute(
                    "SELECT journal.id, journal.data, journal_responses.data FROM journal "
                    "LEFT JOIN journal_responses "
                    "ON journal_responses.digest = journal.response_digest ORDER BY id"
                    if shared
                    else "SELECT id, data, NULL FROM journal ORDER BY id"
                ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        log.warning("could not read the older journal %s: %s", database, exc)
        rows = []
    last, floor, _ = read_counters(counter)
    if rows:
        lines = []
        for entry_id, data, response in rows:
            entry = json.loads(data)
            if response is not None:
                entry["response"] = json.loads(response)
            entry["id"] = entry_id
            lines.append(encode(entry) + b"\n")
        name = f"{rows[0][0]:020d}-adopted{SUFFIX}"
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"".join(lines))
        finally:
            os.close(fd)
        last = max(last, rows[-1][0])
    os.pwrite(counter, IDS.pack(last, floor), 0)
    for suffix in ("", "-wal", "-shm"):
        leftover = database.with_name(database.name + suffix)
        if leftover.exists():
            leftover.unlink()
