"""pytest's own JUnit schema, ``junit-10.xsd``, for checking the findings' JUnit XML.

pytest validates its ``--junitxml`` output against this schema in its own test suite;
the file ships in pytest's source distribution on PyPI, not in the wheel. So
``make install-test`` runs this module (``python -m tests.support.junit_schema``): it
downloads the sdist of the installed pytest version with pip, once, and keeps the
schema under ``.venv/junit-schema/pytest-<version>/``. The tests read it with
:func:`require_schema`, which skips when it is missing (fails under ``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

import pytest

__all__ = ["MEMBER", "fetch", "require_schema", "require_xmllint", "schema_path"]

# The schema's path inside the sdist, below its top folder ``pytest-<version>/``.
MEMBER = "testing/example_scripts/junit-10.xsd"
# In the environment pytest runs from (``.venv`` for make): a new environment fetches anew.
CACHE = Path(sys.prefix) / "junit-schema"


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def schema_path(pytest_version: str | None = None) -> Path:
    """Where the schema of ``pytest_version`` (default: the installed one) is kept."""
    return CACHE / f"pytest-{pytest_version or version('pytest')}" / "junit-10.xsd"


def fetch(pytest_version: str | None = None) -> Path:
    """Download the pytest sdist of ``pytest_version`` (default: installed) and keep
    its schema; nothing is downloaded when it is already kept."""
    wanted = pytest_version or version("pytest")
    target = schema_path(wanted)
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(prefix="pytest-sdist-") as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--dest",
                folder,
                f"pytest=={wanted}",
            ],
            check=True,
        )
        (archive,) = Path(folder).glob("pytest-*.tar.gz")
        with tarfile.open(archive) as sdist:
            # Only the schema is read out of the archive; nothing is extracted to disk.
            names = [name for name in sdist.getnames() if name.endswith(f"/{MEMBER}")]
            extracted = sdist.extractfile(names[0]) if len(names) == 1 else None
            if extracted is None:
                raise FileNotFoundError(f"{archive.name} has no {MEMBER}")
            content = extracted.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(content)
    partial.replace(target)
    return target


def require_schema() -> Path:
    """The kept schema; skips (fails under ``CI=true``) when ``make install-test`` has
    not fetched it."""
    path = schema_path()
    if not path.exists():
        message = (
            f"pytest's JUnit schema is not at {path}: `make install-test` fetches it from "
            "the pytest sdist on PyPI"
        )
        if _under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_xmllint() -> str:
    """The ``xmllint`` program; skips (fails under ``CI=true``) when it is missing."""
    found = shutil.which("xmllint")
    if found is None:
        message = "xmllint is not installed (`make xml-deps` installs Debian's libxml2-utils)"
        if _under_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def main() -> int:
    """Fetch the schema if it is not kept yet; a failure fails only under ``CI=true``
    (elsewhere the tests that need it skip, saying why)."""
    if schema_path().exists():
        return 0
    print(f"fetching pytest's JUnit schema from the pytest {version('pytest')} sdist")
    try:
        fetch()
    except (OSError, ValueError, subprocess.CalledProcessError, tarfile.TarError) as exc:
        print(f"note: pytest's JUnit schema could not be fetched ({exc})", file=sys.stderr)
        return 1 if _under_ci() else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
