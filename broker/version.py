"""The version of mockbroker, read by the build (pyproject.toml) and the image labels."""

__version__ = "0.1.0"
