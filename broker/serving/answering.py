"""Answering one complete request in a lane's thread, as gunicorn would.

The request, already read in full by the loop, is parsed from memory with
gunicorn's own parser, so a malformed one gets the answer gunicorn always gave
(in the OSB error shape, :mod:`broker.serving.error_answers`). The application runs
with gunicorn's WSGI environment, its hooks (``pre_request``, ``post_request``) and
request counting (``max_requests``), and writes into a
:class:`~broker.serving.response_writer.ResponseWriter`.

The application also finds in the environment what the worker knows about the
request: ``mockbroker.waiting`` (step aside in the lane during a long wait) and
``mockbroker.client_gone`` (whether the client has disconnected).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from gunicorn.http import wsgi
from gunicorn.http.errors import NoMoreData, ParseException
from gunicorn.workers import base

from broker.serving.connection import Connection
from broker.serving.error_answers import error_answer, refusal_answer
from broker.serving.lanes import Lane
from broker.serving.request_parsing import parse_request
from broker.serving.response_writer import ResponseWriter

__all__ = ["answer_request"]


def answer_request(
    worker: base.Worker,
    connection: Connection,
    request: bytes,
    lane: Lane,
    close_after: bool,
    too_large: int | None,
) -> bool:
    """Answer one complete request; whether the connection may serve another.

    ``worker`` is the :class:`~broker.serving.worker.EventLoopWorker` answering: its
    configuration (``request_cfg``, a
    :class:`~broker.serving.request_parsing.ConfigSnapshot`), log, hooks, request
    count and open connections. ``too_large`` is the size of a body refused unread
    (the request holds its head only). A worker that reaches ``max_requests`` stops
    being alive, and its loop is woken up to notice.
    """
    cfg = worker.request_cfg
    writer = ResponseWriter(connection.sock)
    req = None
    try:
        req = parse_request(cfg, connection, request)
    except NoMoreData:
        # Framing gunicorn cannot read to the end (a bare LF in the request line).
        writer.sendall(error_answer(400, "Bad Request", "BadRequest", "malformed request head"))
        writer.flush()
        return False
    except ParseException as exc:  # gunicorn's parser refuses the request head
        worker.log.warning("Invalid request from ip=%s: %s", connection.client[0], exc)
        writer.sendall(refusal_answer(exc))
        writer.flush()
        return False
    environ: dict[str, Any] = {}
    resp = None
    try:
        cfg.pre_request(worker, req)
        started = datetime.now()
        resp, environ = wsgi.create(req, writer, connection.client, connection.server, cfg)
        environ["gunicorn.socket"] = connection.sock
        environ["wsgi.multithread"] = True
        environ["mockbroker.waiting"] = lane.waiting
        environ["mockbroker.client_gone"] = connection.client_gone
        if too_large is not None:
            # Refused unread: the application answers 413 as for any body over
            # its limit (after checking credentials, and recorded like any answer).
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["CONTENT_LENGTH"] = str(too_large)
            environ["wsgi.input"] = io.BytesIO()
        worker.nr += 1
        if worker.nr >= worker.max_requests and worker.alive:
            worker.log.info("Autorestarting worker after current request.")
            worker.alive = False
            worker.connections.defer(lambda _: None, connection)
        if close_after or not worker.alive or not cfg.keepalive:
            resp.force_close()
        respiter = worker.wsgi(environ, resp.start_response)
        try:
            for item in respiter:
                resp.write(item)
            resp.close()
        finally:
            worker.log.access(resp, req, environ, datetime.now() - started)
            if hasattr(respiter, "close"):
                respiter.close()
        writer.flush()
        return not resp.should_close()
    except OSError:
        raise
    except Exception as exc:
        if writer.started:
            worker.log.exception("Error handling request (the answer had started)")
            return False
        writer.discard()
        worker.handle_error(req, writer, connection.client, exc)
        writer.flush()
        return False
    finally:
        try:
            cfg.post_request(worker, req, environ, resp)
        except Exception:
            worker.log.exception("Exception in post_request hook")
