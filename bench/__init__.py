"""Benchmark: the broker against a bare Flask app under the same gunicorn (see README.md)."""
