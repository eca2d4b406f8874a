"""The PDF edition: the whole book as one HTML page, printed by headless Chromium.

``build_pdf`` builds the book with Jupyter Book's ``singlehtml`` builder into a staging folder, serves
it on 127.0.0.1, opens it in Debian's Chromium (no request may leave the machine), waits until every
chart is drawn, and prints it to ``_build/pdf/inference-cost-book.pdf`` (A4, with backgrounds). The page
is laid out in print media at the printed width before printing, and printing waits until its height
stops changing, so charts that resize to their container are settled. The explorers print in their
default state. A copy is placed beside the HTML book so the published site
links to it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from analysis import paths
from analysis.build import offline
from analysis.errors import StepError

PDF_NAME = "inference-cost-book.pdf"
CHART_TIMEOUT_MS = 60000
PRINT_WIDTH_PX = 720
SETTLED_JS = """() => {
  const h = document.documentElement.scrollHeight;
  const settled = window.__lastHeight === h;
  window.__lastHeight = h;
  return settled;
}"""


class PdfFailed(StepError, RuntimeError):
    """The single-page build failed, or the page asked for a resource off the machine."""


def build_singlehtml(root: Path) -> Path:
    """The whole book as one page, in ``_build/.pdf-stage``; returns the folder holding index.html."""
    from analysis.book import bibliography, figures
    from analysis.data import store

    figures.write_vega_bundle(root / "_static")
    bibliography.write_bib(root / paths.DATA / store.STORE_NAME, root / paths.BIBLIOGRAPHY / bibliography.BIB_NAME)
    stage = root / paths.BUILD / ".pdf-stage"
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(root), "--builder", "singlehtml", "--path-output", str(stage), "--quiet"]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise PdfFailed("single-page build failed:\n" + (done.stdout + done.stderr)[-4000:])
    return stage / "_build" / "singlehtml"


def start_page(folder: Path) -> str:
    """The page holding the book: Jupyter Book's ``index.html`` only redirects to the root document
    (``<meta http-equiv="Refresh" ...>``), and printing it could race the redirect and print one page."""
    import re

    text = (folder / "index.html").read_text(encoding="utf-8", errors="replace")
    found = re.search(r'http-equiv="Refresh"\s+content="0;\s*url=([A-Za-z0-9_./-]+\.html)"', text)
    return found.group(1) if found and (folder / found.group(1)).is_file() else "index.html"


def print_pdf(folder: Path, out: Path) -> Path:
    """Print ``folder/index.html`` to ``out`` once every chart on it is drawn."""
    offsite: list[str] = []
    with offline.serve(folder) as base, offline.browser() as browser:
        context = offline.offline_context(browser, offsite, viewport={"width": PRINT_WIDTH_PX, "height": 1100})
        page = context.new_page()
        page.emulate_media(media="print")
        page.goto(f"{base}/{start_page(folder)}", wait_until="load")
        offline.wait_for_charts(page, CHART_TIMEOUT_MS)
        page.wait_for_function(SETTLED_JS, timeout=CHART_TIMEOUT_MS, polling=500)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(out), format="A4", print_background=True,
                 margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
    if offsite:
        raise PdfFailed(f"the single-page book asked for {len(offsite)} off-machine resources, e.g. {offsite[0]}")
    return out


def build_pdf(root: Path) -> Path:
    """Build the PDF edition into ``_build/pdf`` and copy it beside the HTML book."""
    pdf = print_pdf(build_singlehtml(root), root / paths.PDF / PDF_NAME)
    html = root / paths.HTML
    if html.is_dir():
        shutil.copy(pdf, html / PDF_NAME)
    return pdf
