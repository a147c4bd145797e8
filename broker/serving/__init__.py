"""Serving HTTP: the gunicorn worker of ``mockbroker serve`` and what it is made of."""
