"""The documentation site builds with mkdocs' strict checks, as `make docs` builds it.

Strict: a link to a missing page or anchor, a page left out of the nav, or a
generated reference that cannot be made stops the build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_with_strict_checks_and_holds_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pages = {
        page.relative_to(ROOT / "docs").with_suffix("").as_posix()
        for page in (ROOT / "docs").rglob("*.md")
    }
    built = {
        page.parent.relative_to(site).as_posix() if page.parent != site else "index"
        for page in site.rglob("index.html")
    }
    assert pages <= built, f"pages not in the site: {pages - built}"
    reference = (site / "reference" / "admin-api" / "index.html").read_text()
    assert "POST /admin/faults" in reference and "<!-- generated" not in reference
