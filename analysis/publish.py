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

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

PDF_NAME = "inference-cost-book.pdf"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHART_SELECTOR = "div[id^='fig-'][id$='-chart']"
CHART_TIMEOUT_MS = 60000
PRINT_WIDTH_PX = 720
SETTLED_JS = """() => {
  const h = document.documentElement.scrollHeight;
  const settled = window.__lastHeight === h;
  window.__lastHeight = h;
  return settled;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def build_singlehtml(root: Path) -> Path:
    """The whole book as one page, in ``_build/.pdf-stage``; returns the folder holding index.html."""
    from analysis import bibliography, figures, store

    figures.write_vega_bundle(root / "_static")
    bibliography.write_bib(root / "data" / store.STORE_NAME, root / "_bibliography" / bibliography.BIB_NAME)
    stage = root / "_build" / ".pdf-stage"
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(root), "--builder", "singlehtml", "--path-output", str(stage), "--quiet"]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("single-page build failed:\n" + (done.stdout + done.stderr)[-4000:])
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
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    offsite: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": PRINT_WIDTH_PX, "height": 1100})

            def route(r: object) -> None:
                url = r.request.url  # type: ignore[attr-defined]
                if url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1":
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    offsite.append(url)
                    r.abort()  # type: ignore[attr-defined]

            context.route("**/*", route)
            page = context.new_page()
            page.emulate_media(media="print")
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/{start_page(folder)}", wait_until="load")
            page.wait_for_function(
                f"""() => [...document.querySelectorAll("{CHART_SELECTOR}")]
                       .every(d => d.querySelector('svg.marks, canvas.marks'))""",
                timeout=CHART_TIMEOUT_MS,
            )
            page.wait_for_function(SETTLED_JS, timeout=CHART_TIMEOUT_MS, polling=500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
            browser.close()
    finally:
        httpd.shutdown()
    if offsite:
        raise RuntimeError(f"the single-page book asked for {len(offsite)} off-machine resources, e.g. {offsite[0]}")
    return out


def build_pdf(root: Path) -> Path:
    """Build the PDF edition into ``_build/pdf`` and copy it beside the HTML book."""
    pdf = print_pdf(build_singlehtml(root), root / "_build" / "pdf" / PDF_NAME)
    html = root / "_build" / "html"
    if html.is_dir():
        shutil.copy(pdf, html / PDF_NAME)
    return pdf
