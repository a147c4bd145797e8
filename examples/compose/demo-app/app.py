"""The compose demo's consumer app: log in to a real database with bound credentials.

The app knows nothing about the broker. Like a Pod in the Service Catalog
walkthrough, it finds a secret folder mounted into it (one file per key, the
layout of a Kubernetes secret volume) and the environment variable
``PROVIDER_APPLICATION_CREDENTIALS`` pointing at the ``key.json`` file in it.
On every request it reads the key, connects to the database the key describes
with the username and password in it, runs a query as that user, and reports:

    GET /         an HTML page: "connected" or what went wrong
    GET /status   the same as JSON; 200 when the login worked, 503 otherwise

The key is a JSON object. Its connection data is read from a ``connection``
member if there is one, else from the top level: ``uri`` (its scheme picks the
driver: postgresql, mysql or redis) plus ``host``, ``port``, ``username``,
``password`` and ``database``. Passwords are used, never shown.
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
CONNECT_TIMEOUT = 5


class CredentialsProblem(Exception):
    """The key file is missing or does not describe a database this app can reach."""


@dataclass(frozen=True)
class Connection:
    scheme: str
    host: str
    port: int
    username: str
    password: str
    database: str

    @property
    def safe_uri(self) -> str:
        return f"{self.scheme}://{self.username}:***@{self.host}:{self.port}/{self.database}"


def read_key(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialsProblem(f"{path} does not exist (is the secret volume mounted?)") from None
    except (OSError, ValueError) as exc:
        raise CredentialsProblem(f"{path} cannot be read as JSON: {exc}") from None
    if not isinstance(document, dict):
        raise CredentialsProblem(f"{path} holds {type(document).__name__}, not a JSON object")
    return document


def connection_from_key(key: dict[str, Any]) -> Connection:
    data = key.get("connection", key)
    if not isinstance(data, dict) or not data.get("uri"):
        raise CredentialsProblem("the key has no connection uri (neither connection.uri nor uri)")
    uri = urlsplit(str(data["uri"]))
    scheme = {"postgres": "postgresql"}.get(uri.scheme, uri.scheme)
    if scheme not in CONNECTORS:
        raise CredentialsProblem(f"unsupported scheme {uri.scheme!r} (known: {', '.join(CONNECTORS)})")

    def field(name: str, from_uri: Any) -> str:
        value = data.get(name, from_uri)
        return "" if value is None else str(value)

    port = field("port", uri.port)
    return Connection(
        scheme=scheme,
        host=field("host", uri.hostname),
        port=int(port) if port else DEFAULT_PORTS[scheme],
        username=field("username", unquote(uri.username or "")),
        password=field("password", unquote(uri.password or "")),
        database=field("database", uri.path.lstrip("/")),
    )


# --- one login and one real round trip per driver, as the bound user ----------------


def visit_postgresql(conn: Connection) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(
        host=conn.host, port=conn.port, user=conn.username, password=conn.password,
        dbname=conn.database, connect_timeout=CONNECT_TIMEOUT, application_name="demo-app",
    ) as db:
        db.execute("CREATE TABLE IF NOT EXISTS demo_visits (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
        db.execute("INSERT INTO demo_visits DEFAULT VALUES")
        user, database, version, visits = db.execute(
            "SELECT current_user, current_database(), current_setting('server_version'),"
            " (SELECT count(*) FROM demo_visits)"
        ).fetchone()
    return {"user": user, "database": database, "server_version": version, "visits": visits}


def visit_mysql(conn: Connection) -> dict[str, Any]:
    import pymysql

    db = pymysql.connect(
        host=conn.host, port=conn.port, user=conn.username, password=conn.password,
        database=conn.database, connect_timeout=CONNECT_TIMEOUT, autocommit=True,
    )
    try:
        with db.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS demo_visits (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
            cursor.execute("INSERT INTO demo_visits () VALUES ()")
            cursor.execute("SELECT CURRENT_USER(), DATABASE(), VERSION(), (SELECT COUNT(*) FROM demo_visits)")
            user, database, version, visits = cursor.fetchone()
    finally:
        db.close()
    return {"user": user, "database": database, "server_version": version, "visits": visits}


def visit_redis(conn: Connection) -> dict[str, Any]:
    import redis

    client = redis.Redis(
        host=conn.host, port=conn.port, username=conn.username or None, password=conn.password or None,
        db=int(conn.database or 0), socket_timeout=CONNECT_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
    )
    try:
        user = client.execute_command("ACL", "WHOAMI")
        visits = client.incr(f"{conn.username or 'demo'}:demo_visits")
        version = client.info("server")["redis_version"]
    finally:
        client.close()
    return {"user": user.decode() if isinstance(user, bytes) else user, "database": conn.database or "0",
            "server_version": version, "visits": visits}


CONNECTORS: dict[str, Callable[[Connection], dict[str, Any]]] = {
    "postgresql": visit_postgresql,
    "mysql": visit_mysql,
    "redis": visit_redis,
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "redis": 6379}


def secret_files(folder: Path) -> dict[str, int]:
    """Key name -> size in bytes of every file in the mounted secret folder."""
    try:
        return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}
    except OSError:
        return {}


def check(key_path: Path) -> tuple[HTTPStatus, dict[str, Any]]:
    report: dict[str, Any] = {"key_file": str(key_path), "secret_files": secret_files(key_path.parent)}
    started = time.monotonic()
    try:
        conn = connection_from_key(read_key(key_path))
        report["connection"] = conn.safe_uri
        report.update(CONNECTORS[conn.scheme](conn))
    except CredentialsProblem as exc:
        report.update(status="error", error=str(exc))
        return HTTPStatus.SERVICE_UNAVAILABLE, report
    except Exception as exc:  # noqa: BLE001 - any driver error is the answer to report
        report.update(status="error", error=f"{type(exc).__name__}: {exc}".strip())
        return HTTPStatus.SERVICE_UNAVAILABLE, report
    report.update(status="connected", duration_ms=round((time.monotonic() - started) * 1000, 1))
    return HTTPStatus.OK, report


def render_page(status: HTTPStatus, report: dict[str, Any]) -> str:
    ok = status == HTTPStatus.OK
    headline = (
        f"connected to {report['connection']} as {report['user']}"
        if ok else f"cannot use the bound credentials: {report.get('error')}"
    )
    rows = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in report.items() if name != "secret_files"
    )
    files = "".join(
        f"<li><code>{html.escape(name)}</code> ({size} bytes)</li>" for name, size in report["secret_files"].items()
    ) or "<li>(none)</li>"
    color = "#1a7f37" if ok else "#cf222e"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>demo-app: {'connected' if ok else 'error'}</title>
<style>body{{font-family:sans-serif;margin:2rem}}h1{{color:{color}}}th{{text-align:left;padding-right:1rem}}</style>
</head><body>
<h1>{html.escape(headline)}</h1>
<table>{rows}</table>
<h2>Secret files in {html.escape(str(Path(report['key_file']).parent))}</h2>
<ul>{files}</ul>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-app"
    key_path: Path

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        path = urlsplit(self.path).path
        if path not in ("/", "/status"):
            self.respond(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return
        status, report = check(self.key_path)
        if path == "/status":
            self.respond(status, "application/json", json.dumps(report).encode() + b"\n")
        else:
            self.respond(status, "text/html; charset=utf-8", render_page(status, report).encode())

    def respond(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        sys.exit(f"error: set {KEY_VARIABLE} to the key.json of the mounted secret")
    Handler.key_path = Path(key)
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    # PID 1 in a container gets no default SIGTERM action: stop at once on "down".
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"demo-app on port {port}, reading {key}", flush=True)
    status, report = check(Handler.key_path)
    print(f"first check: {report.get('status')} {report.get('connection', '')} {report.get('error', '')}".rstrip(), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
