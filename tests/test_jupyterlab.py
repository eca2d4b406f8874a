"""A chapter opened in JupyterLab and run by a reader: its charts are drawn, its glued values shown.

JupyterLab (the pinned one, with the offline options ``make lab`` uses) serves a temporary copy of
one short chapter (its recorded outputs removed) and the store, on 127.0.0.1 without a token; its
kernels run without ``notebook_view.BUILD_ENV``, as a reader's do. Headless Chromium, in a context
that aborts and records every request for another machine, opens the notebook, runs all cells from
the Run menu and waits for every cell to finish. Every figure the chapter makes must be drawn by
JupyterLab's own Vega-Lite renderer (an SVG of marks), every number it glues must be shown as
``name = value``, no cell may end in an error and nothing may be fetched from off the machine. The
server is then shut down through its API and must leave no kernel behind. A screenshot is kept in
``test-artifacts/``. Against the committed behaviour (kernels that emit only the book's outputs) it
fails: no chart drawn, no glued value shown.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from analysis import paths
from analysis.book import figures, notebook_view
from analysis.build import offline
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTER = "05-risks.ipynb"  # one figure, one table, a few glued numbers: the quickest chapter to run
ARTIFACTS = ROOT / "test-artifacts"
GLUE_PLAIN = "application/papermill.record/text/plain"
START_TIMEOUT_S = 90
RUN_TIMEOUT_MS = 180000
CHART_TIMEOUT_MS = 20000
SCREENSHOT = "jupyterlab-05-risks.png"
CHART = ".jp-OutputArea .jp-RenderedVegaLite"  # the renderer is itself the output node
ERROR = '.jp-OutputArea [data-mime-type="application/vnd.jupyter.error"]'
RUN_ALL = re.compile(r"^Run All( Cells)?$")  # the Run menu's item (not "Restart Kernel and Run All")
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never through a proxy
ALL_RUN = """() => {
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
    return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
}"""


def expected(notebook: Path) -> tuple[int, list[str]]:
    """The figures the recorded chapter makes, and ``name = value`` for each number it glues."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    lines = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if set(output.get("data", {})) == {GLUE_PLAIN}:
                name = output["metadata"]["scrapbook"]["name"]
                lines.append(f"{name} = {''.join(output['data'][GLUE_PLAIN])}")
    return len(list(figures.iter_notebook_figures(nb))), lines


def book_copy(tmp: Path) -> Path:
    """The chapter, without its recorded outputs (whatever is seen comes from the reader's run), and
    the store in ``tmp``, where the chapter's default ``store`` finds it."""
    (tmp / "chapters").mkdir(parents=True)
    (tmp / "data").mkdir()
    nb = nbformat.read(ROOT / "chapters" / CHAPTER, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, tmp / "chapters" / CHAPTER)
    store = ROOT / "data" / "inference.duckdb"
    if not store.exists():
        pytest.fail("no store at data/inference.duckdb: run `make store` (or `make book`) first")
    shutil.copy(store, tmp / "data" / "inference.duckdb")
    return tmp / "chapters"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_environment(home: Path) -> dict[str, str]:
    """This environment without ``BUILD_ENV`` (the kernels run as a reader's), every Jupyter and
    IPython folder of the user's moved into ``home``."""
    env = {k: v for k, v in os.environ.items() if k != notebook_view.BUILD_ENV}
    env["JUPYTER_CONFIG_PATH"] = str(ROOT / paths.LAB_CONFIG)  # as `make lab`: no announcements plugin
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        (home / name).mkdir()
        env[name] = str(home / name)
    return env


def wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with LOCAL.open(f"{base}/api/status", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def wait_for_kernel(base: str) -> None:
    """Wait until the notebook's kernel is idle with a client connected. (JupyterLab's own execution
    indicator says "idle" before it knows the kernel, and a run asked for then opens "Select Kernel".)"""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with LOCAL.open(f"{base}/api/sessions", timeout=5) as answer:
            kernels = [s["kernel"] for s in json.load(answer) if s.get("kernel")]
        if any(k.get("execution_state") == "idle" and k.get("connections", 0) > 0 for k in kernels):
            return
        time.sleep(0.5)
    pytest.fail(f"the notebook's kernel was not idle and connected within {START_TIMEOUT_S} s")


@contextmanager
def jupyterlab(root: Path, home: Path) -> Iterator[tuple[str, psutil.Process]]:
    """JupyterLab on ``root`` (127.0.0.1, a free port, no token, no browser of its own) for the block;
    then shut down through its API. Yields its address and its process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = home / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", *offline.JUPYTERLAB_OFFLINE, f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
           "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.terminals_enabled=False",
           "--ServerApp.disable_check_xsrf=True",  # no token to forge; lets the test POST /api/shutdown
           f"--ServerApp.allow_root={os.geteuid() == 0}"]  # CI runs as root
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=root, env=server_environment(home), stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until_up(base, process, log)
        yield base, psutil.Process(process.pid)
        request = urllib.request.Request(f"{base}/api/shutdown", method="POST")
        LOCAL.open(request, timeout=10).close()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def run_all_cells(page: object) -> None:
    """Open the Run menu and choose "Run All Cells", as a reader would; wait until every cell ran."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()  # type: ignore[attr-defined]
    item = page.locator(".lm-Menu-itemLabel").filter(has_text=RUN_ALL)  # type: ignore[attr-defined]
    item.click()
    dialog = page.locator(".jp-Dialog")  # type: ignore[attr-defined]
    try:  # should the kernel still be unknown to the page, take the one it offers, as a reader would
        dialog.wait_for(timeout=2000)
        dialog.locator(".jp-mod-accept").click()
    except Exception:  # noqa: BLE001 - no dialog: the run has started
        pass
    page.wait_for_function(ALL_RUN, timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    try:
        page.wait_for_selector(f"{CHART} svg.marks", state="attached",  # type: ignore[attr-defined]
                               timeout=CHART_TIMEOUT_MS)  # attached: an output out of view is not "visible"
    except Exception:  # noqa: BLE001 - no chart drawn: the test's checks say so
        pass


def read_notebook(page: object) -> dict[str, Any]:
    """What the reader sees: the charts drawn, the text of every output, the error outputs."""
    return page.evaluate(  # type: ignore[attr-defined, no-any-return]
        f"""() => ({{
            charts: document.querySelectorAll("{CHART}").length,
            drawn: document.querySelectorAll("{CHART} svg.marks").length,
            texts: [...document.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent),
            errors: document.querySelectorAll('{ERROR}').length,
            news: document.body.textContent.includes("official Jupyter news"),
        }})"""
    )


def kernels_of(server: psutil.Process) -> list[psutil.Process]:
    """The kernel processes the server started."""
    found = []
    for child in server.children(recursive=True):
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def open_and_run(base: str, offsite: list[str], problems: dict[str, list[str]]) -> dict[str, Any]:
    """Open the chapter in Chromium, run it from the menu, keep a screenshot; what the reader saw."""
    with offline.browser() as browser:
        context = offline.offline_context(browser, offsite, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        offline.watch(page, problems)
        try:
            page.goto(f"{base}/lab/tree/{CHAPTER}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell", timeout=START_TIMEOUT_S * 1000)
            wait_for_kernel(base)
            page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                                   timeout=START_TIMEOUT_S * 1000)
            run_all_cells(page)
            seen = read_notebook(page)
            if seen["charts"]:
                page.locator(CHART).first.scroll_into_view_if_needed()
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / SCREENSHOT))
            context.close()
    return seen


def test_a_chapter_run_in_jupyterlab_draws_its_charts_and_shows_its_glued_values(tmp_path: Path) -> None:
    n_figures, glued = expected(ROOT / "chapters" / CHAPTER)
    assert n_figures >= 1 and glued, f"{CHAPTER} no longer has a figure and a glued number to look for"
    chapters = book_copy(tmp_path / "book")
    (tmp_path / "home").mkdir()
    offsite: list[str] = []
    problems: dict[str, list[str]] = {}
    with jupyterlab(chapters, tmp_path / "home") as (base, server):
        seen = open_and_run(base, offsite, problems)
        kernels = kernels_of(server)
    text = "\n".join(seen["texts"])
    failures = []
    if (seen["charts"], seen["drawn"]) != (n_figures, n_figures):
        failures.append(f"{seen['drawn']} of {n_figures} chart(s) drawn by JupyterLab's Vega-Lite renderer "
                        f"({seen['charts']} Vega-Lite output(s))")
    missing = [line for line in glued if line not in text]
    if missing:
        failures.append(f"{len(missing)} of {len(glued)} glued value(s) not shown: {missing}")
    if seen["errors"]:
        failures.append(f"{seen['errors']} cell(s) ended in an error")
    if offsite:
        failures.append(f"requests for another machine: {offsite}")
    if seen["news"]:
        failures.append("JupyterLab asks to fetch its news (the announcements plugin is not left out)")
    if problems["pageerror"]:
        failures.append(f"uncaught errors in the page: {problems['pageerror']}")
    if not kernels or any(alive(k) for k in kernels):
        failures.append(f"the chapter's kernel did not end with the server ({kernels})")
    assert not failures, "\n".join(failures) + f"\nconsole errors: {problems['console']}"
