"""The documentation site builds with Sphinx and no warning (every page in the toctree, every image found), and
the README links only pages that exist."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent


def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
                        str(tmp_path / "html")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    pages = {p.stem for p in DOCS.glob("*.md")}
    assert pages <= {p.stem for p in (tmp_path / "html").glob("*.html")}
    assert (tmp_path / "html" / "_images" / "preprocess_steps.png").is_file()


def test_readme_links_existing_pages():
    readme = (DOCS.parent / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)]+)\)", readme)
    assert len(links) >= 10 and all((DOCS.parent / link).is_file() for link in links)
