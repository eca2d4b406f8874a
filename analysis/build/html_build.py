"""The HTML edition: what its build reads, the hash of that (to skip an unchanged build), and the build.

``render_html`` runs ``jupyter-book build`` with zero warnings allowed on the staged book
(``analysis.build.workflow``), in its own process group, stopped when it passes
``limits.html_timeout()``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from analysis import paths
from analysis.build import data_release, limits, pipeline
from analysis.data import datapackage
from analysis.data import store as store_mod
from analysis.errors import StepError

BIB_DIR = paths.BIBLIOGRAPHY.as_posix()
HTML_SOURCES = ("_config.yml", "_toc.yml", "intro.md", "_static", "_ext")
"""What the HTML build reads besides the chapters and the bibliography (copied into the staged book)."""
HTML_MODULES = ("analysis/__init__.py", "analysis/book/citestyle.py", "analysis/edition.py", "CITATION.cff")
"""Files of the checkout the HTML build reads: the book's Sphinx extension (``_ext``) imports the
in-text citation style and stamps each page with the edition of ``CITATION.cff``."""


def html_inputs_hash(root: Path = paths.ROOT) -> str:
    """Hash of everything the HTML build of the book in ``root`` reads (the same for the book and for
    its staged copy, so a build can be skipped when nothing it reads has changed)."""
    h = hashlib.sha256()
    files = [root / "_config.yml", root / "_toc.yml", *sorted((root / "_static").rglob("*")),
             *sorted(p for p in (root / "_ext").rglob("*") if p.suffix in (".py", ".html")),  # and templates
             root / "intro.md", *sorted((root / BIB_DIR).glob("*.bib")),
             *sorted(p for p in (root / paths.CHAPTERS).rglob("*") if p.is_file() and not p.name.startswith("."))]
    for p in files:
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    for module in HTML_MODULES:
        h.update(module.encode() + (paths.ROOT / module).read_bytes())
    # the data release beside the pages (``data_release``): the store's inputs and the descriptor
    h.update(str(store_mod.built_from(root / paths.DATA / store_mod.STORE_NAME)).encode())
    descriptor = root / paths.DATA / datapackage.DESCRIPTOR_NAME
    h.update(descriptor.read_bytes() if descriptor.is_file() else b"")
    return h.hexdigest()


class HtmlFailed(StepError, RuntimeError):
    """The HTML build failed, warned, or ran past its time limit."""


def render_html(src: Path, out: Path, cache: Path, *, echo: Callable[[str], None] = print) -> None:
    """Build the HTML of the book in ``src`` with zero warnings into ``out`` (which must not exist),
    with its figure files, using ``cache`` for Sphinx's state between builds.

    ``src`` is the staged book (``analysis.build.workflow``), so a failed or interrupted build changes
    nothing the reader sees. The build runs in its own process group and is stopped, with everything
    it started, when it passes ``limits.html_timeout()``."""
    import signal

    from analysis.book import bibliography, figures

    figures.write_vega_bundle(src / "_static")
    bibliography.write_bib(src / "data" / store_mod.STORE_NAME, src / BIB_DIR / bibliography.BIB_NAME)
    timeout = limits.html_timeout()
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(src), "--path-output", str(cache), "-W", "-n", "--keep-going", "--quiet"]
    echo("html: jupyter-book build -W -n --keep-going")
    proc = subprocess.Popen(cmd, cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise HtmlFailed(f"the HTML build ran longer than the limit of {timeout:g} s "
                         f"({limits.HTML_TIMEOUT_ENV}) and was stopped") from None
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise HtmlFailed("jupyter-book build failed:\n" + output.strip()[-6000:])
    built = cache / "_build" / "html"
    figures.export_figures(pipeline.chapter_notebooks(src), built / figures.FIGURES_DIR)
    shutil.copytree(built, out)
    data_release.publish(src / paths.DATA, out)
