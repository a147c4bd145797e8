"""The compose demo's consumer app: log in to real databases with bound credentials.

The app knows nothing about the broker. Like a Pod in the Service Catalog
walkthrough, it finds secret folders mounted into it (one file per key, the layout
of a Kubernetes secret volume):

* ``PROVIDER_APPLICATION_CREDENTIALS`` names a ``key.json`` file, a JSON object whose
  connection data sits in a ``connection`` member (or at its top level);
* ``EXTRA_SECRET_FOLDERS`` (``:``-separated, optional) names further secret folders
  whose files are the credentials themselves (``uri``, ``host``, ``port``,
  ``username``, ``password``, ``database``, ``key_prefix``).

On every request it reads them again, logs in to each database with the username
and password it found, runs a query as that user, and reports:

    GET /         an HTML page: "connected" or what went wrong, per credential
    GET /status   the same as JSON; 200 when every login worked, 503 otherwise

The scheme of ``uri`` picks the driver: postgresql, mysql or redis. Passwords are
used, never shown.
"""

from __future__ import annotations

import html
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

KEY_VARIABLE = "PROVIDER_APPLICATION_CREDENTIALS"
FOLDERS_VARIABLE = "EXTRA_SECRET_FOLDERS"
CONNECT_TIMEOUT = 5


class CredentialsProblem(Exception):
    """The credentials are missing or do not describe a database this app can reach."""


@dataclass(frozen=True)
class Connection:
    scheme: str
    host: str
    port: int
    username: str
    password: str
    database: str
    key_prefix: str = ""

    @property
    def safe_uri(self) -> str:
        return f"{self.scheme}://{self.username}:***@{self.host}:{self.port}/{self.database}"


# --- where credentials come from ----------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One mounted secret: a key.json file, or a folder of one file per key."""

    path: Path

    @property
    def folder(self) -> Path:
        return self.path if self.path.is_dir() or not self.path.suffix else self.path.parent

    def connection_data(self) -> dict[str, Any]:
        if self.path.suffix == ".json":
            key = read_json(self.path)
            data = key.get("connection", key)
            if not isinstance(data, dict):
                raise CredentialsProblem(f"{self.path}: 'connection' is not a JSON object")
            return data
        if not self.path.is_dir():
            raise CredentialsProblem(f"{self.path} is not a folder (is the secret volume mounted?)")
        return {p.name: p.read_text(encoding="utf-8") for p in self.path.iterdir() if p.is_file()}

    def files(self) -> dict[str, int]:
        """Key name -> size in bytes of every file in the secret folder."""
        try:
            return {
                p.name: p.stat().st_size
                for p in sorted(self.folder.iterdir())
                if p.is_file() and not p.name.startswith(".")
            }
        except OSError:
            return {}


def read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialsProblem(f"{path} does not exist (is the secret volume mounted?)") from None
    except (OSError, ValueError) as exc:
        raise CredentialsProblem(f"{path} cannot be read as JSON: {exc}") from None
    if not isinstance(document, dict):
        raise CredentialsProblem(f"{path} holds {type(document).__name__}, not a JSON object")
    return document


def connection_from(data: dict[str, Any]) -> Connection:
    if not data.get("uri"):
        raise CredentialsProblem("the credentials have no uri")
    uri = urlsplit(str(data["uri"]).strip())
    scheme = {"postgres": "postgresql"}.get(uri.scheme, uri.scheme)
    if scheme not in VISITS:
        raise CredentialsProblem(f"unsupported scheme {uri.scheme!r} (known: {', '.join(VISITS)})")

    def field(name: str, from_uri: Any) -> str:
        value = data.get(name, from_uri)
        return "" if value is None else str(value).strip()

    port = field("port", uri.port)
    return Connection(
        scheme=scheme,
        host=field("host", uri.hostname),
        port=int(port) if port else DEFAULT_PORTS[scheme],
        username=field("username", unquote(uri.username or "")),
        # A password is taken verbatim: surrounding spaces could be part of it.
        password=str(data["password"])
        if data.get("password") is not None
        else unquote(uri.password or ""),
        database=field("database", uri.path.lstrip("/")),
        key_prefix=field("key_prefix", ""),
    )


# --- one login and one real round trip per driver, as the bound user ----------------


def visit_postgresql(conn: Connection) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(
        host=conn.host,
        port=conn.port,
        user=conn.username,
        password=conn.password,
        dbname=conn.database,
        connect_timeout=CONNECT_TIMEOUT,
        application_name="demo-app",
    ) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS demo_visits"
            " (id serial PRIMARY KEY, at timestamptz DEFAULT now())"
        )
        db.execute("INSERT INTO demo_visits DEFAULT VALUES")
        # session_user is the login; current_user the role it acts as (a broker may
        # have the login SET ROLE to a role owning the database).
        row = db.execute(
            "SELECT session_user, current_user, current_database(),"
            " current_setting('server_version'), (SELECT count(*) FROM demo_visits)"
        ).fetchone()
    assert row is not None
    user, role, database, version, visits = row
    return {
        "user": user,
        "acting_as": role,
        "database": database,
        "server_version": version,
        "visits": visits,
    }


def visit_mysql(conn: Connection) -> dict[str, Any]:
    import pymysql

    db = pymysql.connect(
        host=conn.host,
        port=conn.port,
        user=conn.username,
        password=conn.password,
        database=conn.database,
        connect_timeout=CONNECT_TIMEOUT,
        autocommit=True,
    )
    try:
        with db.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS demo_visits"
                " (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
            )
            cursor.execute("INSERT INTO demo_visits () VALUES ()")
            cursor.execute(
                "SELECT CURRENT_USER(), DATABASE(), VERSION(), (SELECT COUNT(*) FROM demo_visits)"
            )
            user, database, version, visits = cursor.fetchone()
    finally:
        db.close()
    return {
        "user": user.split("@", 1)[0],
        "database": database,
        "server_version": version,
        "visits": visits,
    }


def visit_redis(conn: Connection) -> dict[str, Any]:
    import redis

    client = redis.Redis(
        host=conn.host,
        port=conn.port,
        username=conn.username or None,
        password=conn.password or None,
        db=int(conn.database or 0),
        socket_timeout=CONNECT_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        decode_responses=True,
    )
    try:
        user = client.execute_command("ACL", "WHOAMI")
        # A bound user may only touch keys under its instance's prefix.
        visits = client.incr(f"{conn.key_prefix}demo_visits")
        hello = client.execute_command("HELLO", "2")
    finally:
        client.close()
    if not isinstance(hello, dict):  # RESP2 answers a flat list of names and values
        hello = dict(zip(hello[::2], hello[1::2], strict=False))
    server_version = hello.get("version", "")
    return {
        "user": user,
        "database": conn.database or "0",
        "server_version": server_version,
        "visits": visits,
    }


VISITS: dict[str, Callable[[Connection], dict[str, Any]]] = {
    "postgresql": visit_postgresql,
    "mysql": visit_mysql,
    "redis": visit_redis,
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "redis": 6379}


def check(source: Source) -> dict[str, Any]:
    report: dict[str, Any] = {"source": str(source.path), "secret_files": source.files()}
    started = time.monotonic()
    try:
        conn = connection_from(source.connection_data())
        report["connection"] = conn.safe_uri
        report.update(VISITS[conn.scheme](conn))
    except CredentialsProblem as exc:
        report.update(status="error", error=str(exc))
        return report
    except Exception as exc:  # noqa: BLE001 - any driver error is the answer to report
        report.update(status="error", error=f"{type(exc).__name__}: {exc}".strip())
        return report
    report.update(status="connected", duration_ms=round((time.monotonic() - started) * 1000, 1))
    return report


def check_all(sources: list[Source]) -> tuple[HTTPStatus, dict[str, Any]]:
    reports = [check(source) for source in sources]
    ok = all(report["status"] == "connected" for report in reports)
    summary = {"status": "connected" if ok else "error", "credentials": reports}
    return (HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE), summary


# --- HTTP ---------------------------------------------------------------------------


def render_section(report: dict[str, Any]) -> str:
    ok = report["status"] == "connected"
    headline = (
        f"connected to {report['connection']} as {report['user']}"
        if ok
        else f"cannot use the credentials: {report.get('error')}"
    )
    rows = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in report.items()
        if name != "secret_files"
    )
    files = (
        "".join(
            f"<li><code>{html.escape(name)}</code> ({size} bytes)</li>"
            for name, size in report["secret_files"].items()
        )
        or "<li>(none)</li>"
    )
    return (
        f'<section class="{"ok" if ok else "error"}"><h2>{html.escape(headline)}</h2>'
        f"<table>{rows}</table><p>Secret files:</p><ul>{files}</ul></section>"
    )


def render_page(summary: dict[str, Any]) -> str:
    sections = "\n".join(render_section(report) for report in summary["credentials"])
    status = summary["status"]
    # Connection URIs and names are long words: they wrap anywhere rather than make
    # the page scroll sideways, on a phone too.
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>demo-app: {status}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;margin:2rem;overflow-wrap:anywhere}}
.ok h2{{color:#1a7f37}}.error h2{{color:#cf222e}}
table{{border-collapse:collapse}}th{{text-align:left;vertical-align:top;padding-right:1rem}}
section{{margin-bottom:2rem}}@media (max-width:600px){{body{{margin:1rem}}}}</style>
</head><body>
<h1>demo-app: {html.escape(status)}</h1>
{sections}
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-app"
    sources: list[Source] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        path = urlsplit(self.path).path
        if path not in ("/", "/status"):
            self.respond(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return
        status, summary = check_all(self.sources)
        if path == "/status":
            self.respond(status, "application/json", json.dumps(summary).encode() + b"\n")
        else:
            self.respond(status, "text/html; charset=utf-8", render_page(summary).encode())

    def respond(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def sources_from_environment() -> list[Source]:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        sys.exit(f"error: set {KEY_VARIABLE} to the key.json of the mounted secret")
    folders = [part for part in os.environ.get(FOLDERS_VARIABLE, "").split(":") if part]
    return [Source(Path(key)), *(Source(Path(folder)) for folder in folders)]


def main() -> None:
    Handler.sources = sources_from_environment()
    # HOST 0.0.0.0 in the container; PORT 0 picks a free port (printed below).
    host = os.environ.get("HOST", "0.0.0.0")
    server = ThreadingHTTPServer((host, int(os.environ.get("PORT", "8000"))), Handler)
    # PID 1 in a container gets no default SIGTERM action: stop at once on "down".
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    paths = ", ".join(str(source.path) for source in Handler.sources)
    address = f"http://{host}:{server.server_address[1]}"
    print(f"demo-app on {address}, credentials from {paths}", flush=True)
    for report in check_all(Handler.sources)[1]["credentials"]:
        outcome = report.get("connection") or report.get("error", "")
        print(f"{report['source']}: {report['status']} {outcome}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
