"""The PDF edition: the whole book as one HTML page, printed by headless Chromium.

``build_pdf`` builds the book with Jupyter Book's ``singlehtml`` builder into a staging folder, serves
it on 127.0.0.1, opens it in Debian's Chromium (no request may leave the machine), waits until every
chart is drawn, and prints it to ``_build/pdf/inference-cost-book.pdf`` (A4, with backgrounds). The page
is laid out in print media at the printed width before printing, and printing waits until its height
stops changing, so charts that resize to their container are settled. The explorers print in their
default state. A copy is placed beside the HTML book, where the front page links to it.

Before printing, ``prepare_page`` opens every figure's collapsed citation block (a closed ``<details>``
prints only its summary), gives a fresh ``id`` to each element whose ``id`` an earlier chapter already
uses (every chapter has a "Takeaway" and a "Sources" section; a chapter's own links follow its ids),
and rewrites each link to another file of the local server as the same path
under the book's public address (``analysis.edition``'s ``url``): the PDF outlives the server it was
printed from. Links inside the page stay internal links of the PDF, links to other sites are kept as
they are. A table wider than the text is printed in a smaller type with its words broken where
needed; anything still wider than the page stops the step (``PdfFailed``) rather than be cut at the
margin. Every page carries its number in the footer, and the outline (bookmarks: each chapter with
its sections) is added from the page's headings after printing (``pdf_outline``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from analysis import edition, paths
from analysis.build import offline, pdf_outline
from analysis.errors import StepError

PDF_NAME = "inference-cost-book.pdf"
CHART_TIMEOUT_MS = 60000
MARGIN = {"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"}
A4_WIDTH_MM = 210
PRINT_WIDTH_PX = round((A4_WIDTH_MM - sum(float(MARGIN[k].removesuffix("mm")) for k in ("left", "right")))
                       * 96 / 25.4)
"""The width of the printed text in CSS pixels (A4 less the side margins: 703): the page is laid out at
it before printing, so what fits on the screen's print layout fits on paper."""
HEADER_TEMPLATE = "<span></span>"  # no header (Chromium's default prints the date and the title)
FOOTER_TEMPLATE = ('<div style="width: 100%; font-size: 8px; color: #555; text-align: center;">'
                   '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
PREPARE_JS = """(base) => {
  for (const d of document.querySelectorAll("details.figure-cite")) d.open = true;
  const article = document.querySelector("article.bd-article") || document.body;
  const box = article.getBoundingClientRect();
  const edge = box.right - parseFloat(getComputedStyle(article).paddingRight) + 1;
  const shown = (e) => e.getClientRects().length > 0;
  const wide = (e) => shown(e) && e.getBoundingClientRect().right > edge;
  const scope = (e) => e.closest("div.toctree-wrapper") || article;
  const seen = new Map(), renamed = new Map();
  for (const e of article.querySelectorAll("[id]")) {
    const n = (seen.get(e.id) || 0) + 1;
    seen.set(e.id, n);
    if (n === 1) continue;
    const old = e.id;
    let fresh = old + "-" + n;
    while (document.getElementById(fresh)) fresh += "-" + n;
    e.id = fresh;
    if (!renamed.has(scope(e))) renamed.set(scope(e), new Map());
    renamed.get(scope(e)).set(old, fresh);
  }
  for (const a of article.querySelectorAll("a[href^='#']")) {
    const ids = renamed.get(scope(a)), id = decodeURIComponent(a.getAttribute("href").slice(1));
    if (ids && ids.has(id)) a.setAttribute("href", "#" + ids.get(id));
  }
  let squeezed = 0;
  for (const t of article.querySelectorAll("table")) {
    if (wide(t)) { t.classList.add("book-print-squeeze"); squeezed += 1; }
  }
  const overflowing = [...article.querySelectorAll("table, figure, svg, img, canvas, pre")].filter(wide)
    .map(e => (e.id || e.tagName.toLowerCase()) + ": " + (e.textContent || "").trim().slice(0, 80));
  let rewritten = 0;
  for (const a of document.querySelectorAll("a")) {
    const name = a.hasAttribute("href") ? "href" : (a.hasAttribute("xlink:href") ? "xlink:href" : null);
    if (!name) continue;
    let url;
    try { url = new URL(a.getAttribute(name), document.baseURI); } catch (e) { continue; }
    if (url.origin !== location.origin || url.pathname === location.pathname) continue;
    a.setAttribute(name, base + url.pathname + url.search + url.hash);
    rewritten += 1;
  }
  const headings = [];
  for (const s of article.querySelectorAll("section[id]")) {
    const h = [...s.children].find(c => /^H[1-6]$/.test(c.tagName));
    if (!h || !shown(s)) continue;
    const copy = h.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach(x => x.remove());
    const self = document.createElement("a");  // Chromium writes a destination only for a link's target
    self.setAttribute("href", "#" + s.id);
    self.style.cssText = "color: inherit; text-decoration: none;";
    self.append(...[...h.childNodes].filter(c => !(c.classList && c.classList.contains("headerlink"))));
    h.prepend(self);
    const before = s.previousElementSibling;
    headings.push({id: s.id, level: Number(h.tagName[1]), title: copy.textContent,
                   chapter: Boolean(before && before.id && before.id.startsWith("document-"))});
  }
  const ids = [...renamed.values()].reduce((n, m) => n + m.size, 0);
  return {squeezed, overflowing, rewritten, headings, renamed: ids};
}"""
SETTLED_JS = """() => {
  const h = document.documentElement.scrollHeight;
  const settled = window.__lastHeight === h;
  window.__lastHeight = h;
  return settled;
}"""


class PdfFailed(StepError, RuntimeError):
    """The single-page build failed, the page asked for a resource off the machine, or something on it
    is wider than the printed page."""


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


def prepare_page(page: Any, base: str) -> dict[str, Any]:
    """Make ``page`` ready to print (``PREPARE_JS``): citation blocks open, tables that are wider than
    the text squeezed (``book-print-squeeze`` in ``_static/book.css``), links to other local files
    under ``base``. Returns what it did and found: ``squeezed`` and ``rewritten`` (counts),
    ``overflowing`` (what still reaches past the right margin) and ``headings`` (for the outline)."""
    return dict(page.evaluate(PREPARE_JS, base.rstrip("/")))


def print_pdf(folder: Path, out: Path, book: edition.Edition | None = None) -> Path:
    """Print ``folder/index.html`` to ``out`` once every chart on it is drawn, with page numbers and
    bookmarks, its links to local files under the public address of ``book`` (the edition of this
    checkout's ``CITATION.cff`` when not given). Refuses to print a page on which a table or a figure
    would be cut at the right margin."""
    book = book or edition.edition()
    offsite: list[str] = []
    with offline.serve(folder) as base, offline.browser() as browser:
        context = offline.offline_context(browser, offsite, viewport={"width": PRINT_WIDTH_PX, "height": 1100})
        page = context.new_page()
        page.emulate_media(media="print")
        page.goto(f"{base}/{start_page(folder)}", wait_until="load")
        offline.wait_for_charts(page, CHART_TIMEOUT_MS)
        page.wait_for_function(SETTLED_JS, timeout=CHART_TIMEOUT_MS, polling=500)
        found = prepare_page(page, book.url)
        if found["overflowing"]:
            raise PdfFailed(f"{len(found['overflowing'])} tables or figures are wider than the printed page, "
                            f"e.g. {found['overflowing'][0]}")
        page.wait_for_function(SETTLED_JS, timeout=CHART_TIMEOUT_MS, polling=500)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(out), format="A4", print_background=True, margin=MARGIN,
                 display_header_footer=True, header_template=HEADER_TEMPLATE, footer_template=FOOTER_TEMPLATE)
    if offsite:
        raise PdfFailed(f"the single-page book asked for {len(offsite)} off-machine resources, e.g. {offsite[0]}")
    pdf_outline.add_outline(out, pdf_outline.headings_from(found["headings"]), title=book.title)
    return out


def build_pdf(root: Path) -> Path:
    """Build the PDF edition into ``_build/pdf`` and copy it beside the HTML book."""
    pdf = print_pdf(build_singlehtml(root), root / paths.PDF / PDF_NAME, edition.edition(root))
    html = root / paths.HTML
    if html.is_dir():
        shutil.copy(pdf, html / PDF_NAME)
    return pdf
