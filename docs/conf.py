"""Sphinx configuration: MyST Markdown pages, the furo theme, autodoc of the public modules.

Build: ``python -m sphinx -W -b html docs build/docs`` (the ``docs`` extra installs Sphinx,
MyST and furo; refstrat itself must be importable, built in place or installed)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "refstrat"
author = "the refstrat authors"
copyright = "2026, the refstrat authors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "refstrat_headers",  # docs/_ext: the {header-opening} directive, from include/refstrat/*.h
]
source_suffix = {".md": "markdown"}
master_doc = "index"
exclude_patterns = ["_build", "examples"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "refstrat"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Docstrings write ``name`` for code, as Python's own documentation does; references that Sphinx
# cannot resolve (hypothesis' and pyperf's types) must not fail a -W build.
nitpicky = False
# The header-opening directive reads these; a changed header rebuilds the strategies page.
refstrat_include = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "include")


def _plain_bars(app, what, name, obj, options, lines):
    """refstrat's docstrings are written for help() as much as for this site: a ``|x|`` there is
    an absolute value, never a reStructuredText substitution."""
    lines[:] = [line.replace("|", "\\|") for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_bars)
