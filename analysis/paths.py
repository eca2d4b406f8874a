"""Every path of the repository, once. A book is a folder; these are the places in it.

Functions of the package take the book's root folder as an argument (so a test or a rerun can work on
a copy) and join it with these relative paths; ``ROOT`` is the checkout this package was installed
from, the default root of the command line.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "analysis"

DATA = Path("data")                      # the tables, their contracts and the store built from them
STORE_NAME = "inference.duckdb"          # the store, inside DATA
CHAPTERS = Path("chapters")              # the chapter notebooks and pages
STATE_NAME = "_execution.json"           # inside CHAPTERS: what each chapter read on its last run
STATUS_NAME = "appendix-status.md"       # inside CHAPTERS: the execution status page
CHANGES_NAME = "appendix-changes.md"     # inside CHAPTERS: what the last rerun changed
ANALYSES = Path("analyses")              # the parametrized papermill analyses and their runs.yml
BIBLIOGRAPHY = Path("_bibliography")     # the generated sources.bib
TOC = Path("_toc.yml")
LAB_CONFIG = Path("lab")                 # a Jupyter config folder for `make lab`: labconfig/page_config.json
BUILD = Path("_build")                   # everything built; never committed
HTML = BUILD / "html"                    # the book's website
RELEASE_DIR = "data"                     # inside HTML (and at the book's address): the data release
NEXT = BUILD / ".next"                   # the edition being built, before it is swapped in
JOURNAL = BUILD / ".journal.json"        # the swaps of a commit in progress
HTML_CACHE = BUILD / ".stage"            # Sphinx's state between HTML builds
ANALYSES_CACHE = BUILD / "analyses"      # executed analysis notebooks, by input hash
PDF = BUILD / "pdf"                      # the PDF edition
LOCK_NAME = ".build.lock"                # at the root: the build lock
