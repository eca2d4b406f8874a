"""The built book in a real browser (Debian's Chromium driven by Playwright), with the network cut.

Every page is served from ``_build/html`` on 127.0.0.1; any request for another host is aborted and
counted as a failure, as is any failed request and any console error. Every chart must be drawn (an
SVG inside its vega-embed container), and every figure's SVG, PNG and CSV must exist and be linked.
A screenshot of each chapter is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.build import offline, pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.glob("**/*.html")
               if not p.relative_to(HTML).as_posix().startswith(("_", "figures/")))
# the numbered chapters of _toc.yml, in book order (the appendices are checked as pages)
CHAPTERS = [f.relative_to(ROOT).with_suffix(".html").as_posix() for f in pipeline.toc_files(ROOT)
            if re.match(r"chapters/0\d-", f.relative_to(ROOT).as_posix())]
CHART_TIMEOUT_MS = 20000


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not HTML.is_dir():
        pytest.fail("the book is not built: run `make book` first")
    with offline.serve(HTML) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with offline.browser() as b:
        yield b


def open_page(browser: object, server: str, path: str, *, width: int = 1200) -> tuple[object, dict[str, list[str]]]:
    """Load ``path`` with every off-machine request blocked; return the page and what went wrong."""
    problems: dict[str, list[str]] = {"offsite": []}
    context = offline.offline_context(browser, problems["offsite"], viewport={"width": width, "height": 900})
    page = context.new_page()
    offline.watch(page, problems)
    page.goto(f"{server}/{path}", wait_until="load")
    return page, problems


def wait_for_charts(page: object, *, timeout_ms: int = CHART_TIMEOUT_MS) -> int:
    """Wait until every chart container holds an SVG; return how many charts the page has."""
    count = page.locator("div[id^='fig-'][id$='-chart'], div[id^='chart-']").count()  # type: ignore[attr-defined]
    if count:
        page.wait_for_function(  # type: ignore[attr-defined]
            """() => [...document.querySelectorAll("div[id^='fig-'][id$='-chart'], div[id^='chart-']")]
                   .every(d => d.querySelector('svg.marks, canvas.marks'))""",
            timeout=timeout_ms,
        )
    return count


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_without_errors(browser: object, server: str, path: str) -> None:
    page, problems = open_page(browser, server, path)
    wait_for_charts(page)
    page.wait_for_timeout(200)  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert problems == {"offsite": [], "failed": [], "console": [], "pageerror": []}


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_charts_are_drawn_and_figures_linked(browser: object, server: str, path: str) -> None:
    page, problems = open_page(browser, server, path)
    charts = wait_for_charts(page)
    assert charts >= 1, f"{path} has no chart"
    for label in page.eval_on_selector_all(  # type: ignore[attr-defined]
        "div.figure-extras", "els => els.map(e => e.dataset.figure)"
    ):
        for ext in ("svg", "png", "csv"):
            assert (HTML / "figures" / f"{label}.{ext}").stat().st_size > 0
            assert page.locator(f"div.figure-extras[data-figure='{label}'] a[href$='/{label}.{ext}']").count() == 1  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / (Path(path).stem + ".png")), full_page=True)  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert problems["offsite"] == [] and problems["console"] == []


def test_a_broken_chart_script_is_seen(browser: object, server: str) -> None:
    """The chart check has teeth: with the vendored Vega bundle broken, charts stay blank and it fails."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, problems = open_page(browser, server, "intro.html")
    context = page.context  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]
    context.route(re.compile(r".*/_static/vega-bundle\.js(\?.*)?$"),
                  lambda r: r.fulfill(status=200, body="/* broken */", content_type="text/javascript"))
    page = context.new_page()
    page.goto(f"{server}/{CHAPTERS[0]}", wait_until="load")
    with pytest.raises(PlaywrightTimeout):
        wait_for_charts(page, timeout_ms=3000)
    context.close()
    assert problems["offsite"], "with the bundle broken the page tried no other source: the test saw nothing"


def test_the_book_was_built_with_every_chapter() -> None:
    assert len(CHAPTERS) == 7, CHAPTERS
    assert "intro.html" in PAGES and "search.html" in PAGES


EXPLORERS = {
    "chapters/02-technical.html": ("fig-roofline-explorer", "select[name='model']", "llama-3.1-405b"),
    "chapters/04-market.html": ("fig-cost-explorer", "select[name='chip']", "mi300x"),
}
MARK_TEXT = "svg.marks g.mark-text.role-mark text"
CHANGED = "([s, b]) => JSON.stringify([...document.querySelectorAll(s)].map(e => e.textContent)) !== b"


@pytest.mark.parametrize("path", sorted(EXPLORERS))
def test_explorer_controls_redraw_offline_on_a_phone(browser: object, server: str, path: str) -> None:
    label, control, option = EXPLORERS[path]
    page, problems = open_page(browser, server, path, width=360)
    wait_for_charts(page)
    root = f"#{label}-chart"
    texts = f"{root} {MARK_TEXT}"

    def read() -> list[str]:
        return page.eval_on_selector_all(texts, "els => els.map(e => e.textContent)")  # type: ignore[attr-defined]

    before = read()
    assert before
    page.select_option(f"{root} {control}", option)  # type: ignore[attr-defined]
    page.wait_for_function(CHANGED, arg=[texts, json.dumps(before)], timeout=CHART_TIMEOUT_MS)  # type: ignore[attr-defined]
    middle = read()
    page.eval_on_selector(f"{root} input[type=range][name='context']",  # type: ignore[attr-defined]
                          "el => { el.value = '8192'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(CHANGED, arg=[texts, json.dumps(middle)], timeout=CHART_TIMEOUT_MS)  # type: ignore[attr-defined]
    assert page.eval_on_selector(f"{root} svg.marks", "el => el.getBoundingClientRect().width") <= 360  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert problems == {"offsite": [], "failed": [], "console": [], "pageerror": []}


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_fits_a_phone_screen(browser: object, server: str, path: str) -> None:
    page, problems = open_page(browser, server, path, width=375)
    wait_for_charts(page)
    overflow = page.evaluate(  # type: ignore[attr-defined]
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    widest = page.evaluate(  # type: ignore[attr-defined]
        "() => Math.max(0, ...[...document.querySelectorAll('.vega-embed svg.marks')]"
        ".map(s => s.getBoundingClientRect().right))")
    page.context.close()  # type: ignore[attr-defined]
    assert overflow <= 1, f"{path} scrolls sideways by {overflow} px on a 375 px screen"
    assert widest <= 375, f"{path} draws a chart {widest} px wide on a 375 px screen"


def test_search_works_offline(browser: object, server: str) -> None:
    page, problems = open_page(browser, server, "search.html?q=roofline")
    page.wait_for_selector("#search-results li", timeout=CHART_TIMEOUT_MS)  # type: ignore[attr-defined]
    hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    assert any("02-technical" in h for h in hits), hits
    assert problems["offsite"] == [] and problems["console"] == []


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_can_be_downloaded_as_a_notebook(path: str) -> None:
    html = (HTML / path).read_text(encoding="utf-8")
    source = f"_sources/{path.removesuffix('.html')}.ipynb"
    assert source in html, f"{path} offers no notebook download"
    assert (HTML / source).is_file()


@pytest.mark.parametrize("kind, inside", [("primary", "a.reference.internal[href='05-risks.html']"),
                                          ("secondary", "a.reference.internal[href^='#']")])
def test_a_phone_reader_can_open_the_menu_and_the_page_contents(browser: object, server: str, kind: str,
                                                                 inside: str) -> None:
    problems: dict[str, list[str]] = {"offsite": []}
    context = offline.offline_context(browser, problems["offsite"], viewport={"width": 375, "height": 740},  # type: ignore[attr-defined]
                                      has_touch=True, is_mobile=True)
    page = context.new_page()
    offline.watch(page, problems)
    page.goto(f"{server}/chapters/04-market.html", wait_until="load")
    dialog = page.locator(f"#pst-{kind}-sidebar-modal")
    assert not dialog.evaluate("d => d.open")
    page.locator(f".{kind}-toggle").filter(visible=True).first.tap()
    page.wait_for_function(f"() => document.getElementById('pst-{kind}-sidebar-modal').open", timeout=5000)
    link = dialog.locator(inside).first
    assert link.is_visible(), f"the {kind} sidebar opened without its links"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-{kind}-sidebar.png"))
    context.close()
    assert not any(problems[key] for key in ("offsite", "failed", "console", "pageerror")), problems


def test_icons_are_drawn_by_the_icon_font_without_the_icon_script(browser: object, server: str) -> None:
    page, problems = open_page(browser, server, "chapters/appendix-cite.html", width=375)
    font = page.evaluate("""() => {
        const icon = document.querySelector('.fa-bars, .fa-solid');
        return icon ? getComputedStyle(icon, '::before').fontFamily + '|' + getComputedStyle(icon, '::before').content : '';
    }""")  # type: ignore[attr-defined]
    family, _, content = font.partition("|")
    assert "Font Awesome" in family and content not in ("", "none", "normal"), font
    assert not any(problems[key] for key in ("offsite", "failed", "pageerror")), problems


@pytest.mark.parametrize("width", [1280, 375])
def test_a_tables_verdict_is_in_view_and_long_tables_page(browser: object, server: str, width: int) -> None:
    """The result of a verdict table (its verdict column) is on screen without scrolling sideways, and a
    long table scrolls within the screen with its header row in view."""
    page, problems = open_page(browser, server, "chapters/02-technical.html", width=width)
    table = page.locator("#tbl-chip-verdicts")  # type: ignore[attr-defined]
    table.scroll_into_view_if_needed()
    heading = table.locator("th", has_text="verdict").first
    box = heading.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    wrapper = page.locator(".pst-scrollable-table-container:has(#tbl-chip-verdicts)")  # type: ignore[attr-defined]
    height = wrapper.evaluate("w => w.getBoundingClientRect().height")
    assert height <= 0.7 * 900 + 1 and wrapper.evaluate("w => w.scrollHeight > w.clientHeight"), height
    wrapper.evaluate("w => { w.scrollTop = w.scrollHeight; }")
    head_box, wrap_box = heading.bounding_box(), wrapper.bounding_box()
    assert head_box and wrap_box and abs(head_box["y"] - wrap_box["y"]) < 40, "the header row scrolled away"
    ARTIFACTS.mkdir(exist_ok=True)
    wrapper.screenshot(path=str(ARTIFACTS / f"table-verdicts-{width}.png"))
    assert not any(problems[key] for key in ("offsite", "failed", "pageerror")), problems


@pytest.mark.parametrize("path", CHAPTERS)
def test_charts_reflow_on_a_phone_with_readable_labels(browser: object, server: str, path: str) -> None:
    """At 375 px every static chart is drawn at its own size in its column (not shrunk as a picture),
    and no text in it is smaller than 10 px on screen."""
    page, problems = open_page(browser, server, path, width=375)
    wait_for_charts(page)
    found = page.evaluate("""() => [...document.querySelectorAll("div[id^='fig-'][id$='-chart'] svg.marks")].map(svg => {
        const box = svg.getBoundingClientRect();
        const width = parseFloat(svg.getAttribute('width')) || box.width;
        const sizes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
            .map(t => t.getBoundingClientRect().height ? parseFloat(getComputedStyle(t).fontSize) * box.width / width : 99);
        return {id: svg.closest("div[id^='fig-']").id, scale: box.width / width, smallest: Math.min(99, ...sizes)};
    })""")  # type: ignore[attr-defined]
    assert found, f"{path} draws no chart"
    shrunk = [f for f in found if f["scale"] < 0.95 or f["smallest"] < 10]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-{Path(path).stem}.png"), full_page=True)  # type: ignore[attr-defined]
    assert not shrunk, f"{path}: charts shrunk or with text under 10 px at 375 px: {shrunk}"
