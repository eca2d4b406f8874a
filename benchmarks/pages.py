"""The pages benchmark: the weight of each chapter page and how long Chromium takes to draw its charts.

``measure_pages`` reads the built book's ``_build/html`` and opens its heaviest chapter page in
headless Chromium, offline (``analysis.build.offline``: every request off 127.0.0.1 is cut).
"""

from __future__ import annotations

import gzip
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
CHART_PAGE_TRANSFER_BUDGET = 1_500_000
TEXT_PAGE_TRANSFER_BUDGET = 500_000
CHART_LIBRARY = "vega-bundle.js"


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


def _transfer(browser: Any, url: str) -> tuple[int, int, int]:
    """What a first, uncached visit of ``url`` downloads until the network is idle: bytes as the local
    server sends them (uncompressed), bytes gzip-compressed as a static host sends text (level 6, the
    usual default; headers counted uncompressed), and the number of requests."""
    context = offline.offline_context(browser, [], viewport={"width": 1200, "height": 900})
    raw: list[int] = []
    packed: list[int] = []

    def finished(request: Any) -> None:
        headers = int(request.sizes()["responseHeadersSize"])
        response = request.response()
        body = response.body() if response is not None else b""
        raw.append(headers + len(body))
        packed.append(headers + min(len(body), len(gzip.compress(body, compresslevel=6))))

    page = context.new_page()
    page.on("requestfinished", finished)
    try:
        page.goto(url, wait_until="networkidle")
    finally:
        context.close()
    return sum(raw), sum(packed), len(raw)


def page_transfers(html: Path, browser: Any, base: str) -> dict[str, dict[str, Any]]:
    """For every page of the book (the front page, chapters and appendices): whether it draws charts,
    and the bytes and requests a first visit downloads."""
    pages = ["intro.html", *sorted(f"chapters/{p.name}" for p in (html / "chapters").glob("*.html"))]
    out = {}
    for name in pages:
        charts = CHART_LIBRARY in (html / name).read_text(encoding="utf-8")
        raw, packed, requests = _transfer(browser, f"{base}/{name}")
        out[name] = {"charts": charts, "bytes": packed, "uncompressed_bytes": raw, "requests": requests}
    return out


def _transfer_rows(transfers: dict[str, dict[str, Any]]) -> list[Row]:
    rows = []
    for kind, charts, budget in (("chart", True, CHART_PAGE_TRANSFER_BUDGET), ("text", False, TEXT_PAGE_TRANSFER_BUDGET)):
        mine = {k: v for k, v in transfers.items() if v["charts"] == charts}
        if not mine:
            continue
        heaviest = max(mine, key=lambda k: mine[k]["bytes"])
        low, high = min(v["bytes"] for v in mine.values()), mine[heaviest]["bytes"]
        raw = max(v["uncompressed_bytes"] for v in mine.values())
        met = Budget(f"transfer per {kind} page", f"{high / 1e6:,.2f} MB ({heaviest})",
                     f"<= {budget / 1e6:,.1f} MB each", all(v["bytes"] <= budget for v in mine.values()))
        requests = sorted(v["requests"] for v in mine.values())
        rows.append(Row(f"{kind.capitalize()} pages, first visit, gzip as a static host sends it",
                        f"{len(mine)} pages, {low / 1e6:,.2f}-{high / 1e6:,.2f} MB ({raw / 1e6:,.2f} MB at most "
                        f"uncompressed), {requests[0]}-{requests[-1]} requests", met))
    return rows


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
        transfers = page_transfers(html, browser, base)
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
        *_transfer_rows(transfers),
    ]
    return Outcome("pages", rows, {
        "pages_bytes": pages, "scripts_bytes": scripts, "heaviest": heaviest, "charts": charts,
        "draw_wall_ms": walls, "draw_in_page_ms": in_page, "draw_median_ms": statistics.median(walls),
        "offsite_requests_blocked": blocked, "transfers": transfers,
    })
