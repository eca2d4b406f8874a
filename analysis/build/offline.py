"""The book's pages in a real browser with no network: one local server, one Chromium, one offline context.

Used by the PDF edition (``publish``), the page benchmarks and every browser test. ``serve`` puts a
folder on ``127.0.0.1`` on a free port; ``launch`` starts Debian's headless Chromium through
Playwright; ``offline_context`` opens a browser context in which every request that leaves the
machine is aborted and recorded (so a page that would reach the network is seen, not silently
served from it), and ``watch`` records what goes wrong on a page: requests that failed or answered
400 and above, console errors and uncaught exceptions. ``JUPYTERLAB_OFFLINE`` holds the options that
keep a JupyterLab server (``make lab``, ``tests/test_jupyterlab.py``) from the network.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=MediaRouter,OptimizationHints",
)
LOCAL_SCHEMES = ("data:", "blob:")
CHART_SELECTOR = "div[id^='fig-'][id$='-chart']"  # the container of each figure's chart
JUPYTERLAB_OFFLINE = (  # JupyterLab's options that keep it from the network (`make lab` uses them too)
    "--ServerApp.ip=127.0.0.1",
    "--LabApp.extension_manager=readonly",  # no PyPI search for extensions
    "--LabApp.news_url=None",  # no news feed, and no toast asking to fetch it
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def launch(playwright: Any) -> Any:
    """Headless Chromium (the system's, not a downloaded one) with the book's offline flags."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))


@contextmanager
def browser() -> Iterator[Any]:
    """Playwright and one Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


def is_local(url: str) -> bool:
    return url.startswith(LOCAL_SCHEMES) or urlparse(url).hostname == "127.0.0.1"


def offline_context(browser: Any, offsite: list[str], **options: Any) -> Any:
    """A new context of ``browser`` (``options`` as for ``new_context``) in which every request to
    another machine is aborted and its URL appended to ``offsite``."""
    context = browser.new_context(**options)

    def route(r: Any) -> None:
        url = r.request.url
        if is_local(url):
            r.continue_()
        else:
            offsite.append(url)
            r.abort()

    context.route("**/*", route)
    return context


def watch(page: Any, problems: dict[str, list[str]]) -> None:
    """Append to ``problems`` (keys ``failed``, ``console``, ``pageerror``) what goes wrong on ``page``."""
    for key in ("failed", "console", "pageerror"):
        problems.setdefault(key, [])
    page.on("console", lambda m: problems["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["pageerror"].append(str(e)))
    page.on("requestfailed", lambda r: problems["failed"].append(r.url))
    page.on("response", lambda r: problems["failed"].append(f"{r.status} {r.url}") if r.status >= 400 else None)


def wait_for_charts(page: Any, timeout_ms: float = 60000) -> None:
    """Wait until every chart on ``page`` has drawn its marks (no fixed sleep)."""
    page.wait_for_function(
        f"""() => document.readyState === "complete" && [...document.querySelectorAll("{CHART_SELECTOR}")]
               .every(d => d.querySelector('svg.marks, canvas.marks'))""",
        timeout=timeout_ms,
    )
