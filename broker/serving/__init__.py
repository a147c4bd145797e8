"""Serving HTTP with gunicorn: the application it runs (:mod:`.gunicorn_app`) and the
event-loop worker of ``mockbroker serve`` (:mod:`.worker`), with its parts: the
limits (:mod:`.options`), one connection (:mod:`.connection`) and all of them
(:mod:`.open_connections`), reading requests (:mod:`.request_reader`, :mod:`.framing`),
the thread lanes (:mod:`.lanes`), answering (:mod:`.request_parsing`, :mod:`.answering`,
:mod:`.response_writer`, :mod:`.error_answers`)."""
