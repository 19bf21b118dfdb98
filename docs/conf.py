"""Sphinx configuration of vitflow's documentation site (`make docs`: build/docs/html): the Markdown pages of
this folder through myst-parser; make test builds it with warnings as errors (docs/test_docs.py)."""

project = "vitflow"
author = "the vitflow authors"
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = "vitflow"
myst_heading_anchors = 3
