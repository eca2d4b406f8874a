"""The pages benchmark: the weight of each chapter page and how long Chromium takes to draw its charts.

``measure_pages`` reads the built book's ``_build/html`` and opens its heaviest chapter page in
headless Chromium, offline (``analysis.build.offline``: every request off 127.0.0.1 is cut).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from analysis.build import offline
from benchmarks.outcome import Budget, Outcome, Row

CHART_SELECTOR = "div[id^='fig-'][id$='-chart'], div[id^='chart-']"
CHART_TIMEOUT_MS = 60000
PAGE_LOADS = 3
PAGE_BYTES_BUDGET = 500_000


def _tree_bytes(folder: Path, pattern: str) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.glob(pattern)) if p.is_file()}



def _draw_ms(browser: Any, url: str) -> tuple[float, float, int, list[str]]:
    """Load ``url`` offline; return wall ms and in-page ms until every chart holds an SVG."""
    blocked: list[str] = []
    context = offline.offline_context(browser, blocked, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(
            f"""() => {{
                const charts = [...document.querySelectorAll("{CHART_SELECTOR}")];
                return document.readyState !== "loading" && charts.length > 0
                    && charts.every(d => d.querySelector("svg.marks, canvas.marks"));
            }}""",
            polling="raf", timeout=CHART_TIMEOUT_MS,
        )
        wall = (time.perf_counter() - start) * 1000
        in_page = float(page.evaluate("performance.now()"))
        charts = int(page.locator(CHART_SELECTOR).count())
    finally:
        context.close()
    return wall, in_page, charts, blocked


def measure_pages(root: Path) -> Outcome:
    """Bytes of each chapter page and of the shared scripts; time to draw the heaviest page's charts."""
    html = root / "_build" / "html"
    pages = _tree_bytes(html / "chapters", "*.html")
    scripts = _tree_bytes(html / "_static", "*.js")
    heaviest = max(pages, key=lambda name: pages[name])
    loads = []
    with offline.serve(html) as base, offline.browser() as browser:
        for _ in range(PAGE_LOADS):
            loads.append(_draw_ms(browser, f"{base}/chapters/{heaviest}"))
    walls = [w for w, _, _, _ in loads]
    in_page = [p for _, p, _, _ in loads]
    charts = loads[0][2]
    blocked = sorted({u for *_, b in loads for u in b})
    largest = pages[heaviest]
    budget = Budget("largest chapter page, own HTML", f"{largest / 1e3:,.0f} KB ({heaviest})",
                    f"<= {PAGE_BYTES_BUDGET / 1e3:,.0f} KB each", all(v <= PAGE_BYTES_BUDGET for v in pages.values()))
    rows = [
        Row("Chapter pages, own HTML", f"{len(pages)} pages, {min(pages.values()) / 1e3:,.0f}-{largest / 1e3:,.0f} KB, "
                                      f"{sum(pages.values()) / 1e3:,.0f} KB in all", budget),
        Row("Shared scripts (_static/*.js)", f"{len(scripts)} files, {sum(scripts.values()) / 1e3:,.0f} KB "
                                             f"(largest {max(scripts, key=lambda k: scripts[k])}, "
                                             f"{max(scripts.values()) / 1e3:,.0f} KB)"),
        Row(f"Chromium draws all {charts} charts of {heaviest}",
            f"{statistics.median(walls):,.0f} ms median of {len(walls)} (first {walls[0]:,.0f} ms)"),
    ]
    return Outcome("pages", rows, {
        "pages_bytes": pages, "scripts_bytes": scripts, "heaviest": heaviest, "charts": charts,
        "draw_wall_ms": walls, "draw_in_page_ms": in_page, "draw_median_ms": statistics.median(walls),
        "offsite_requests_blocked": blocked,
    })
