"""Sphinx configuration of the skdistill documentation.

Build with ``make docs`` (warnings are errors), or
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.

Environment variables:

``SKDISTILL_DOCS_INTERSPHINX=1``
    Link to the scikit-learn, torch, SciPy, NumPy, Python and matplotlib docs.
    Off by default: the inventories are fetched from the web at build time, and a
    build without internet access must pass with ``-W``. Without them, references to
    those projects render as plain code.
``SKDISTILL_DOCS_PLOT_GALLERY=0``
    Do not run the examples (same as ``-D plot_gallery=0``): a quick build of the
    text only.
"""

import os
import re

import skdistill

project = "skdistill"
author = "skdistill developers"
copyright = "skdistill developers"
release = skdistill.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax copied into the build: equations render without internet access
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

# -- intersphinx ---------------------------------------------------------------------
# Opt-in (see the module docstring): offline builds stay warning-free.
if os.environ.get("SKDISTILL_DOCS_INTERSPHINX", "0") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "torch": ("https://docs.pytorch.org/docs/stable/", None),
        "matplotlib": ("https://matplotlib.org/stable/", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable/", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
    }
else:
    intersphinx_mapping = {}
intersphinx_timeout = 10

# -- autodoc / autosummary / numpydoc ---------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Types in "Parameters" become cross-references where known; other words render as
# code (so that ``n_features_in_`` in a shape is not read as a reST link).
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "DataFreeDistillRegressor": "skdistill.DataFreeDistillRegressor",
    "InputSpec": "skdistill.InputSpec",
    "CompactRegressor": "skdistill.compact.CompactRegressor",
    "Sampler": "skdistill.samplers.Sampler",
    "Teacher": "skdistill.teachers.Teacher",
    "FidelityScorer": "skdistill.metrics.FidelityScorer",
    "ndarray": "numpy.ndarray",
    "Tensor": "torch.Tensor",
    "torch.Tensor": "torch.Tensor",
    "nn.Module": "torch.nn.Module",
    "torch.nn.Module": "torch.nn.Module",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
}
numpydoc_xref_ignore = {
    "of",
    "or",
    "and",
    "to",
    "the",
    "a",
    "an",
    "in",
    "is",
    "shape",
    "default",
    "optional",
    "instance",
    "instances",
    "class",
    "either",
    "such",
    "mapping",
    "callable",
    "int",
    "float",
    "str",
    "dict",
    "list",
    "lists",
    "tuple",
    "None",
    "object",
    "type",
    "path",
    "path-like",
    "fitted",
    "estimator",
    "regressor",
    "matplotlib",
    "skorch",
    "torch",
    "function",
    "it",
    "its",
    "same",
    "as",
    "by",
    "from",
    "pairs",
    "unfitted",
    "any",
    "RandomState",
    "scikit-learn",
    "Pipeline",
}
if not intersphinx_mapping:
    # numpydoc links these words to the Python and NumPy docs, which only
    # intersphinx knows: offline they stay plain words (not "python:int").
    _WORDS_LINKED_ONLINE = [
        "None",
        "True",
        "False",
        "bool",
        "boolean",
        "int",
        "float",
        "str",
        "string",
        "list",
        "tuple",
        "dict",
        "callable",
        "iterable",
        "sequence",
        "generator",
        "contextmanager",
        "namedtuple",
        "array",
        "array-like",
        "array_like",
        "scalar",
        "numpy",
    ]
    numpydoc_xref_aliases.update({word: word for word in _WORDS_LINKED_ONLINE})
    numpydoc_xref_ignore.update(_WORDS_LINKED_ONLINE)

# -- sphinx-gallery --------------------------------------------------------------------
# Every examples/*/plot_*.py runs during the build, and a failing example fails it.
# Examples listed here are shown without running (no output, no figures), each with
# the reason; remove an entry as soon as its example runs again.
NOT_RUN = {
    "tuning/plot_dask_gridsearch.py": "starts a dask LocalCluster whose two worker "
    "processes each import torch and skdistill: 30-70 s on two shared cores, for "
    "a few seconds of search (make test-slow still runs it)",
}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": (
        "^(?!.*(" + "|".join(re.escape(path) for path in NOT_RUN) + "))" + r".*/plot_"
        if NOT_RUN
        else r"/plot_"
    ),
    "subsection_order": [
        "../examples/quickstart",
        "../examples/teachers",
        "../examples/tuning",
        "../examples/method",
        "../examples/deployment",
        "*",
    ],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skdistill",),
    "backreferences_dir": "gen_modules/backreferences",
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "plot_gallery": os.environ.get("SKDISTILL_DOCS_PLOT_GALLERY", "1") != "0",
}

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdistill {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path = []
html_show_sourcelink = True


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing setters (set_fit_request, ...):
    generated methods whose docs belong to scikit-learn."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


_SHAPE = re.compile(r"of shape (\([^()`]*\))")


def _literal_shapes(app, what, name, obj, options, lines):
    """Render ``of shape (n_samples, n_features_in_)`` with the shape as code, so
    that names ending in ``_`` inside it are not read as reST links."""
    lines[:] = [_SHAPE.sub(r"of shape ``\1``", line) for line in lines]


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    # before numpydoc (priority 500) turns the sections into reST
    app.connect("autodoc-process-docstring", _literal_shapes, priority=400)
