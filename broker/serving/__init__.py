"""Serving HTTP with gunicorn: the application it runs (:mod:`.gunicorn_app`) and the
event-loop worker of ``mockbroker serve`` (:mod:`.worker`, :mod:`.framing`, :mod:`.lanes`)."""
