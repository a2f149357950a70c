"""Sphinx configuration of the airflow-provider-mi documentation (``scripts/docs`` builds it, warnings as errors)."""

from __future__ import annotations

import airflow_provider_mi

project = "airflow-provider-mi"
author = "airflow-provider-mi contributors"
release = version = airflow_provider_mi.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "screenshots"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Airflow's own classes are documented by Airflow: references to them are not broken links here.
nitpicky = False

html_theme = "alabaster"
html_static_path: list[str] = []
